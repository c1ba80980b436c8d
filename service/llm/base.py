"""The narrow ChatModel protocol every language-model adapter implements."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from service.errors import ModelError

# Tests set this to False so that no real model request can slip out (pydantic-ai style).
ALLOW_MODEL_REQUESTS = os.environ.get("MOCKROUND_ALLOW_MODEL_REQUESTS", "1") not in {"0", "false"}


class ModelRequestsBlocked(ModelError):
    code = "model_requests_blocked"


def check_allowed(name: str) -> None:
    if not ALLOW_MODEL_REQUESTS:
        raise ModelRequestsBlocked(f"model requests are disabled (ALLOW_MODEL_REQUESTS), model {name}")


def parse_json_object(text: str) -> dict[str, Any]:
    """Parse a model's JSON reply; anything but a JSON object is a ModelError."""
    import json

    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ModelError(f"model returned invalid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ModelError("model returned JSON that is not an object")
    return data


@dataclass
class Message:
    role: str  # system | user | assistant
    content: str

    def as_dict(self) -> dict[str, str]:
        return {"role": self.role, "content": self.content}


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    calls: int = 0
    retries: int = 0
    events: list[str] = field(default_factory=list)

    def add(self, other: Usage) -> None:
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.cost_usd += other.cost_usd
        self.calls += other.calls
        self.retries += other.retries
        self.events += other.events


@runtime_checkable
class ChatModel(Protocol):
    """Stream text, or complete with a JSON schema. ``last_usage`` describes the last call."""

    name: str
    last_usage: Usage

    def stream(self, messages: list[Message], *, max_tokens: int = 400,
               temperature: float = 0.3) -> Iterator[str]: ...

    def complete_json(self, messages: list[Message], schema: dict[str, Any], *,
                      schema_name: str = "result", max_tokens: int = 800) -> dict[str, Any]: ...
