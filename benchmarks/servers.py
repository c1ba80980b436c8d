"""Real servers on 127.0.0.1 for the benchmarks: our app under uvicorn and a fake model server.

Both run as subprocesses so their CPU and event loops are separate from the measuring client.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from benchmarks.report import RESULTS
from service.llm.tokens import seed_tiktoken_cache
from service.settings import PROJECT_ROOT, Settings

DATA_DIR = RESULTS / "data"  # the benchmark's own index (git-ignored); MOCKROUND_BENCH_DATA_DIR overrides


class BenchError(RuntimeError):
    """A benchmark could not set up its servers or data."""


def data_dir() -> Path:
    return Path(os.environ.get("MOCKROUND_BENCH_DATA_DIR") or DATA_DIR)


def bench_settings(folder: Path | None = None) -> Settings:
    settings = Settings(data_dir=folder or data_dir(), _env_file=None)  # type: ignore[call-arg]
    seed_tiktoken_cache(settings.tiktoken_dir)
    return settings


def ensure_index(settings: Settings) -> float:
    """Ingest the bundled corpus into the benchmark's data dir (incremental); seconds taken."""
    from service.retrieval.ingest import ingest

    return ingest(settings).seconds


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_kb(pid: int) -> int:
    """Resident set size of a process in KiB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise BenchError(f"no VmRSS for pid {pid}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stop_process(proc: subprocess.Popen[bytes] | None) -> None:
    """Terminate a child process, kill it if it has not gone within 15 s (also used by tests/services.py)."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


@contextmanager
def fake_model(ttft: float, chunks_per_second: float, chunk_chars: int = 8) -> Iterator[str]:
    """A FakeOpenAI server in its own process; yields its base URL (…/v1)."""
    cmd = [sys.executable, "-m", "benchmarks.fake_llm", "--ttft", str(ttft), "--rate", str(chunks_per_second),
           "--chunk-chars", str(chunk_chars)]
    proc = subprocess.Popen(cmd, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        line = proc.stdout.readline().decode().strip() if proc.stdout else ""
        if not line.isdigit():
            err = proc.stderr.read().decode()[-1500:] if proc.stderr and proc.poll() is not None else ""
            raise BenchError(f"fake model server did not start: {line!r} {err}")
        yield f"http://127.0.0.1:{line}/v1"
    finally:
        stop_process(proc)


@contextmanager
def app_server(settings: Settings, db: Path, model_url: str | None, timeout: float = 180,
               database_url: str | None = None, extra_env: dict[str, str] | None = None) -> Iterator[tuple[str, int]]:
    """``uvicorn service.api.app:create_app`` on a free port; yields (base URL, pid).

    The database is the SQLite file ``db`` unless ``database_url`` is given (then ``db`` only
    names the log file, ``<db>.log``); ``extra_env`` adds settings (e.g. MOCKROUND_CHROMA_URL).
    """
    port = free_port()
    env = {**os.environ, "MOCKROUND_DATA_DIR": str(settings.data_dir),
           "MOCKROUND_DATABASE_URL": database_url or f"sqlite:///{db}",
           "MOCKROUND_LLM": "openai" if model_url else "offline", "MOCKROUND_ALLOW_MODEL_REQUESTS": "1",
           **(extra_env or {})}
    if model_url:
        env |= {"OPENAI_BASE_URL": model_url, "OPENAI_API_KEY": "benchmark-fake-key"}
    log = db.with_suffix(".log")
    with open(log, "wb") as err:
        proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "service.api.app:create_app", "--factory",
                                 "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
                                 "--no-access-log"], cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL,
                                stderr=err)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_http(f"{base}/readyz", proc, timeout, log, ready=warmed_up)
        yield base, proc.pid
    finally:
        stop_process(proc)


def wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float, log: Path,
              ready: Callable[[httpx.Response], bool] = lambda r: r.status_code == 200) -> None:
    """Poll ``url`` until ``ready`` accepts the answer (default: 200); fail with the log's tail
    if the process dies or time runs out (also used by benchmarks/backing.py and the tests)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"{proc.args[0]} exited with {proc.returncode}:\n{tail(log)}")
        try:
            if ready(httpx.get(url, timeout=2)):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    stop_process(proc)
    raise BenchError(f"{url} did not become ready in {timeout:.0f}s:\n{tail(log)}")


def warmed_up(response: httpx.Response) -> bool:
    """Ready, and the warm start finished: measured as a long-running server is."""
    return response.status_code == 200 and response.json().get("warm") in ("done", "off")


def tail(log: Path, chars: int = 3000) -> str:
    return log.read_text(errors="replace")[-chars:] if log.exists() else "(no log)"
