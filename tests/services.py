"""Real backing services for tests: a throwaway PostgreSQL, a `chroma run` server, uvicorn replicas.

The database every service test uses comes from one place, the ``database_url`` fixture:
SQLite in the test's tmp dir by default, a fresh Postgres database per test when
``MOCKROUND_TEST_DATABASE=postgres``. A service that cannot start fails the test (never a skip).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from benchmarks.servers import free_port, stop_process
from service.settings import PROJECT_ROOT

POSTGRES_SCRIPT = PROJECT_ROOT / "scripts" / "postgres.sh"
CHROMA = Path(sys.executable).with_name("chroma")
DATABASES = ("sqlite", "postgres")


def selected_database() -> str:
    """Which database the service tests run on (``MOCKROUND_TEST_DATABASE``, default sqlite)."""
    kind = os.environ.get("MOCKROUND_TEST_DATABASE", "").strip().lower() or "sqlite"
    if kind not in DATABASES:
        raise RuntimeError(f"MOCKROUND_TEST_DATABASE={kind!r}: use one of {', '.join(DATABASES)}")
    return kind


class PostgresServer:
    """A cluster started by scripts/postgres.sh in a fresh directory under /tmp."""

    def __init__(self) -> None:
        # not pytest's tmp dir: its 0700 parents would keep the `postgres` user out
        self.dir = Path(tempfile.mkdtemp(prefix="mockround-pg-"))
        self.port = free_port()

    def _script(self, *args: str) -> str:
        done = subprocess.run(["bash", str(POSTGRES_SCRIPT), *args], capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"scripts/postgres.sh {' '.join(args)} failed:\n{done.stderr[-2000:]}")
        return done.stdout.strip()

    def start(self) -> PostgresServer:
        self._script("start", str(self.dir), str(self.port))
        return self

    def url(self, database: str = "postgres") -> str:
        return self._script("url", str(self.dir), database)

    def create_database(self) -> str:
        """A new, empty database; its SQLAlchemy URL."""
        name = "t_" + uuid.uuid4().hex[:16]
        with psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres",
                             autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        try:
            self._script("stop", str(self.dir), "immediate")  # throwaway: skip the shutdown checkpoint
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


class ChromaServer:
    """``chroma run`` from the chromadb package, on 127.0.0.1, persisting into ``path``."""

    def __init__(self, path: Path) -> None:
        self.path, self.port = path, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = path.with_suffix(".log")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 90) -> ChromaServer:
        if not CHROMA.exists():
            raise RuntimeError(f"{CHROMA} is missing; install the project (make install)")
        env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen([str(CHROMA), "run", "--path", str(self.path), "--host", "127.0.0.1",
                                          "--port", str(self.port)], stdout=log, stderr=subprocess.STDOUT, env=env)
        wait_http(f"{self.url}/api/v2/heartbeat", self.proc, timeout, self.log)
        return self

    def stop(self) -> None:
        stop_process(self.proc)


def wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float, log: Path) -> None:
    """Poll ``url`` until it answers 200; fail with the log's tail if the process dies or time runs out."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode}:\n{tail(log)}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    stop_process(proc)
    raise RuntimeError(f"{url} did not become ready in {timeout:.0f}s:\n{tail(log)}")


def tail(log: Path, chars: int = 3000) -> str:
    return log.read_text(errors="replace")[-chars:] if log.exists() else "(no log)"


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
