"""Websocket candidates: send an answer, time the ack and the first interviewer delta, read to the end.

A turn ends with the ``grade`` event (sessions are created in practice mode, which sends one
after every answer), or with an ``error`` event.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass
from typing import Any

import httpx
import websockets
from websockets.sync.client import connect

CASE = "clickstream-analytics"
TURN_TIMEOUT_S = 120.0
_ids = itertools.count()


@dataclass
class TurnTiming:
    ack_s: float = 0.0
    first_delta_s: float = 0.0
    first_delta_chars: int = 0
    done_s: float = 0.0
    fallback: str | None = None
    error: str | None = None
    finished: bool = False


class TurnReader:
    """Folds the events of one turn into a TurnTiming; ``feed`` returns True at the end of the turn."""

    def __init__(self, sent: float) -> None:
        self.sent, self.timing = sent, TurnTiming()

    def feed(self, event: dict[str, Any]) -> bool:
        now, kind, t = time.perf_counter() - self.sent, event.get("type"), self.timing
        if kind == "ack":
            t.ack_s = now
        elif kind == "interviewer_delta" and not t.first_delta_s:
            t.first_delta_s, t.first_delta_chars = now, len(event.get("text", ""))
        elif kind == "interviewer_done":
            t.done_s, t.fallback = now, event.get("fallback")
            t.first_delta_s = t.first_delta_s or now
        elif kind == "phase":
            t.finished = bool(event.get("finished"))
        elif kind == "error":
            t.error = f"{event.get('code')}: {event.get('message')}"
            return True
        return kind == "grade"


def message(text: str) -> str:
    return json.dumps({"type": "answer", "client_id": f"bench-{next(_ids)}", "text": text})


def ws_url(base: str, created: dict[str, Any]) -> str:
    return f"ws{base.removeprefix('http')}/v1/sessions/{created['session_id']}/ws?token={created['token']}"


def create(base: str, case: str = CASE) -> dict[str, Any]:
    response = httpx.post(f"{base}/v1/sessions", json={"case_id": case, "minutes": 180}, timeout=60)
    response.raise_for_status()
    return dict(response.json())


class SyncCandidate:
    """One candidate on a blocking websocket (for sequential TTFT samples)."""

    def __init__(self, base: str, case: str = CASE) -> None:
        self.base, self.case = base, case
        self.ws: Any = None
        self.finished = True

    def _open(self) -> None:
        if self.ws is not None:
            self.ws.close()
        self.ws = connect(ws_url(self.base, create(self.base, self.case)), max_size=2**22)
        while json.loads(self.ws.recv(timeout=TURN_TIMEOUT_S)).get("type") != "phase":
            pass  # the opening turn's events
        self.finished = False

    def answer(self, text: str) -> TurnTiming:
        if self.finished:
            self._open()
        reader = TurnReader(time.perf_counter())
        self.ws.send(message(text))
        while not reader.feed(json.loads(self.ws.recv(timeout=TURN_TIMEOUT_S))):
            pass
        self.finished = reader.timing.finished or reader.timing.error is not None
        return reader.timing

    def close(self) -> None:
        if self.ws is not None:
            self.ws.close()


class AsyncCandidate:
    """One candidate on an asyncio websocket (hundreds share one event loop)."""

    def __init__(self, base: str, created: dict[str, Any]) -> None:
        self.created, self.url = created, ws_url(base, created)
        self.ws: Any = None
        self.finished = False
        self.seq = 0  # the last event seen, so a reconnect asks only for what is new

    async def recv(self) -> dict[str, Any]:
        event = json.loads(await asyncio.wait_for(self.ws.recv(), TURN_TIMEOUT_S))
        self.seq = max(self.seq, int(event.get("seq") or 0))
        return dict(event)

    async def _connect(self, url: str) -> None:
        self.ws = await websockets.connect(url, max_size=2**22, open_timeout=60, ping_interval=None)

    async def open(self) -> None:
        await self._connect(self.url)
        while (await self.recv()).get("type") != "phase":
            pass

    async def move_to(self, base: str) -> None:
        """Disconnect and continue the session on another replica (no sticky sessions)."""
        await self.close()
        self.url = ws_url(base, self.created)
        await self._connect(f"{self.url}&last_seq={self.seq}")

    async def answer(self, text: str) -> TurnTiming:
        reader = TurnReader(time.perf_counter())
        await self.ws.send(message(text))
        while not reader.feed(await self.recv()):
            pass
        self.finished = reader.timing.finished
        return reader.timing

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()


async def create_async(client: httpx.AsyncClient, base: str, case: str = CASE) -> dict[str, Any]:
    response = await client.post(f"{base}/v1/sessions", json={"case_id": case, "minutes": 180}, timeout=120)
    response.raise_for_status()
    return dict(response.json())
