"""The OpenAI-compatible adapter against a fake server on 127.0.0.1 (real HTTP, real client)."""

from collections.abc import Iterator

import openai
import pytest

from service.errors import ModelError
from service.llm import base
from service.llm.base import Message
from service.llm.fake import ScriptedChatModel
from service.llm.fake_server import FakeOpenAI
from service.llm.openai_compat import OpenAIChatModel

pytestmark = pytest.mark.allow_model_requests

MESSAGES = [Message("system", "You are an interviewer."), Message("user", "Ask one question.")]
SCHEMA = {"type": "object", "properties": {"verdicts": {"type": "array"}}, "required": ["verdicts"]}


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


def model_for(server: FakeOpenAI, retries: int = 2, timeout: float = 5.0) -> OpenAIChatModel:
    client = openai.OpenAI(api_key="test-key", base_url=server.base_url, timeout=timeout, max_retries=0)
    return OpenAIChatModel(client, "gpt-4o-mini", max_retries=retries, backoff=0.01,
                           prices={"gpt-4o-mini": (0.15, 0.60)})


def test_streaming_text_and_usage(server: FakeOpenAI) -> None:
    server.queue.append({"text": "How would you partition the topic?"})
    model = model_for(server)
    parts = list(model.stream(MESSAGES))
    assert len(parts) > 1 and "".join(parts) == "How would you partition the topic?"
    usage = model.last_usage
    assert usage.prompt_tokens > 10 and usage.completion_tokens == 7 and usage.cost_usd > 0
    assert server.requests[-1]["stream"] is True and server.requests[-1]["model"] == "gpt-4o-mini"


def test_json_schema_completion(server: FakeOpenAI) -> None:
    server.queue.append({"json": {"verdicts": [{"id": "a", "met": True}]}})
    data = model_for(server).complete_json(MESSAGES, SCHEMA, schema_name="rubric")
    assert data == {"verdicts": [{"id": "a", "met": True}]}
    fmt = server.requests[-1]["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["name"] == "rubric"


@pytest.mark.parametrize("fault", ["429", "500"])
def test_retries_then_succeeds(server: FakeOpenAI, fault: str) -> None:
    server.queue.extend([{"fault": fault}, {"fault": fault}, {"text": "Recovered question?"}])
    model = model_for(server, retries=2)
    assert "".join(model.stream(MESSAGES)) == "Recovered question?"
    assert model.last_usage.retries == 2 and len(server.requests) == 3


def test_gives_up_after_retries(server: FakeOpenAI) -> None:
    server.queue.extend([{"fault": "500"}] * 3)
    with pytest.raises(ModelError, match="after 2 attempt"):
        list(model_for(server, retries=1).stream(MESSAGES))


def test_timeout_is_retried_then_fails(server: FakeOpenAI) -> None:
    server.timeout_seconds = 1.0
    server.queue.extend([{"fault": "timeout", "text": "late"}] * 2)
    with pytest.raises(ModelError):
        model_for(server, retries=1, timeout=0.3).complete_json(MESSAGES, SCHEMA)


def test_malformed_json_and_dropped_stream(server: FakeOpenAI) -> None:
    server.queue.append({"fault": "malformed", "json": {}})
    with pytest.raises(ModelError, match="invalid JSON"):
        model_for(server).complete_json(MESSAGES, SCHEMA)
    server.queue.append({"fault": "drop", "text": "x" * 200})
    with pytest.raises(ModelError, match="stream broke"):
        list(model_for(server).stream(MESSAGES))


def test_model_requests_can_be_blocked(server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(base, "ALLOW_MODEL_REQUESTS", False)
    with pytest.raises(base.ModelRequestsBlocked):
        list(model_for(server).stream(MESSAGES))
    assert server.requests == []


def test_scripted_fake_model_records_requests() -> None:
    fake = ScriptedChatModel(["hello there", {"verdicts": []}, ModelError("boom")])
    assert "".join(fake.stream(MESSAGES)) == "hello there"
    assert fake.complete_json(MESSAGES, SCHEMA) == {"verdicts": []}
    with pytest.raises(ModelError, match="boom"):
        fake.complete_json(MESSAGES, SCHEMA)
    assert len(fake.requests) == 3
