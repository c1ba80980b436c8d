"""Turn overhead of the offline engine (no model): retrieve + grade + plan + persist, by stage.

Scripted personas (evals/personas) are driven through ``SessionService.submit`` — the code
path of the websocket — with SQLite (WAL) in a temporary directory and the benchmark's
index. A sample is one candidate answer, from ``submit`` to its last event. Stages come
from the engine's own timers (retrieve, grade, plan) and from timing every database
transaction (persist); "other" is the rest (state load/validation, phrasing, event building).
"""

from __future__ import annotations

import gc
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks.report import Result, at_most, percentile
from benchmarks.servers import bench_settings, ensure_index
from service.interview import engine
from service.interview.knowledge import build_knowledge
from service.interview.script import COMMANDS, MAX_TURNS, Script, next_turn
from service.interview.sessions import SessionService
from service.settings import PROJECT_ROOT
from service.store.db import make_engine, migrate, session_factory
from service.store.repo import Repo

PERSONAS = PROJECT_ROOT / "evals" / "personas"
STAGES = ("retrieve", "grade", "plan", "persist", "other")
P50_MS, P99_MS = 20.0, 60.0


class Probe:
    """Collects the engine's stage timers and the time spent inside database transactions."""

    def __init__(self) -> None:
        self.stages: dict[str, float] = {}
        self.db = 0.0

    def reset(self) -> None:
        self.stages, self.db = {}, 0.0


@contextmanager
def instrumented(repo: Repo, probe: Probe) -> Iterator[None]:
    original_prepare, original_tx = engine.Interview.prepare, repo.tx

    def prepare(self: engine.Interview, *args: Any, **kwargs: Any) -> engine.Pending:
        pending = original_prepare(self, *args, **kwargs)
        probe.stages = dict(pending.stages)
        return pending

    @contextmanager
    def tx(write: bool = False) -> Iterator[Any]:
        started = time.perf_counter()
        try:
            with original_tx(write) as db:
                yield db
        finally:
            probe.db += time.perf_counter() - started

    engine.Interview.prepare = prepare  # type: ignore[method-assign]
    repo.tx = tx  # type: ignore[method-assign]
    try:
        yield
    finally:
        engine.Interview.prepare = original_prepare  # type: ignore[method-assign]
        del repo.tx


def scripts(quick: bool) -> list[tuple[str, Path]]:
    found = [(case.name, path) for case in sorted(PERSONAS.iterdir()) if case.is_dir()
             for path in sorted(case.glob("*.yaml"))]
    return [f for f in found if f[1].stem == "strong"][:1] if quick else found


def drive(service: SessionService, probe: Probe, case: str, script: Script, out: list[dict[str, float]]) -> None:
    """One interview through the service; appends one sample per candidate answer."""
    session_id, _ = service.create(case, "senior", 45, "practice")
    cursor: dict[str, int] = {}
    for n in range(MAX_TURNS):
        state = service.load(session_id)[0]
        if state.finished:
            return
        text = next_turn(script, state.phase, cursor, state.active_stress)
        action = "end" if text is None else COMMANDS.get(text.strip(), "answer")
        probe.reset()
        cpu, started = time.process_time(), time.perf_counter()
        for _ in service.submit(session_id, action, f"c{n}", text if action == "answer" else ""):
            pass
        total, cpu = time.perf_counter() - started, time.process_time() - cpu
        if action == "answer":
            sample = {k: probe.stages.get(k, 0.0) * 1000 for k in ("retrieve", "grade", "plan")}
            sample["persist"] = probe.db * 1000
            sample["total"], sample["cpu"] = total * 1000, cpu * 1000
            sample["other"] = sample["total"] - sum(sample[k] for k in ("retrieve", "grade", "plan", "persist"))
            out.append(sample)


def _loaded(entry: tuple[str, Path]) -> tuple[str, Script]:
    return entry[0], Script.load(entry[1])


def run(quick: bool = False, res: Result | None = None) -> Result:
    """Fill ``res`` (figures added so far survive a failure later in the run)."""
    res = res if res is not None else Result("overhead")
    settings = bench_settings()
    ensure_index(settings)
    kb = build_knowledge(settings)
    started = time.perf_counter()
    warmed = 0 if quick else kb.warm()
    warm_s = time.perf_counter() - started
    gc.freeze()  # as the server does after its warm start (service/api/runtime.py)
    samples: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="bench-overhead-") as tmp:
        db = make_engine(f"sqlite:///{Path(tmp) / 'overhead.db'}")
        migrate(db)
        repo = Repo(session_factory(db))
        service, probe = SessionService(kb, repo, None), Probe()
        with instrumented(repo, probe):
            if quick:  # warm only what the one scripted interview needs: run it once unmeasured
                drive(service, probe, *_loaded(scripts(quick)[0]), [])
            for case, path in scripts(quick):
                drive(service, probe, *_loaded((case, path)), samples)
        db.dispose()
    total = [s["total"] for s in samples]
    res.add("turn overhead p50", percentile(total, 50), "ms", f"≤ {P50_MS:.0f} ms",
            at_most(percentile(total, 50), P50_MS), f"{len(samples)} answers")
    res.add("turn overhead p99", percentile(total, 99), "ms", f"≤ {P99_MS:.0f} ms",
            at_most(percentile(total, 99), P99_MS))
    for stage in STAGES:
        values = [s[stage] for s in samples]
        res.add(f"  {stage} p50 / p99", percentile(values, 50), "ms", "", None, f"p99 {percentile(values, 99):.1f} ms")
    res.add("CPU time per answer p50 (all threads)", percentile([s["cpu"] for s in samples], 50), "ms")
    if warmed:
        res.add(f"startup warm-up: embed {warmed} rubric items", warm_s, "s")
    res.notes += [
        "A sample is one candidate answer through SessionService.submit (the websocket's code path): "
        "commit message + ack, load state, retrieve, grade, plan, offline phrasing, store state and events.",
        f"Scripts: {len(scripts(quick))} persona run(s) from evals/personas, level senior, 45 minutes; rubric "
        "items embedded first and the start-up heap frozen, as the server does at start (Knowledge.warm, "
        "gc.freeze; --quick: one unmeasured run of the same script instead).",
        "persist = time inside database transactions (SQLite WAL); other = everything else in the turn.",
    ]
    res.details = {"samples": samples}
    return res
