"""Database engine, migrations (Alembic) and sessions. SQLite in WAL mode by default, or Postgres."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

from service.errors import StoreError
from service.store.locks import advisory_key

MIGRATIONS = Path(__file__).with_name("migrations")


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def normalise_url(url: str) -> str:
    """``postgres://`` and ``postgresql://`` mean the psycopg 3 driver (the one we ship)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def make_engine(url: str) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite://"):
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 5})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if not url.startswith("postgresql+psycopg://"):
        raise StoreError(f"unsupported database URL {url.split('://')[0]!r}: use sqlite:/// or "
                         "postgresql+psycopg://user:password@host:port/dbname")
    try:
        # a processing worker holds one connection per active session (its advisory lock)
        return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, pool_timeout=15,
                             connect_args={"connect_timeout": 10})
    except Exception as exc:  # a malformed URL
        raise StoreError(f"bad database URL: {exc}") from exc


@contextmanager
def _sqlite_file_lock(engine: Engine) -> Iterator[None]:
    """Serialise migrations of one SQLite file across processes (flock dies with its holder)."""
    database = engine.url.database
    if not database or database == ":memory:":
        yield
        return
    fd = os.open(f"{database}.migrate.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (idempotent).

    Replicas starting together on one database take turns: Postgres through a transaction-level
    advisory lock, SQLite through a lock file; the later ones find the schema at head.
    """
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    try:
        with ExitStack() as stack:
            if engine.dialect.name == "sqlite":
                stack.enter_context(_sqlite_file_lock(engine))
            conn = stack.enter_context(engine.begin())
            if engine.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": advisory_key("migrations")})
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    except Exception as exc:
        raise StoreError(f"database migration failed: {exc}") from exc


def ping(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
