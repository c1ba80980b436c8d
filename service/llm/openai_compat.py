"""ChatModel over any OpenAI-compatible endpoint, through an injected ``openai`` client."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import openai

from service.errors import ModelError
from service.llm.accounting import usage_for
from service.llm.base import Message, Usage, check_allowed, parse_json_object

RETRYABLE = (openai.RateLimitError, openai.InternalServerError, openai.APITimeoutError,
             openai.APIConnectionError)


def refuses_json_schema(exc: Exception) -> bool:
    """Servers that only know ``json_object`` (llama.cpp's) reject the ``json_schema`` format."""
    if not isinstance(exc, openai.APIStatusError) or exc.status_code not in (400, 422, 500):
        return False
    try:
        body = exc.response.text
    except Exception:  # a response without a readable body
        body = ""
    text = f"{exc} {exc.body} {body}"
    return "response_format" in text and ("json_schema" in text or "json_object" in text)


def _retryable(exc: Exception) -> bool:
    if refuses_json_schema(exc):
        return False
    if isinstance(exc, RETRYABLE):
        return True
    return isinstance(exc, openai.APIStatusError) and exc.status_code >= 500


class OpenAIChatModel:
    """Retries 429/5xx/timeouts with exponential backoff; counts tokens with tiktoken."""

    def __init__(self, client: Any, model: str, *, max_retries: int = 2, backoff: float = 0.5,
                 prices: dict[str, tuple[float, float]] | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.client = client
        self.name = model
        self.max_retries = max_retries
        self.backoff = backoff
        self.prices = prices or {}
        self.sleep = sleep
        self.last_usage = Usage()
        self.json_mode = "json_schema"  # becomes "json_object" when the server refuses schemas

    def _with_retries(self, call: Callable[[], Any]) -> tuple[Any, int, list[str]]:
        events: list[str] = []
        for attempt in range(self.max_retries + 1):
            try:
                return call(), attempt, events
            except Exception as exc:
                events.append(f"{type(exc).__name__}: {str(exc)[:120]}")
                if not _retryable(exc) or attempt == self.max_retries:
                    raise ModelError(f"model call failed after {attempt + 1} attempt(s): "
                                     f"{events[-1]}") from exc
                self.sleep(self.backoff * (2**attempt))
        raise ModelError("unreachable")  # pragma: no cover

    def stream(self, messages: list[Message], *, max_tokens: int = 400,
               temperature: float = 0.3) -> Iterator[str]:
        check_allowed(self.name)
        payload = [m.as_dict() for m in messages]
        response, retries, events = self._with_retries(lambda: self.client.chat.completions.create(
            model=self.name, messages=payload, stream=True, max_tokens=max_tokens,
            temperature=temperature))
        parts: list[str] = []
        try:
            for chunk in response:
                if not chunk.choices:
                    continue
                delta = chunk.choices[0].delta.content or ""
                if delta:
                    parts.append(delta)
                    yield delta
        except Exception as exc:
            raise ModelError(f"model stream broke after {len(parts)} chunks: {exc}") from exc
        finally:
            self._record(messages, "".join(parts), retries, events)
        if not parts:
            raise ModelError("model stream ended without any text")

    def complete_json(self, messages: list[Message], schema: dict[str, Any], *,
                      schema_name: str = "result", max_tokens: int = 800) -> dict[str, Any]:
        """Structured output: ``json_schema`` where supported, else ``json_object`` + the schema."""
        check_allowed(self.name)
        payload = [m.as_dict() for m in messages]

        def call() -> Any:
            if self.json_mode == "json_schema":
                fmt: dict[str, Any] = {"type": "json_schema",
                                       "json_schema": {"name": schema_name, "schema": schema, "strict": True}}
            else:
                fmt = {"type": "json_object", "schema": schema}
            return self.client.chat.completions.create(model=self.name, messages=payload, response_format=fmt,
                                                       max_tokens=max_tokens, temperature=0)

        try:
            response, retries, events = self._with_retries(call)
        except ModelError as exc:
            if self.json_mode != "json_schema" or not refuses_json_schema(exc.__cause__):  # type: ignore[arg-type]
                raise
            self.json_mode = "json_object"
            response, retries, events = self._with_retries(call)
            events.insert(0, "json_schema refused by the server; using json_object with the schema")
        text = (response.choices[0].message.content or "") if response.choices else ""
        self._record(messages, text, retries, events)
        return parse_json_object(text)

    def _record(self, messages: list[Message], text: str, retries: int, events: list[str]) -> None:
        usage = usage_for(self.name, messages, text, self.prices)
        usage.retries, usage.events = retries, events
        self.last_usage = usage


def from_settings(settings: Any, client: Any = None) -> OpenAIChatModel:
    """Build the adapter; the client is injected in tests (pointed at a local fake server)."""
    if client is None:
        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
        client = openai.OpenAI(api_key=key or "not-set", base_url=settings.openai_base_url,
                               timeout=settings.llm_timeout, max_retries=0)
    return OpenAIChatModel(client, settings.llm_model, max_retries=settings.llm_max_retries,
                           backoff=settings.llm_backoff, prices=settings.prices)
