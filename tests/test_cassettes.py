"""Cassettes: canonical keys without secrets, record → replay round trips, misses fail the eval run."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from typer.testing import CliRunner

from service.cli import app
from service.errors import ModelError
from service.evals.llm_mode import DEFAULT_CASSETTES
from service.llm.base import Message
from service.llm.cassette import (
    CassetteMiss,
    CassetteStore,
    RecordingClient,
    ReplayResponder,
    canonical_json,
    request_key,
)
from service.llm.fake_server import FakeOpenAI
from service.llm.openai_compat import OpenAIChatModel
from service.settings import Settings, get_settings

pytestmark = pytest.mark.allow_model_requests

cli = CliRunner()
MESSAGES = [Message("system", "You are an interviewer."), Message("user", "Ask about partitioning.")]
SCHEMA = {"type": "object", "properties": {"verdicts": {"type": "array"}}, "required": ["verdicts"]}
BODY = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "temperature": 0.3, "max_tokens": 50}


@pytest.fixture
def live() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


def adapter(client: Any) -> OpenAIChatModel:
    return OpenAIChatModel(client, "gpt-4o-mini", max_retries=1, backoff=0.01)


def test_key_is_canonical_and_secrets_are_never_kept() -> None:
    reordered = dict(reversed(list(BODY.items())))
    assert request_key(BODY) == request_key(reordered) == request_key({**BODY, "stream": False})
    assert request_key(BODY) == request_key({**BODY, "extra_headers": {"Authorization": "Bearer x"}})
    assert request_key(BODY) != request_key({**BODY, "temperature": 0.0})
    assert request_key(BODY) != request_key({**BODY, "stream": True})
    assert request_key(BODY) != request_key({**BODY, "response_format": {"type": "json_object"}})
    secret = {**BODY, "api_key": "sk-live-abcdef123456",
              "messages": [{"role": "user", "content": "my key is sk-proj-ABCDEF1234567890 and Bearer tok.en-1"}]}
    text = canonical_json(secret)
    assert "sk-live" not in text and "ABCDEF1234567890" not in text and "tok.en-1" not in text
    assert "sk-[redacted]" in text and json.loads(text)["stream"] is False


def test_record_then_replay_serves_the_same_answers(live: FakeOpenAI, tmp_path: Path) -> None:
    store = CassetteStore(tmp_path / "cassettes")
    client = openai.OpenAI(api_key="sk-test-SECRET123456", base_url=live.base_url, timeout=5, max_retries=0)
    recorder = RecordingClient(client, store)
    live.queue.extend([{"fault": "429"}, {"text": "How would you partition the clickstream topic?"},
                       {"json": {"verdicts": [{"id": "a", "met": True}]}, "usage": {"prompt_tokens": 31,
                        "completion_tokens": 9, "total_tokens": 40}}])
    model = adapter(recorder)
    streamed = list(model.stream(MESSAGES))
    assert model.last_usage.retries == 1  # the 429 was recorded too
    verdicts = model.complete_json(MESSAGES, SCHEMA, schema_name="rubric")
    assert recorder.recorded == 3 and recorder.server_usage["prompt_tokens"] == 31
    files = list(store.root.glob("*.json"))
    assert len(files) == 2 and len(store.keys()) == 2
    blob = "".join(f.read_text() for f in files)
    assert "SECRET123456" not in blob and "Bearer" not in blob
    stream_file = json.loads(store.path(request_key(live.requests[0])).read_text())
    assert [r["status"] for r in stream_file["responses"]] == [429, 200]
    assert stream_file["responses"][1]["chunks"] == streamed

    responder = ReplayResponder(store)
    with FakeOpenAI() as replay:
        replay.responder = responder
        again = adapter(openai.OpenAI(api_key="replay", base_url=replay.base_url, timeout=5, max_retries=0))
        assert list(again.stream(MESSAGES)) == streamed and again.last_usage.retries == 1
        assert again.complete_json(MESSAGES, SCHEMA, schema_name="rubric") == verdicts
    responder.check()
    assert sum(responder.served.values()) == 3 and not responder.misses


def test_a_miss_is_an_http_error_naming_the_key(tmp_path: Path) -> None:
    responder = ReplayResponder(CassetteStore(tmp_path))
    with FakeOpenAI() as replay:
        replay.responder = responder
        model = adapter(openai.OpenAI(api_key="replay", base_url=replay.base_url, timeout=5, max_retries=0))
        with pytest.raises(ModelError, match="cassette miss") as err:
            list(model.stream(MESSAGES))
    key = request_key(replay.requests[0])
    assert key in str(err.value) and len(replay.requests) == 1  # a miss is not retried
    with pytest.raises(CassetteMiss, match=key) as miss:
        responder.check()
    assert "model=gpt-4o-mini stream=True" in str(miss.value) and "Ask about partitioning" in str(miss.value)


@pytest.fixture
def cli_env(full_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    monkeypatch.setenv("MOCKROUND_DATA_DIR", str(full_settings.data_dir))
    monkeypatch.setenv("MOCKROUND_LLM_BACKOFF", "0.01")  # recorded 5xx answers are retried on replay too
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "MOCKROUND_OPENAI_API_KEY", "MOCKROUND_OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield full_settings
    get_settings.cache_clear()


def manifest() -> dict[str, Any]:
    return json.loads((DEFAULT_CASSETTES / "manifest.json").read_text())


def replay_args(cassettes: Path, out: Path) -> list[str]:
    m = manifest()
    return ["eval", "--suite", "grading", "--llm", "openai", "--replay", "--cassettes", str(cassettes),
            "--model", m["model"], "--limit", str(m["limit"]), "--json", "--out", str(out)]


def test_grading_eval_replays_the_committed_cassettes(cli_env: Settings, tmp_path: Path) -> None:
    result = cli.invoke(app, replay_args(DEFAULT_CASSETTES, tmp_path))
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    m = manifest()
    assert report["llm"]["misses"] == 0 and report["llm"]["replayed"] >= 2 * m["limit"]
    grading = report["grading"]
    assert grading["answers"] == 2 * m["limit"] and grading["grader_name"] == f"llm:{m['model']}"
    assert (tmp_path / "report.md").is_file() and (tmp_path / "grading_phases.png").is_file()


def test_grading_eval_fails_hard_on_a_missing_cassette(cli_env: Settings, tmp_path: Path) -> None:
    copy = tmp_path / "cassettes"
    shutil.copytree(DEFAULT_CASSETTES, copy)
    victim = sorted(CassetteStore(copy).keys())[0]
    (copy / f"{victim}.json").unlink()
    result = cli.invoke(app, replay_args(copy, tmp_path / "out"))
    assert result.exit_code == 2, result.output
    assert "cassette_miss" in result.output and victim in result.output.replace("\n", "")
    assert not (tmp_path / "out" / "report.json").exists()


@pytest.mark.parametrize(("args", "message"), [
    (["--record"], "need --llm openai"),
    (["--llm", "openai", "--record", "--replay"], "exclude each other"),
    (["--llm", "claude"], "--llm must be one of"),
    (["--llm", "openai"], "needs OPENAI_BASE_URL"),
])
def test_bad_flags_get_a_clear_error(cli_env: Settings, args: list[str], message: str) -> None:
    result = cli.invoke(app, ["eval", "--suite", "grading", *args])
    assert result.exit_code == 2 and message in result.output.replace("\n", " "), result.output
