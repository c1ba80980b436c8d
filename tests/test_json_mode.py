"""Servers that refuse the ``json_schema`` response format (llama.cpp's) get ``json_object`` + schema."""

from __future__ import annotations

from typing import Any

import openai
import pytest

from service.errors import ModelError
from service.llm.base import Message
from service.llm.fake_server import FakeOpenAI
from service.llm.openai_compat import OpenAIChatModel

pytestmark = pytest.mark.allow_model_requests
SCHEMA = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}
REFUSAL = {"detail": "1 validation error: ('body', 'response_format', 'type') Input should be 'text' or 'json_object'"}


def model_for(fake: FakeOpenAI) -> OpenAIChatModel:
    client = openai.OpenAI(api_key="k", base_url=fake.base_url, timeout=5, max_retries=0)
    return OpenAIChatModel(client, "local", max_retries=2, backoff=0.0)


def test_refused_json_schema_switches_to_json_object_once() -> None:
    def respond(body: dict[str, Any]) -> dict[str, Any]:
        if body["response_format"]["type"] == "json_schema":
            return {"fault": "status", "status": 500, "body": REFUSAL}
        assert body["response_format"] == {"type": "json_object", "schema": SCHEMA}
        return {"json": {"ok": True}}

    with FakeOpenAI() as fake:
        fake.responder = respond
        model = model_for(fake)
        assert model.complete_json([Message("user", "ok?")], SCHEMA) == {"ok": True}
        assert model.complete_json([Message("user", "again?")], SCHEMA) == {"ok": True}
        kinds = [r["response_format"]["type"] for r in fake.requests]
    assert kinds == ["json_schema", "json_object", "json_object"]  # refused once, never retried
    assert model.json_mode == "json_object"


def test_other_server_errors_are_still_retried_then_raised() -> None:
    with FakeOpenAI() as fake:
        fake.responder = lambda body: {"fault": "500"}
        model = model_for(fake)
        with pytest.raises(ModelError, match="after 3 attempt"):
            model.complete_json([Message("user", "ok?")], SCHEMA)
        assert len(fake.requests) == 3 and model.json_mode == "json_schema"
