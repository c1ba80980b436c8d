"""Cassettes: record real chat-completion exchanges once, replay them deterministically.

A cassette is one JSON file per request key. The key is the sha256 of the canonical request:
JSON with sorted keys of the model, the messages, the sampling parameters, the response
format and the stream flag (nothing else the client sends, e.g. headers, counts). Secrets are
scrubbed before anything is hashed or written: API-key and authorization fields are dropped and
any ``sk-…`` token or bearer token is replaced.

Recording wraps the injected ``openai`` client (``RecordingClient``): every answer of the server,
errors included, is appended to the key's file in call order (streamed answers as their text
chunks plus usage when the server sends it). Replay serves the files through ``FakeOpenAI``
(``ReplayResponder``): the n-th request with a key gets the n-th recorded answer (the last one
repeats); a request with no cassette gets HTTP 404 whose body names the key and summarises the
request, and the miss is counted so the caller can fail the run (``ReplayResponder.check``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import openai

from service.errors import ModelError

REQUEST_FIELDS = ("model", "messages", "temperature", "top_p", "max_tokens", "max_completion_tokens", "seed",
                  "stop", "n", "presence_penalty", "frequency_penalty", "logit_bias", "response_format",
                  "tools", "tool_choice")
SECRET_FIELDS = {"api_key", "apikey", "api-key", "x-api-key", "authorization", "openai_api_key", "password"}
SECRET_TOKEN = re.compile(r"\bsk-[A-Za-z0-9_\-]{6,}")
BEARER = re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._\-]+")
MISS_STATUS = 404
KEY_NAME = re.compile(r"[0-9a-f]{64}")
NOT_SENT = tuple(t for t in (getattr(openai, "NotGiven", None), getattr(openai, "Omit", None)) if isinstance(t, type))


class CassetteMiss(ModelError):
    """A replayed request had no cassette: the run must fail, never call a live model."""

    code = "cassette_miss"


def scrub(obj: Any) -> Any:
    """A copy with secret fields dropped and key-like tokens replaced."""
    if isinstance(obj, dict):
        return {k: scrub(v) for k, v in obj.items() if str(k).lower() not in SECRET_FIELDS}
    if isinstance(obj, list | tuple):
        return [scrub(v) for v in obj]
    if isinstance(obj, str):
        return BEARER.sub("Bearer [redacted]", SECRET_TOKEN.sub("sk-[redacted]", obj))
    return obj


def canonical(body: dict[str, Any]) -> dict[str, Any]:
    """The parts of a request that decide the answer, scrubbed."""
    out = {k: body[k] for k in REQUEST_FIELDS if body.get(k) is not None}
    out["stream"] = bool(body.get("stream"))
    return scrub(out)


def canonical_json(body: dict[str, Any]) -> str:
    return json.dumps(canonical(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def request_key(body: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()


def summary(body: dict[str, Any]) -> str:
    """One line naming the request: model, stream flag, format, message count and the last message's start."""
    messages = body.get("messages") or []
    last = messages[-1] if messages else {}
    text = " ".join(str(last.get("content", "")).split())[:80] if isinstance(last, dict) else ""
    fmt = (body.get("response_format") or {}).get("type", "text")
    return (f"model={body.get('model')} stream={bool(body.get('stream'))} format={fmt} "
            f"messages={len(messages)} last={last.get('role', '?') if isinstance(last, dict) else '?'}: "
            f"{scrub(text)!r}")


class CassetteStore:
    """One JSON file per key under ``root``: ``{"key", "request", "responses": [...]}``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, key: str) -> Path:
        return self.root / f"{key}.json"

    def keys(self) -> list[str]:
        """Keys with a cassette (other JSON files, such as a manifest, are not cassettes)."""
        if not self.root.is_dir():
            return []
        return sorted(p.stem for p in self.root.glob("*.json") if KEY_NAME.fullmatch(p.stem))

    def load(self, key: str) -> dict[str, Any] | None:
        path = self.path(key)
        if not path.is_file():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ModelError(f"{path}: unreadable cassette: {exc}") from exc
        if not isinstance(data, dict) or not data.get("responses"):
            raise ModelError(f"{path}: a cassette needs a non-empty 'responses' list")
        return data

    def append(self, body: dict[str, Any], response: dict[str, Any]) -> str:
        """Add one answer to the request's cassette (written atomically); returns the key."""
        key = request_key(body)
        data = self.load(key) or {"key": key, "request": canonical(body), "responses": []}
        data["responses"].append(scrub(response))
        self.root.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".tmp-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1, sort_keys=True, ensure_ascii=False)
            fh.write("\n")
        os.replace(tmp, self.path(key))
        return key


def _usage(obj: Any) -> dict[str, int] | None:
    usage = getattr(obj, "usage", None)
    if usage is None:
        return None
    return {k: int(getattr(usage, k, 0) or 0) for k in ("prompt_tokens", "completion_tokens", "total_tokens")}


def _error_body(exc: openai.APIStatusError) -> Any:
    try:
        return exc.response.json()
    except ValueError:
        return {"error": {"message": exc.response.text[:500]}}


class RecordingClient:
    """Stands in for an ``openai`` client: forwards ``chat.completions.create``, writes every answer
    to the store (when one is given) and adds up the usage the server reports."""

    def __init__(self, client: Any, store: CassetteStore | None = None) -> None:
        self.client = client
        self.store = store
        self.chat = SimpleNamespace(completions=SimpleNamespace(create=self.create))
        self.recorded = 0
        self.server_usage = {"calls": 0, "calls_with_usage": 0, "prompt_tokens": 0, "completion_tokens": 0}

    def create(self, **kwargs: Any) -> Any:
        body = {k: v for k, v in kwargs.items() if not isinstance(v, NOT_SENT)}
        try:
            response = self.client.chat.completions.create(**kwargs)
        except openai.APIStatusError as exc:
            self._save(body, {"status": exc.status_code, "body": _error_body(exc)})
            raise
        if body.get("stream"):
            return self._tee(body, response)
        choice = response.choices[0] if response.choices else None
        self._save(body, {"status": 200, "text": (choice.message.content or "") if choice else "",
                          "finish_reason": choice.finish_reason if choice else None, "usage": _usage(response)})
        return response

    def _tee(self, body: dict[str, Any], response: Any) -> Iterator[Any]:
        chunks: list[str] = []
        usage, finish = None, None
        for chunk in response:
            usage = _usage(chunk) or usage
            if chunk.choices:
                delta = chunk.choices[0].delta.content or ""
                if delta:
                    chunks.append(delta)
                finish = chunk.choices[0].finish_reason or finish
            yield chunk
        # only a stream that ran to its end is recorded; a broken one raised above
        self._save(body, {"status": 200, "text": "".join(chunks), "chunks": chunks, "finish_reason": finish,
                          "usage": usage})

    def _save(self, body: dict[str, Any], response: dict[str, Any]) -> None:
        self.server_usage["calls"] += 1
        usage = response.get("usage")
        if usage:
            self.server_usage["calls_with_usage"] += 1
            self.server_usage["prompt_tokens"] += usage.get("prompt_tokens", 0)
            self.server_usage["completion_tokens"] += usage.get("completion_tokens", 0)
        if self.store is not None:
            self.store.append(body, response)
            self.recorded += 1


class ReplayResponder:
    """A ``FakeOpenAI`` responder serving cassettes; misses answer 404 and are counted."""

    def __init__(self, store: CassetteStore) -> None:
        self.store = store
        self.served: Counter[str] = Counter()
        self.misses: list[str] = []

    def __call__(self, body: dict[str, Any]) -> dict[str, Any]:
        key = request_key(body)
        record = self.store.load(key)
        if record is None:
            line = f"{key} ({summary(body)})"
            self.misses.append(line)
            return {"fault": "status", "status": MISS_STATUS,
                    "body": {"error": {"message": f"cassette miss: no cassette for key {line}",
                                       "type": "cassette_miss", "code": "cassette_miss", "key": key}}}
        n = self.served[key]
        self.served[key] += 1
        answer = record["responses"][min(n, len(record["responses"]) - 1)]
        if answer.get("status", 200) != 200:
            return {"fault": "status", "status": answer["status"], "body": answer.get("body") or {}}
        return {"text": answer.get("text", ""), "chunks": answer.get("chunks"), "usage": answer.get("usage"),
                "finish_reason": answer.get("finish_reason") or "stop"}

    def check(self) -> None:
        """Raise ``CassetteMiss`` when any request went unanswered (fallbacks must not hide it)."""
        if self.misses:
            shown = "\n  ".join(self.misses[:5])
            more = f"\n  … and {len(self.misses) - 5} more" if len(self.misses) > 5 else ""
            raise CassetteMiss(f"{len(self.misses)} request(s) had no cassette in {self.store.root} "
                               f"(re-record with --record):\n  {shown}{more}")
