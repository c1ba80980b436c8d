"""Takeover time: a replica is killed (SIGKILL) mid-stream and the candidate reconnects to another.

Part of the scale-out benchmark. Each sample starts a fresh "victim" replica on the shared
PostgreSQL and Chroma server, sends an answer to it, waits for the first interviewer delta,
kills the process with SIGKILL and reconnects to a surviving replica with ``last_seq``. The
survivor finds the message committed but unprocessed (the victim's session lock died with
its connection) and runs the turn again, its deltas restarting at offset 0. Measured from the
reconnect: the restarted turn's first delta and its ``interviewer_done``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from benchmarks.servers import app_server
from benchmarks.wsclient import AsyncCandidate, create_async, message
from service.settings import Settings


@dataclass
class Takeover:
    first_delta_ms: float = 0.0  # reconnect → first delta of the restarted turn
    done_ms: float = 0.0  # reconnect → its interviewer_done
    done_events: int = 0  # interviewer_done events the candidate received for the answer (1 = none duplicated)
    graded: bool = False  # the turn ended with its grade: the answer was not lost


async def one_takeover(victim: str, victim_pid: int, survivor: str, answer: str) -> Takeover:
    async with httpx.AsyncClient(timeout=120) as client:
        created = await create_async(client, victim)
    cand = AsyncCandidate(victim, created)
    await cand.open()
    await cand.ws.send(message(answer))
    while (await cand.recv()).get("type") != "interviewer_delta":
        pass
    os.kill(victim_pid, signal.SIGKILL)
    with contextlib.suppress(Exception):
        await asyncio.wait_for(cand.close(), 2)
    started = time.perf_counter()
    await cand.move_to(survivor)
    out = Takeover()
    while True:
        event = await cand.recv()
        now = (time.perf_counter() - started) * 1000
        kind = event.get("type")
        if kind == "interviewer_delta" and event.get("offset") == 0 and not out.first_delta_ms:
            out.first_delta_ms = now
        elif kind == "interviewer_done":
            out.done_ms, out.done_events = now, out.done_events + 1
        elif kind in ("grade", "error"):
            out.graded = kind == "grade"
            break
    await cand.close()
    return out


def takeovers(settings: Settings, tmp: Path, db_url: str, chroma: str, model_url: str, survivor: str,
              answers: list[str], samples: int) -> list[Takeover]:
    """``samples`` kills, each of a fresh victim replica (no warm start: it only has to start a turn)."""
    out = []
    for n in range(samples):
        with app_server(settings, tmp / f"victim-{n}.db", model_url, database_url=db_url,
                        extra_env={"MOCKROUND_CHROMA_URL": chroma, "MOCKROUND_WARM_START": "0"}) as (base, pid):
            out.append(asyncio.run(one_takeover(base, pid, survivor, answers[n % len(answers)])))
    return out
