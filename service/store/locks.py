"""Per-session processing locks that work across processes and die with their holder.

Only one worker (in any replica) may process a session's pending messages at a time; the
others relay what it stores. The lock must vanish when its holder crashes, so a restarted or
different replica can take over at once:

- Postgres: a session-level advisory lock, taken on the one connection per process that holds
  all of that process's session locks (``AdvisoryLocks``); the server drops them when that
  connection (or the process owning it) goes away.
- SQLite: ``flock`` on a per-session file next to the database; the kernel drops it when the
  process dies. flock locks belong to an open file, so two threads of one process exclude
  each other too.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

from service.errors import StoreError

SAFE_ID = re.compile(r"^[A-Za-z0-9_.-]{1,80}$")


def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for pg_advisory_lock."""
    return int.from_bytes(hashlib.sha256(f"mockround:{name}".encode()).digest()[:8], "big", signed=True)


class AdvisoryLocks:
    """Every session lock of this process, held on one Postgres connection.

    A session-level advisory lock lives as long as the connection that took it, so it dies
    with the process. Holding each one on its own pooled connection made the pool the limit
    of how many sessions a replica could process at once (with 100 candidates, most turns
    failed waiting for a connection); one connection holds any number of locks. Postgres lets
    the connection that holds a lock take it again, so ``held`` keeps two threads of this
    process apart. If the connection breaks, its locks are gone: ``generation`` moves on and
    the old holders' releases are skipped (their final writes are still fenced by the
    state's version check).
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.mutex = threading.Lock()
        self.conn: Connection | None = None
        self.held: set[int] = set()
        self.generation = 0

    def _run(self, sql: str, key: int) -> bool:
        if self.conn is None:
            self.conn = self.engine.connect()
            self.generation += 1
            self.held.clear()
        try:
            result = bool(self.conn.execute(text(sql), {"k": key}).scalar())
            self.conn.commit()
            return result
        except SQLAlchemyError:
            self.conn.invalidate()  # closing the physical connection drops every lock it held
            self.conn = None
            raise

    def acquire(self, key: int) -> tuple[bool, int]:
        """(taken, generation); False when another process, or another thread here, holds it."""
        with self.mutex:
            if key in self.held and self.conn is not None:
                return False, self.generation
            try:
                taken = self._run("SELECT pg_try_advisory_lock(:k)", key)
            except SQLAlchemyError as exc:
                raise StoreError(f"database unavailable: {str(exc)[:200]}") from exc
            if taken:
                self.held.add(key)
            return taken, self.generation

    def close(self) -> None:
        """Drop the lock connection (and with it every lock still held): at shutdown."""
        with self.mutex:
            if self.conn is not None:
                self.conn.close()
                self.conn, self.held = None, set()
                self.generation += 1

    def release(self, key: int, generation: int) -> None:
        with self.mutex:
            if generation != self.generation or key not in self.held:
                return  # taken on a connection that has since broken: already released
            self.held.discard(key)
            try:
                self._run("SELECT pg_advisory_unlock(:k)", key)
            except SQLAlchemyError:
                pass  # the broken connection was invalidated, which released the lock


class SessionLocks:
    """try-lock a session for processing; ``with locks.hold(sid) as mine: ...``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        database = engine.url.database if self.dialect == "sqlite" else None
        self.lock_dir = Path(f"{database}.locks") if database and database != ":memory:" else None
        self._local: set[str] = set()
        self._mutex = threading.Lock()
        self._pg = AdvisoryLocks(engine) if self.dialect == "postgresql" else None

    @contextmanager
    def hold(self, session_id: str) -> Iterator[bool]:
        if self.dialect == "postgresql":
            with self._advisory(session_id) as mine:
                yield mine
        elif self.lock_dir is not None:
            with self._flock(session_id) as mine:
                yield mine
        else:
            with self._in_process(session_id) as mine:
                yield mine

    @contextmanager
    def _advisory(self, session_id: str) -> Iterator[bool]:
        key = advisory_key(session_id)
        mine, generation = self._pg.acquire(key)
        try:
            yield mine
        finally:
            if mine:
                self._pg.release(key, generation)

    def lock_path(self, session_id: str) -> Path:
        if not SAFE_ID.match(session_id) or self.lock_dir is None:
            raise StoreError(f"cannot lock session {session_id!r}")
        return self.lock_dir / f"{session_id}.lock"

    @contextmanager
    def _flock(self, session_id: str) -> Iterator[bool]:
        path = self.lock_path(session_id)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise StoreError(f"cannot create the session lock {path}: {exc.strerror}") from exc
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                mine = True
            except BlockingIOError:
                mine = False
            yield mine
        finally:
            os.close(fd)  # releases the lock

    @contextmanager
    def _in_process(self, session_id: str) -> Iterator[bool]:
        with self._mutex:
            mine = session_id not in self._local
            self._local.add(session_id)
        try:
            yield mine
        finally:
            if mine:
                with self._mutex:
                    self._local.discard(session_id)

    def close(self) -> None:
        """Release what this process still holds (Postgres: closes its lock connection)."""
        if self._pg is not None:
            self._pg.close()

    def forget(self, session_id: str) -> None:
        """Remove a deleted session's lock file (SQLite only)."""
        if self.lock_dir is not None and SAFE_ID.match(session_id):
            (self.lock_dir / f"{session_id}.lock").unlink(missing_ok=True)
