"""Scale-out: stateless replicas on one PostgreSQL and one Chroma server (opt-in: ``--only scaleout``).

Everything is real and started here: a throwaway PostgreSQL (scripts/postgres.sh), ``chroma
run`` with the bundled corpus ingested into it, and 1 then 2 uvicorn replicas on them, with
the streaming fake model of the concurrency benchmark. Each candidate is created on replica
``i % R`` and sends every later answer through the next replica, reconnecting with
``last_seq`` (no sticky sessions). Also measured: one event append (the write every streamed
delta makes) on SQLite and on PostgreSQL, side by side.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from benchmarks.answers import answer_pool
from benchmarks.backing import ChromaServer, PostgresServer
from benchmarks.concurrency import CHUNKS_PER_S, MODEL_TTFT_S, Level, run_level
from benchmarks.report import Result, percentile
from benchmarks.servers import app_server, bench_settings, fake_model
from benchmarks.takeover import Takeover, takeovers
from benchmarks.wsclient import CASE
from service.settings import Settings
from service.store.db import make_engine, migrate, session_factory
from service.store.repo import Repo

APPENDS = 300


def append_cost(url: str) -> list[float]:
    """Milliseconds per ``Repo.emit`` of one delta event, sequentially, on a fresh database."""
    engine = make_engine(url)
    migrate(engine)
    repo = Repo(session_factory(engine))
    sid, _ = repo.create_session(CASE, "senior", 45, "practice", {})
    times = []
    for n in range(APPENDS):
        started = time.perf_counter()
        repo.emit(sid, [{"type": "interviewer_delta", "turn": 1, "offset": n * 48, "text": "x" * 48}])
        times.append((time.perf_counter() - started) * 1000)
    engine.dispose()
    return times


def replicas_figures(res: Result, replicas: int, level: Level, lone_p50: float) -> None:
    added = [t - lone_p50 for t in level.ttft_ms]
    errors = len(level.errors) + level.fallbacks
    tag = f"{replicas} replica{'s' if replicas > 1 else ''}, {level.n} sessions"
    res.add(f"{tag}: errors", errors, "", "0", errors == 0,
            f"{len(level.ttft_ms)} turns" + (f"; first: {level.errors[0]}" if level.errors else ""))
    res.add(f"{tag}: added TTFT p50 / p99", percentile(added, 50), "ms", "", None,
            f"p99 {percentile(added, 99):.0f} ms; lone median {lone_p50:.0f} ms")
    res.add(f"{tag}: CPU per answer (all replicas)", level.cpu_s * 1000 / max(1, len(level.ttft_ms)), "ms")


def takeover_figures(res: Result, kills: list[Takeover]) -> None:
    first, done = [k.first_delta_ms for k in kills], [k.done_ms for k in kills]
    res.add("takeover after kill -9 mid-stream: first delta of the redone turn", percentile(first, 50), "ms", "",
            None, f"max {max(first):.0f} ms over {len(kills)} kills; done p50 {percentile(done, 50):.0f} ms")
    bad = sum(1 for k in kills if not k.graded or k.done_events != 1)
    res.add("takeover: answers lost or turns doubled", bad, "", "0", bad == 0, f"{len(kills)} kills")
    res.details["takeover"] = [vars(k) for k in kills]


def start_replicas(stack: ExitStack, settings: Settings, tmp: Path, count: int, db_url: str, chroma: str,
                   model_url: str) -> tuple[list[str], list[int]]:
    started = [stack.enter_context(app_server(settings, tmp / f"replica-{count}-{i}.db", model_url,
                                              database_url=db_url, extra_env={"MOCKROUND_CHROMA_URL": chroma}))
               for i in range(count)]
    return [b for b, _ in started], [p for _, p in started]


def run(quick: bool = False, res: Result | None = None) -> Result:
    """Fill ``res`` (figures added so far survive a failure later in the run)."""
    from service.retrieval.ingest import ingest

    res = res if res is not None else Result("scaleout")
    sessions, turns, think = (10, 2, 3.0) if quick else (100, 2, 15.0)
    answers = answer_pool(CASE)
    with tempfile.TemporaryDirectory(prefix="bench-scaleout-") as tmp_name, ExitStack() as stack:
        tmp = Path(tmp_name)
        pg = PostgresServer().start()
        stack.callback(pg.stop)
        chroma = ChromaServer(tmp / "chroma").start()
        stack.callback(chroma.stop)
        lite, post = append_cost(f"sqlite:///{tmp / 'append.db'}"), append_cost(pg.create_database())
        res.add("event append p50, SQLite (WAL)", percentile(lite, 50), "ms", "", None,
                f"p99 {percentile(lite, 99):.1f} ms over {APPENDS}")
        res.add("event append p50, PostgreSQL", percentile(post, 50), "ms", "", None,
                f"p99 {percentile(post, 99):.1f} ms over {APPENDS}")
        settings = bench_settings(tmp / "data").model_copy(update={"chroma_url": chroma.url})
        report = ingest(settings)
        res.add("cold ingest into the Chroma server", report.seconds, "s", "", None, f"{report.chunks} chunks")
        model_url = stack.enter_context(fake_model(MODEL_TTFT_S, CHUNKS_PER_S))
        for count in (1, 2):
            with ExitStack() as replicas:
                db_url = pg.create_database()
                bases, pids = start_replicas(replicas, settings, tmp, count, db_url, chroma.url, model_url)
                lone = asyncio.run(run_level(bases[:1], pids[:1], 1, 6 if quick else 12, 0.3, answers, seed=1))
                level = asyncio.run(run_level(bases, pids, sessions, turns, think, answers, seed=count))
                replicas_figures(res, count, level, percentile(lone.ttft_ms, 50))
                res.details[str(count)] = {"ttft_ms": level.ttft_ms, "errors": level.errors[:20]}
                if count == 2:
                    kills = takeovers(settings, tmp, db_url, chroma.url, model_url, bases[1], answers,
                                      2 if quick else 5)
                    takeover_figures(res, kills)
    res.notes += [
        f"PostgreSQL from scripts/postgres.sh (fsync off: a test cluster) and `chroma run`, both on 127.0.0.1; "
        f"{sessions} candidates per replica count, each created on replica i % R, then {turns} answers "
        f"{think:.0f} s apart (±20%), every answer after the first sent through the next replica after a "
        "reconnect with last_seq.",
        "All replicas, both servers, the fake model and the client share the same 2 CPUs, so a second "
        "replica shows that sessions move freely under load, not a speed-up.",
        "Takeover (benchmarks/takeover.py): a fresh replica gets an answer and is killed with SIGKILL at its "
        "first interviewer delta; the candidate reconnects to a survivor with last_seq. Times from the "
        "reconnect; the fake model takes 500 ms to its first chunk, so ~500 ms is the floor.",
    ]
    return res
