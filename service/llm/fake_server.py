"""A fake OpenAI-compatible HTTP server on 127.0.0.1 for tests, replays and benchmarks.

Chat completions with and without streaming, JSON-schema responses and scripted faults
(429, 500, timeout, malformed JSON, a stream dropped mid-way), served by uvicorn in a
background thread. Nothing here talks to the internet. A reply may also carry exact stream
``chunks``, ``usage`` and ``finish_reason``, or ``{"fault": "status", "status": N, "body": {...}}``
for any HTTP error — what cassette replay (``service/llm/cassette.py``) needs.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

Responder = Callable[[dict[str, Any]], dict[str, Any]]
_ITEM_LINE = re.compile(r"^- ([a-z0-9][a-z0-9_.-]*[a-z0-9]): ", re.M)


def default_responder(body: dict[str, Any]) -> dict[str, Any]:
    """Text for plain calls; for JSON-schema calls, 'not met' for every listed rubric item."""
    if body.get("response_format", {}).get("type") == "json_schema":
        prompt = "\n".join(str(m.get("content", "")) for m in body.get("messages", []))
        ids = _ITEM_LINE.findall(prompt)
        return {"json": {"verdicts": [{"id": i, "met": False, "evidence": "", "reason": "fake"} for i in ids]}}
    return {"text": "Thanks. Could you walk me through how data moves from the sources to the consumers?"}


def _completion(model: str, content: str, usage: dict[str, Any] | None = None,
                finish: str = "stop") -> dict[str, Any]:
    return {"id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "finish_reason": finish,
                         "message": {"role": "assistant", "content": content}}],
            "usage": usage or {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}}


def _chunk(model: str, delta: dict[str, Any], finish: str | None = None,
           usage: dict[str, Any] | None = None) -> str:
    body: dict[str, Any] = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": int(time.time()),
                            "model": model, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    if usage is not None:
        body["choices"], body["usage"] = [], usage
    return f"data: {json.dumps(body)}\n\n"


class FakeOpenAI:
    """Queue scripted replies (``{"text"}``, ``{"json"}``, ``{"fault"}``) or set a responder."""

    def __init__(self, ttft: float = 0.0, tokens_per_second: float = 0.0, chunk_chars: int = 8) -> None:
        self.queue: deque[dict[str, Any]] = deque()
        self.requests: list[dict[str, Any]] = []
        self.responder: Responder = default_responder
        self.ttft = ttft
        self.tokens_per_second = tokens_per_second
        self.chunk_chars = chunk_chars
        self.timeout_seconds = 5.0
        self.app = self._build()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    def _next(self, body: dict[str, Any]) -> dict[str, Any]:
        return self.queue.popleft() if self.queue else self.responder(body)

    async def _stream(self, model: str, text: str, drop: bool,
                      reply: dict[str, Any] | None = None) -> AsyncIterator[str]:
        reply = reply or {}
        if self.ttft:
            await asyncio.sleep(self.ttft)
        yield _chunk(model, {"role": "assistant", "content": ""})
        pieces = reply.get("chunks") or [text[i : i + self.chunk_chars] for i in range(0, len(text), self.chunk_chars)]
        for n, piece in enumerate(pieces):
            if drop and n >= max(1, len(pieces) // 3):
                raise ConnectionResetError("fake stream dropped")
            if self.tokens_per_second:
                await asyncio.sleep(1.0 / self.tokens_per_second)
            yield _chunk(model, {"content": piece})
        yield _chunk(model, {}, reply.get("finish_reason") or "stop")
        if reply.get("usage"):
            yield _chunk(model, {}, usage=reply["usage"])
        yield "data: [DONE]\n\n"

    def _build(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v1/chat/completions")
        async def completions(request: Request) -> Response:
            body = await request.json()
            self.requests.append(body)
            reply = self._next(body)
            model = body.get("model", "fake")
            fault = reply.get("fault")
            if fault in ("429", "500"):
                return JSONResponse({"error": {"message": f"fake {fault}", "type": "fake"}}, status_code=int(fault))
            if fault == "status":
                return JSONResponse(reply.get("body") or {}, status_code=int(reply["status"]))
            if fault == "timeout":
                await asyncio.sleep(self.timeout_seconds)
            content = json.dumps(reply["json"]) if "json" in reply else str(reply.get("text", ""))
            if fault == "malformed":
                content = '{"verdicts": [ this is not json'
            if body.get("stream"):
                return StreamingResponse(self._stream(model, content, fault == "drop", reply),
                                         media_type="text/event-stream")
            return JSONResponse(_completion(model, content, reply.get("usage"), reply.get("finish_reason") or "stop"))

        return app

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> FakeOpenAI:
        config = uvicorn.Config(self.app, host="127.0.0.1", port=0, log_level="error", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.time() + 10
        while time.time() < deadline:
            if self._server.started and self._server.servers:
                self.port = self._server.servers[0].sockets[0].getsockname()[1]
                return self
            time.sleep(0.02)
        raise RuntimeError("fake OpenAI server did not start")

    def stop(self) -> None:
        if self._server:
            self._server.should_exit = True
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
