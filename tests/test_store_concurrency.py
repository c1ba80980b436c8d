"""The store underneath the replicas: two engines stand for two processes on one database.

Runs on the database every service test uses (``database_url``: SQLite, or a fresh Postgres
database with ``MOCKROUND_TEST_DATABASE=postgres``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from service.errors import StoreError
from service.settings import PROJECT_ROOT
from service.store.db import make_engine, migrate, normalise_url, session_factory
from service.store.repo import Repo
from tests.services import PostgresServer, selected_database

CASE = "clickstream-analytics"


@pytest.fixture
def two_repos(database_url: str) -> Iterator[tuple[Repo, Repo]]:
    if selected_database() == "postgres":
        assert database_url.startswith("postgresql+psycopg://")
    engines = [make_engine(database_url) for _ in range(2)]
    migrate(engines[0])
    migrate(engines[1])  # idempotent
    repos = Repo(session_factory(engines[0])), Repo(session_factory(engines[1]))
    yield repos
    for repo, engine in zip(repos, engines, strict=True):
        repo.locks.close()
        engine.dispose()


def test_store_sequences_stay_gapless_under_concurrent_writers(two_repos: tuple[Repo, Repo]) -> None:
    one, two = two_repos
    sid, _ = one.create_session(CASE, "senior", 20, "practice", {})
    errors: list[str] = []

    def writer(repo: Repo, name: str) -> None:
        try:
            for n in range(15):
                repo.emit(sid, [{"type": "pong", "by": name, "n": n, "part": p} for p in range(1 + n % 3)])
        except Exception as exc:
            errors.append(f"{name}: {exc!r}")

    threads = [threading.Thread(target=writer, args=(repo, f"{i}{k}")) for i, repo in enumerate(two_repos)
               for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    events = two.events_after(sid, 0)
    assert [e["seq"] for e in events] == list(range(1, 8 * 30 + 1))
    per_writer = {}
    for e in events:  # each writer's batches are contiguous and in its own order
        per_writer.setdefault(e["by"], []).append((e["n"], e["part"]))
    assert all(v == sorted(v) and len(v) == 30 for v in per_writer.values())
    assert one.get(sid).next_seq == 8 * 30 + 1
    assert one.get(sid).created_at.tzinfo is not None  # UTC-aware on SQLite and Postgres alike


def test_writers_of_one_process_queue_on_a_lock_and_readers_do_not(two_repos: tuple[Repo, Repo]) -> None:
    """SQLite: a writing transaction holds its engine's writer lock; reads and other engines do not wait."""
    one, two = two_repos
    sid, _ = one.create_session(CASE, "senior", 20, "practice", {})
    inside, release = threading.Event(), threading.Event()

    def hold_a_write() -> None:
        with one.tx(write=True):
            inside.set()
            release.wait(10)

    holder = threading.Thread(target=hold_a_write)
    holder.start()
    assert inside.wait(10)
    try:
        lock = one.writer()
        if selected_database() == "postgres":
            assert not hasattr(lock, "acquire")  # row locks do the queueing there
        else:
            assert not lock.acquire(blocking=False)  # taken by the open write transaction
            assert two.writer() is not lock  # another engine stands for another process
        assert one.get(sid).id == sid  # reading needs no writer lock
        emitted = threading.Thread(target=one.emit, args=(sid, [{"type": "pong"}]))
        emitted.start()  # a write of the same engine waits for the lock (SQLite)
        emitted.join(0.3)
        assert emitted.is_alive() == (selected_database() != "postgres")
    finally:
        release.set()
        holder.join(10)
    emitted.join(10)
    assert [e["type"] for e in one.events_after(sid, 0)] == ["pong"]
    started = time.perf_counter()
    with one.writer():  # free again once the transaction has ended
        assert time.perf_counter() - started < 1.0


def test_grading_versions_do_not_collide(two_repos: tuple[Repo, Repo]) -> None:
    one, _ = two_repos
    sid, _ = one.create_session(CASE, "senior", 20, "practice", {})
    versions: list[int] = []
    threads = [threading.Thread(target=lambda r=repo: versions.append(r.add_grading(sid, "g", "p", {}, {})))
               for repo in two_repos for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(versions) == [1, 2, 3, 4, 5, 6]


def test_one_process_holds_many_session_locks_and_each_only_once(two_repos: tuple[Repo, Repo]) -> None:
    """More sessions processed at once than the connection pool has connections (30 on Postgres)."""
    from contextlib import ExitStack

    one, two = two_repos
    sids = [one.create_session(CASE, "senior", 20, "practice", {})[0] for _ in range(40)]
    with ExitStack() as stack:
        held = [stack.enter_context(one.processing_lock(sid)) for sid in sids]
        assert all(held)
        with one.processing_lock(sids[0]) as again, two.processing_lock(sids[1]) as other:
            assert not again and not other  # a second holder in this process, or in another, is refused
        assert len(one.events_after(sids[0], 0)) == 0 and one.emit(sids[0], [{"type": "pong"}])  # pool still free
    with one.processing_lock(sids[0]) as mine, two.processing_lock(sids[1]) as theirs:
        assert mine and theirs  # all released when their blocks ended


HOLDER = """
import sys, time
from service.store.db import make_engine, session_factory
from service.store.repo import Repo
repo = Repo(session_factory(make_engine(sys.argv[1])))
with repo.processing_lock(sys.argv[2]) as mine:
    print("held" if mine else "busy", flush=True)
    time.sleep(600)
"""


def test_processing_lock_is_exclusive_and_dies_with_its_process(two_repos: tuple[Repo, Repo],
                                                               database_url: str) -> None:
    one, two = two_repos
    sid, _ = one.create_session(CASE, "senior", 20, "practice", {})
    with one.processing_lock(sid) as mine, two.processing_lock(sid) as theirs:
        assert mine and not theirs
    with two.processing_lock(sid) as again:
        assert again, "released when the holder left its block"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, database_url, sid], cwd=PROJECT_ROOT,
                              env={**os.environ}, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with one.processing_lock(sid) as mine:
            assert not mine, "another process holds it"
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=10)
        deadline = time.time() + 10
        while True:
            with one.processing_lock(sid) as mine:
                if mine:
                    break
            assert time.time() < deadline, "the lock outlived the killed process"
            time.sleep(0.1)
    finally:
        if holder.poll() is None:
            holder.kill()


def test_database_urls() -> None:
    assert normalise_url("postgres://u:p@db:5432/m") == "postgresql+psycopg://u:p@db:5432/m"
    assert normalise_url("postgresql://u@db/m") == "postgresql+psycopg://u@db/m"
    with pytest.raises(StoreError, match="unsupported database URL 'mysql'"):
        make_engine("mysql://u@db/m")


def test_session_locks_recover_when_the_lock_connection_breaks(postgres_server: PostgresServer) -> None:
    """Postgres (always, whichever database the suite runs on): one connection holds a process's locks."""
    import psycopg

    url = postgres_server.create_database()
    engines = [make_engine(url) for _ in range(2)]
    migrate(engines[0])
    one, two = Repo(session_factory(engines[0])), Repo(session_factory(engines[1]))
    try:
        sid, _ = one.create_session(CASE, "senior", 20, "practice", {})
        with one.processing_lock(sid) as mine:
            assert mine
            with psycopg.connect(host="127.0.0.1", port=postgres_server.port, user="postgres", dbname="postgres",
                                 autocommit=True) as admin:  # the server drops the lock connection
                killed = admin.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_locks "
                                       "WHERE locktype = 'advisory'").fetchone()
            assert killed == (1,)
            with two.processing_lock(sid) as theirs:
                assert theirs  # the lock died with its connection, so another process may take over
        with one.processing_lock(sid) as again:  # the release above found the connection gone: no error
            assert again  # a fresh lock connection, and the lock is free again
            with two.processing_lock(sid) as theirs:
                assert not theirs
    finally:
        for repo, engine in zip((one, two), engines, strict=True):
            repo.locks.close()
            engine.dispose()
