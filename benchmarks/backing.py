"""Real backing services on 127.0.0.1: a throwaway PostgreSQL (scripts/postgres.sh) and ``chroma run``.

Used by the tests (tests/services.py) and by the scale-out benchmark; nothing is mocked and
nothing is downloaded (Debian's postgresql package, the chromadb package's own server).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import psycopg

from benchmarks.servers import free_port, stop_process, tail, wait_http
from service.settings import PROJECT_ROOT

__all__ = ["CHROMA", "ChromaServer", "PostgresServer", "tail", "wait_http"]
POSTGRES_SCRIPT = PROJECT_ROOT / "scripts" / "postgres.sh"
CHROMA = Path(sys.executable).with_name("chroma")


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
