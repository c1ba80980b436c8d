"""A scripted fake ChatModel for tests (queue of responses, records every request)."""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterator
from typing import Any

from service.errors import ModelError
from service.llm.accounting import usage_for
from service.llm.base import Message, Usage, parse_json_object


class ScriptedChatModel:
    """Each call pops the next queued response: a str, a dict (JSON), or an Exception."""

    def __init__(self, responses: list[Any] | None = None, name: str = "scripted") -> None:
        self.name = name
        self.queue: deque[Any] = deque(responses or [])
        self.requests: list[list[Message]] = []
        self.last_usage = Usage()

    def _next(self, messages: list[Message]) -> Any:
        self.requests.append(list(messages))
        if not self.queue:
            raise ModelError("scripted model has no response queued")
        item = self.queue.popleft()
        if isinstance(item, Exception):
            raise item
        return item

    def stream(self, messages: list[Message], *, max_tokens: int = 400,
               temperature: float = 0.3) -> Iterator[str]:
        text = str(self._next(messages))
        self.last_usage = usage_for(self.name, messages, text, {})
        for start in range(0, len(text), 12):
            yield text[start : start + 12]

    def complete_json(self, messages: list[Message], schema: dict[str, Any], *,
                      schema_name: str = "result", max_tokens: int = 800) -> dict[str, Any]:
        item = self._next(messages)
        raw = item if isinstance(item, str) else json.dumps(item)
        self.last_usage = usage_for(self.name, messages, raw, {})
        return parse_json_object(raw)
