"""Process-wide runtime for the API: knowledge, store and session service (built at startup)."""

from __future__ import annotations

import gc
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text

from service.api.metrics import Metrics
from service.errors import MockroundError, SearchIndexError, StoreError
from service.interview.factory import runtime as build_runtime
from service.interview.knowledge import Knowledge
from service.interview.sessions import SessionService
from service.llm.tokens import seed_tiktoken_cache
from service.settings import Settings
from service.store.db import make_engine, migrate, session_factory
from service.store.repo import Repo

RETRY_SECONDS = 2.0
PROBE_TIMEOUT = 0.25


def probe_writable(engine: Any) -> None:
    """SELECT 1, and on SQLite also take the write lock briefly: WAL readers never see a lock."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        raw = sqlite3.connect(engine.url.database, timeout=PROBE_TIMEOUT, isolation_level=None)
        try:
            raw.execute("BEGIN IMMEDIATE")
            raw.execute("ROLLBACK")
        except sqlite3.OperationalError as exc:
            raise StoreError(f"database is not writable: {exc}") from exc
        finally:
            raw.close()



@dataclass
class Runtime:
    """Starts even when the database or index is down; retries on use until they are back."""

    settings: Settings
    metrics: Metrics = field(default_factory=Metrics)
    kb: Knowledge | None = None
    repo: Repo | None = None
    service: SessionService | None = None
    engine: Any = None
    startup_error: str | None = None
    startup_kind: type[MockroundError] = SearchIndexError
    warm: str = "off"  # off | running | done | failed: ...
    llm_client: Any = None
    last_attempt: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self, llm_client: Any = None) -> None:
        seed_tiktoken_cache(self.settings.tiktoken_dir)
        self.llm_client = llm_client
        self.engine = make_engine(self.settings.db_url)
        self.attempt()

    def attempt(self) -> None:
        """Migrate the database and load the knowledge; what fails is retried later."""
        with self.lock:
            if self.service is not None:
                return
            self.last_attempt = time.monotonic()
            try:
                if self.repo is None:
                    migrate(self.engine)
                    self.repo = Repo(session_factory(self.engine))
                self.kb, model = build_runtime(self.settings, self.llm_client)
                self.service = SessionService(self.kb, self.repo, model, on_turn=self.observe_turn)
                self.startup_error = None
            except MockroundError as exc:
                self.startup_error, self.startup_kind = str(exc), type(exc)
                return
        if self.settings.warm_start:
            self.warm = "running"
            threading.Thread(target=self._warm, args=(self.kb,), name="mockround-warm", daemon=True).start()

    def _warm(self, kb: Knowledge) -> None:
        """Embed every rubric item now, then freeze the long-lived heap (turns meanwhile just embed lazily)."""
        try:
            kb.warm()
        except Exception as exc:  # warming is an optimisation: a failure only means lazy embedding
            self.warm = f"failed: {str(exc)[:160]}"
            return
        gc.freeze()  # corpus, index and vectors: a full collection no longer walks them (~50 ms)
        self.warm = "done"

    def observe_turn(self, turn: Any) -> None:
        """Model tokens and latency per interviewer turn, and fallbacks by type."""
        if turn.model != "offline":
            self.metrics.inc("mockround_llm_prompt_tokens_total", turn.prompt_tokens)
            self.metrics.inc("mockround_llm_completion_tokens_total", turn.completion_tokens)
            self.metrics.observe("mockround_llm_turn_seconds", turn.latency_ms / 1000)
        if turn.fallback:
            self.metrics.inc("mockround_errors_total", type="model_fallback")

    def require(self) -> SessionService:
        if self.service is None and time.monotonic() - self.last_attempt >= RETRY_SECONDS:
            self.attempt()
        if self.service is None:
            raise self.startup_kind(self.startup_error or "service is starting")
        return self.service

    def readiness(self) -> dict[str, str]:
        """Each dependency's state; never raises (an edge reports it)."""
        if self.service is None:
            self.require_quietly()
        checks = {"database": "ok", "index": "ok"}
        try:
            probe_writable(self.engine)
        except Exception as exc:
            checks["database"] = f"unavailable: {str(exc)[:160]}"
        if self.kb is None or self.kb.retriever is None:
            checks["index"] = f"unavailable: {self.startup_error or 'not loaded'}"
        else:
            try:
                self.kb.retriever.index.collection.count()
            except Exception as exc:
                checks["index"] = f"unavailable: {str(exc)[:160]}"
        return checks

    def require_quietly(self) -> None:
        try:
            self.require()
        except MockroundError:
            pass

    def stop(self) -> None:
        if self.repo is not None:
            self.repo.locks.close()
        if self.engine is not None:
            self.engine.dispose()
