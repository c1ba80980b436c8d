"""Process-wide runtime for the API: knowledge, store and session service (built at startup)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from service.api.metrics import Metrics
from service.errors import MockroundError, SearchIndexError
from service.interview.factory import runtime as build_runtime
from service.interview.knowledge import Knowledge
from service.interview.sessions import SessionService
from service.llm.tokens import seed_tiktoken_cache
from service.settings import Settings
from service.store.db import make_engine, migrate, ping, session_factory
from service.store.repo import Repo


@dataclass
class Runtime:
    settings: Settings
    metrics: Metrics = field(default_factory=Metrics)
    kb: Knowledge | None = None
    repo: Repo | None = None
    service: SessionService | None = None
    engine: Any = None
    startup_error: str | None = None

    def start(self, llm_client: Any = None) -> None:
        seed_tiktoken_cache(self.settings.tiktoken_dir)
        self.engine = make_engine(self.settings.db_url)
        migrate(self.engine)
        self.repo = Repo(session_factory(self.engine))
        try:
            self.kb, model = build_runtime(self.settings, llm_client)
            self.service = SessionService(self.kb, self.repo, model, on_turn=self.observe_turn)
        except MockroundError as exc:
            self.startup_error = str(exc)

    def observe_turn(self, turn: Any) -> None:
        """Model tokens and latency per interviewer turn, and fallbacks by type."""
        if turn.model != "offline":
            self.metrics.inc("mockround_llm_prompt_tokens_total", turn.prompt_tokens)
            self.metrics.inc("mockround_llm_completion_tokens_total", turn.completion_tokens)
            self.metrics.observe("mockround_llm_turn_seconds", turn.latency_ms / 1000)
        if turn.fallback:
            self.metrics.inc("mockround_errors_total", type="model_fallback")

    def require(self) -> SessionService:
        if self.service is None:
            raise SearchIndexError(self.startup_error or "service is starting")
        return self.service

    def readiness(self) -> dict[str, str]:
        checks = {"database": "ok", "index": "ok"}
        try:
            ping(self.engine)
        except Exception as exc:  # readiness reports, never raises
            checks["database"] = f"unavailable: {str(exc)[:120]}"
        if self.kb is None or self.kb.retriever is None:
            checks["index"] = f"unavailable: {self.startup_error or 'not loaded'}"
        else:
            try:
                self.kb.retriever.index.collection.count()
            except Exception as exc:
                checks["index"] = f"unavailable: {str(exc)[:120]}"
        return checks

    def stop(self) -> None:
        if self.engine is not None:
            self.engine.dispose()
