"""The websocket endpoint: validate frames, commit-then-process, stream stored events."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, WebSocket, WebSocketDisconnect
from fastapi.concurrency import iterate_in_threadpool, run_in_threadpool
from pydantic import ValidationError

from service.api.deps import is_admin
from service.api.protocol import CLIENT, CLIENT_TYPES
from service.api.runtime import Runtime
from service.errors import MockroundError, NotFoundError

router = APIRouter()
CLOSE_UNAUTHORIZED, CLOSE_NOT_FOUND, CLOSE_UNAVAILABLE = 4401, 4404, 4503


class Connection:
    """Per-connection bookkeeping: last sequence sent and a token bucket for rate limiting."""

    def __init__(self, ws: WebSocket, rt: Runtime, session_id: str, sent: int) -> None:
        self.ws, self.rt, self.session_id, self.sent = ws, rt, session_id, sent
        self.rate = rt.settings.ws_max_messages_per_second
        self.allowance, self.checked = self.rate * 2, time.monotonic()

    def allow(self) -> bool:
        now = time.monotonic()
        self.allowance = min(self.rate * 2, self.allowance + (now - self.checked) * self.rate)
        self.checked = now
        if self.allowance < 1:
            return False
        self.allowance -= 1
        return True

    async def send(self, events: list[dict[str, Any]]) -> None:
        for event in events:
            if event.get("seq", 0) > self.sent + 1:
                await self.catch_up(event["seq"])
            if event.get("seq", 0) > self.sent:
                await self.ws.send_text(json.dumps(event))
                self.sent = event["seq"]

    async def catch_up(self, before: int) -> None:
        """Send what other connections or replicas stored since our last event: the client sees
        every seq once, in order (events commit in seq order, so the log has them all)."""
        service = self.rt.require()
        for event in await run_in_threadpool(service.repo.events_after, self.session_id, self.sent):
            if self.sent < event["seq"] < before:
                await self.ws.send_text(json.dumps(event))
                self.sent = event["seq"]

    async def stream(self, events: Iterator[dict[str, Any]]) -> None:
        """Relay events as they are stored. A client leaving mid-turn does not abandon the turn: it
        completes and commits, and a reconnect (to any replica) finds it in the log."""
        gone: WebSocketDisconnect | None = None
        try:
            async for event in iterate_in_threadpool(events):
                if gone is None:
                    try:
                        await self.send([event])
                    except WebSocketDisconnect as exc:
                        gone = exc
        finally:
            close = getattr(events, "close", None)
            if close is not None:
                await run_in_threadpool(close)  # releases the session's processing lock
        if gone is not None:
            raise gone

    async def error(self, code: str, message: str) -> None:
        """Store the error in the session's log; if the store itself is down, send it unstored."""
        self.rt.metrics.inc("mockround_errors_total", type=code)
        event = {"type": "error", "code": code, "message": message}
        try:
            service = self.rt.require()
            stored = await run_in_threadpool(service.repo.emit, self.session_id, [event])
        except MockroundError:
            await self.ws.send_text(json.dumps({**event, "seq": None}))
            return
        await self.send(stored)


def parse(raw: str, limit: int) -> tuple[Any, tuple[str, str] | None]:
    """A validated client message, or an (error code, message) pair."""
    if len(raw.encode()) > limit:
        return None, ("too_large", f"message is over the {limit}-byte limit")
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        return None, ("bad_json", f"malformed JSON: {exc.msg}")
    if not isinstance(data, dict) or data.get("type") not in CLIENT_TYPES:
        kind = data.get("type") if isinstance(data, dict) else None
        return None, ("unknown_type", f"unknown message type {kind!r}; use one of {', '.join(CLIENT_TYPES)}")
    try:
        return CLIENT.validate_python(data), None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"][1:]) or "message"
        return None, ("invalid_message", f"{where}: {first['msg']}")


async def handle(conn: Connection, msg: Any) -> None:
    service = conn.rt.require()
    if msg.type == "ping":
        await conn.send(await run_in_threadpool(service.repo.emit, conn.session_id, [{"type": "pong"}]))
        return
    if msg.type == "resume":
        conn.sent = min(conn.sent, msg.last_seq)
        await conn.send(await run_in_threadpool(service.repo.events_after, conn.session_id, msg.last_seq))
        return
    started = time.perf_counter()
    await conn.stream(service.submit(conn.session_id, msg.type, msg.client_id, getattr(msg, "text", "")))
    conn.rt.metrics.observe("mockround_turn_seconds", time.perf_counter() - started)
    conn.rt.metrics.inc("mockround_turns_total", type=msg.type)


async def authorize(ws: WebSocket, rt: Runtime, session_id: str, token: str) -> bool:
    await ws.accept()
    try:
        service = rt.require()
        ok = is_admin(rt, token) or await run_in_threadpool(service.repo.check_token, session_id, token)
    except NotFoundError:
        await ws.close(code=CLOSE_NOT_FOUND, reason="unknown session")
        return False
    except MockroundError as exc:
        await ws.close(code=CLOSE_UNAVAILABLE, reason=str(exc)[:100])
        return False
    if not ok:
        await ws.close(code=CLOSE_UNAUTHORIZED, reason="invalid session token")
    return ok


@router.websocket("/v1/sessions/{session_id}/ws")
async def session_ws(ws: WebSocket, session_id: str, token: Annotated[str, Query()] = "",
                     last_seq: Annotated[int, Query(ge=0, le=2_000_000_000)] = 0) -> None:
    rt: Runtime = ws.app.state.runtime
    if not await authorize(ws, rt, session_id, token):
        return
    conn = Connection(ws, rt, session_id, last_seq)
    rt.metrics.gauge("mockround_active_sessions", 1)
    try:
        try:
            service = rt.require()
            await conn.send(await run_in_threadpool(service.repo.events_after, session_id, last_seq))
            # finish work a crash interrupted, or relay the replica that is processing this session now
            await conn.stream(service.process_pending(session_id, after=conn.sent))
        except MockroundError as exc:  # the store or index went away: the client reconnects later
            await conn.error(exc.code, f"{exc}; your messages are saved, reconnect to continue")
        while True:
            raw = await ws.receive_text()
            if not conn.allow():
                await conn.error("rate_limited", "too many messages; slow down")
                continue
            msg, problem = parse(raw, rt.settings.ws_max_message_bytes)
            if problem:
                await conn.error(*problem)
                continue
            try:
                await handle(conn, msg)
            except MockroundError as exc:
                await conn.error(exc.code, str(exc))
    except WebSocketDisconnect:
        pass
    finally:
        rt.metrics.gauge("mockround_active_sessions", -1)
