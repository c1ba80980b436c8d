"""Concurrency: N simultaneous websocket interviews on one server process with a streaming fake model.

Load model (printed with the results): N candidates each create a session (which streams
the opening turn) and keep their websocket open. Then each candidate, starting at a random
moment within the first THINK_S seconds, repeats TURNS times: send an answer, wait until the
turn is complete (its ``grade`` event), think THINK_S seconds (±20%). TTFT = send → first
``interviewer_delta``. Added latency = a sample's TTFT minus the median TTFT of a lone
candidate measured in the same run on the same server.
"""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from benchmarks.answers import answer_pool
from benchmarks.report import Result, at_most, percentile
from benchmarks.servers import app_server, bench_settings, cpu_seconds, ensure_index, fake_model, rss_kb
from benchmarks.wsclient import CASE, AsyncCandidate, create_async

MODEL_TTFT_S, CHUNKS_PER_S = 0.5, 50.0
ADDED_P99_MS = 100.0
CREATE_CONCURRENCY = 32


class Level:
    """Everything measured at one concurrency level."""

    def __init__(self, n: int) -> None:
        self.n, self.ttft_ms, self.errors, self.fallbacks = n, [], [], 0
        self.rss_before = self.rss_peak = 0
        self.cpu_s = 0.0  # server CPU while the candidates answer (after sessions are created)

    def fail(self, where: str, exc: BaseException | str) -> None:
        self.errors.append(f"{where}: {exc if isinstance(exc, str) else type(exc).__name__ + ' ' + str(exc)[:120]}")


async def candidate(bases: list[str], first: int, created: dict[str, Any], answers: list[str], turns: int,
                    think: float, level: Level, rng: random.Random) -> None:
    """One candidate: created on ``bases[first]``; with several bases each later answer goes
    through the next one after a reconnect with ``last_seq`` (no sticky sessions)."""
    cand = AsyncCandidate(bases[first], created)
    try:
        await cand.open()
        await asyncio.sleep(rng.uniform(0, think))
        for n in range(turns):
            if n and len(bases) > 1:
                await cand.move_to(bases[(first + n) % len(bases)])
            timing = await cand.answer(answers[rng.randrange(len(answers))])
            if timing.error:
                level.fail("turn", timing.error)
            else:
                level.ttft_ms.append(timing.first_delta_s * 1000)
            level.fallbacks += timing.fallback is not None
            if cand.finished or n == turns - 1:
                break
            await asyncio.sleep(think * rng.uniform(0.8, 1.2))
    except Exception as exc:  # a dropped socket or a timeout is an error of this level
        level.fail("websocket", exc)
    finally:
        try:
            await cand.close()
        except Exception as exc:
            level.fail("close", exc)


async def sample_rss(pids: list[int], level: Level, stop: asyncio.Event) -> None:
    while not stop.is_set():
        level.rss_peak = max(level.rss_peak, sum(rss_kb(p) for p in pids))
        await asyncio.sleep(0.25)


async def run_level(bases: list[str], pids: list[int], n: int, turns: int, think: float, answers: list[str],
                    seed: int) -> Level:
    """``n`` candidates, candidate i created on ``bases[i % len(bases)]`` (and roaming when there are
    several, see ``candidate``); CPU and RSS are summed over the server processes ``pids``."""
    level = Level(n)
    level.rss_before = level.rss_peak = sum(rss_kb(p) for p in pids)
    stop = asyncio.Event()
    sampler = asyncio.create_task(sample_rss(pids, level, stop))
    gate = asyncio.Semaphore(CREATE_CONCURRENCY)
    async with httpx.AsyncClient(timeout=120) as client:
        async def make(i: int) -> dict[str, Any] | None:
            async with gate:
                try:
                    return await create_async(client, bases[i % len(bases)])
                except Exception as exc:
                    level.fail("create", exc)
                    return None
        created = await asyncio.gather(*(make(i) for i in range(n)))
    rng = random.Random(seed)
    cpu = sum(cpu_seconds(p) for p in pids)
    await asyncio.gather(*(candidate(bases, i % len(bases), c, answers, turns, think, level,
                                     random.Random(rng.random())) for i, c in enumerate(created) if c))
    level.cpu_s = sum(cpu_seconds(p) for p in pids) - cpu
    stop.set()
    await sampler
    return level


def level_figures(res: Result, level: Level, lone_p50: float, gated: bool) -> None:
    added = [t - lone_p50 for t in level.ttft_ms]
    p50, p99 = percentile(added, 50), percentile(added, 99)
    errors = len(level.errors) + level.fallbacks
    res.add(f"{level.n} sessions: errors", errors, "", "0", errors == 0,
            f"{len(level.ttft_ms)} turns measured" + (f"; first: {level.errors[0]}" if level.errors else ""))
    res.add(f"{level.n} sessions: added TTFT p50", p50, "ms", "", None, f"lone median {lone_p50:.0f} ms")
    res.add(f"{level.n} sessions: added TTFT p99", p99, "ms", f"≤ {ADDED_P99_MS:.0f} ms" if gated else "",
            at_most(p99, ADDED_P99_MS) if gated else None, f"TTFT p99 {percentile(level.ttft_ms, 99):.0f} ms")
    res.add(f"{level.n} sessions: server CPU per answer", level.cpu_s * 1000 / max(1, len(level.ttft_ms)), "ms",
            "", None, f"{level.cpu_s:.1f} CPU-s for {len(level.ttft_ms)} answers")
    per_session = (level.rss_peak - level.rss_before) / max(1, level.n)
    res.add(f"{level.n} sessions: memory per session", per_session, "KiB", "", None,
            f"server RSS {level.rss_before / 1024:.0f} → {level.rss_peak / 1024:.0f} MiB")


def run(quick: bool = False, res: Result | None = None) -> Result:
    """Fill ``res`` (figures added so far survive a failure later in the run)."""
    res = res if res is not None else Result("concurrency")
    levels, turns, think = ((10, 25), 2, 3.0) if quick else ((50, 100, 200), 2, 15.0)
    settings = bench_settings()
    ensure_index(settings)
    answers = answer_pool(CASE)
    with tempfile.TemporaryDirectory(prefix="bench-conc-") as tmp, fake_model(MODEL_TTFT_S, CHUNKS_PER_S) as url, \
            app_server(settings, Path(tmp) / "conc.db", url) as (base, pid):
        lone = asyncio.run(run_level([base], [pid], 1, 8 if quick else 12, 0.3, answers, seed=1))
        lone_p50 = percentile(lone.ttft_ms, 50)
        res.add("lone session TTFT p50", lone_p50, "ms", "", None,
                f"p99 {percentile(lone.ttft_ms, 99):.0f} ms over {len(lone.ttft_ms)} turns (baseline)")
        for n in levels:
            started = time.perf_counter()
            level = asyncio.run(run_level([base], [pid], n, turns, think, answers, seed=n))
            level_figures(res, level, lone_p50, gated=n == 200)
            res.details[str(n)] = {"ttft_ms": level.ttft_ms, "errors": level.errors[:20], "fallbacks": level.fallbacks,
                                   "seconds": round(time.perf_counter() - started, 1)}
    res.notes += [
        f"Load model: N candidates (N = {', '.join(map(str, levels))}) on one uvicorn process (SQLite WAL). Each "
        f"creates a session, keeps its websocket open, starts at a random moment within {think:.0f} s, then {turns}× "
        f"sends a labelled answer of {CASE}, waits for the turn to complete and thinks {think:.0f} s ±20%. "
        "Real candidates take 1-3 minutes per answer, so this is several times heavier per session.",
        f"Fake model (own process): first chunk after {MODEL_TTFT_S * 1000:.0f} ms, then an 8-character chunk every "
        f"{1000 / CHUNKS_PER_S:.0f} ms; judge calls answered at once.",
        "Added latency = TTFT of each turn under load − median TTFT of a lone candidate (same run, same server, "
        "0.3 s think). Errors = failed creates, socket errors/timeouts, error events and model fallbacks.",
        "Memory per session = (peak server RSS during the level − RSS before it) / N; the client runs on the "
        "same 2 CPUs as the server.",
    ]
    return res
