"""Real backing services for tests: a throwaway PostgreSQL, a `chroma run` server, uvicorn replicas.

The database every service test uses comes from one place, the ``database_url`` fixture:
SQLite in the test's tmp dir by default, a fresh Postgres database per test when
``MOCKROUND_TEST_DATABASE=postgres``. A service that cannot start fails the test (never a skip).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from benchmarks.backing import ChromaServer, PostgresServer, tail, wait_http
from benchmarks.servers import free_port, stop_process
from service.settings import PROJECT_ROOT

__all__ = ["ChromaServer", "PostgresServer", "free_port", "stop_process", "tail", "wait_http"]

DATABASES = ("sqlite", "postgres")


def selected_database() -> str:
    """Which database the service tests run on (``MOCKROUND_TEST_DATABASE``, default sqlite)."""
    kind = os.environ.get("MOCKROUND_TEST_DATABASE", "").strip().lower() or "sqlite"
    if kind not in DATABASES:
        raise RuntimeError(f"MOCKROUND_TEST_DATABASE={kind!r}: use one of {', '.join(DATABASES)}")
    return kind


def spawn_service(port: int, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start a real ``uvicorn service.api.app:create_app`` process on 127.0.0.1 (not yet ready)."""
    full_env = {**os.environ, "MOCKROUND_LLM": "offline", "MOCKROUND_WARM_START": "0", **env}
    with open(log, "ab") as out:
        return subprocess.Popen([sys.executable, "-m", "uvicorn", "service.api.app:create_app", "--factory",
                                 "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
                                cwd=PROJECT_ROOT, env=full_env, stdout=out, stderr=subprocess.STDOUT)


def start_service(port: int, env: dict[str, str], log: Path, timeout: float = 120) -> subprocess.Popen[bytes]:
    """A real service process that answers ``/readyz`` with 200."""
    proc = spawn_service(port, env, log)
    wait_http(f"http://127.0.0.1:{port}/readyz", proc, timeout, log)
    return proc


def start_app(settings: Any, db_url: str, port: int, log: Path, **env: str) -> subprocess.Popen[bytes]:
    """``start_service`` over a test's data dir (its index) and database; ``env`` adds settings."""
    return start_service(port, {"MOCKROUND_DATA_DIR": str(settings.data_dir), "MOCKROUND_DATABASE_URL": db_url,
                                **env}, log)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    server = PostgresServer()
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChromaServer]:
    server = ChromaServer(tmp_path_factory.mktemp("chroma-server") / "data")
    try:
        yield server.start()
    finally:
        server.stop()


def make_database_url(request: pytest.FixtureRequest, directory: Path) -> str:
    """A new empty database of the selected kind (SQLite files go into ``directory``)."""
    if selected_database() == "postgres":
        server: PostgresServer = request.getfixturevalue("postgres_server")
        return server.create_database()
    return f"sqlite:///{directory / 'service.db'}"


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The one place service tests get their database from (see the module docstring)."""
    return make_database_url(request, tmp_path)
