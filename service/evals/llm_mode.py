"""Which model the eval suites use: none (offline), a live endpoint, a recorded one, or cassettes.

``--llm offline`` keeps the deterministic engine. ``--llm openai`` builds the usual
``OpenAIChatModel`` over an ``openai`` client wrapped by ``RecordingClient`` (which adds up
the usage the server reports); ``--record`` also writes every exchange to the cassette dir;
``--replay`` points the client at a ``FakeOpenAI`` that serves the cassettes, and any
request without one fails the run (``EvalLLM.check``, called after every suite), because the
judge's and the phraser's fall-back to offline would otherwise hide it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openai

from service.errors import ConfigError, InvalidInputError
from service.interview.factory import runtime
from service.interview.knowledge import Knowledge
from service.llm.base import ChatModel
from service.llm.cassette import CassetteStore, RecordingClient, ReplayResponder
from service.llm.fake_server import FakeOpenAI
from service.settings import PROJECT_ROOT, Settings

DEFAULT_CASSETTES = PROJECT_ROOT / "evals" / "cassettes"
LLM_MODES = ("offline", "openai")


@dataclass
class EvalLLM:
    llm: str = "offline"
    cassettes: str | None = None  # record | replay
    cassette_dir: Path | None = None
    model: ChatModel | None = None
    client: RecordingClient | None = None
    responder: ReplayResponder | None = None

    def check(self) -> None:
        """Fail hard on replay misses (raises ``CassetteMiss``)."""
        if self.responder is not None:
            self.responder.check()

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"llm": self.llm, "model": self.model.name if self.model else "offline",
                               "cassettes": self.cassettes}
        if self.cassette_dir and self.cassettes:
            out["cassette_dir"] = str(self.cassette_dir)
        if self.client is not None:
            out["server_usage"] = dict(self.client.server_usage)
            if self.cassettes == "record":
                out["recorded"] = self.client.recorded
        if self.responder is not None:
            out["replayed"] = sum(self.responder.served.values())
            out["misses"] = len(self.responder.misses)
        return out


    def write_manifest(self, suites: list[str], limit: int | None) -> None:
        """After a recording: what was recorded, so a replay can ask for the same requests."""
        if self.cassettes != "record" or self.cassette_dir is None or self.client is None:
            return
        store = CassetteStore(self.cassette_dir)
        data = {"model": self.model.name if self.model else None, "suites": suites, "limit": limit,
                "calls": self.client.recorded, "cassettes": len(store.keys()),
                "server_usage": self.client.server_usage}
        self.cassette_dir.mkdir(parents=True, exist_ok=True)
        (self.cassette_dir / "manifest.json").write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")


def check_flags(llm: str, record: bool, replay: bool) -> None:
    if llm not in LLM_MODES:
        raise InvalidInputError(f"--llm must be one of {', '.join(LLM_MODES)}, not {llm!r}")
    if record and replay:
        raise InvalidInputError("--record and --replay exclude each other: record live calls, or replay them")
    if (record or replay) and llm != "openai":
        raise InvalidInputError("--record and --replay need --llm openai (offline runs call no model)")


def _client(settings: Settings, base_url: str | None, key: str | None) -> openai.OpenAI:
    return openai.OpenAI(api_key=key or "not-set", base_url=base_url, timeout=settings.llm_timeout, max_retries=0)


@contextmanager
def eval_llm(settings: Settings, llm: str = "offline", record: bool = False, replay: bool = False,
             cassette_dir: Path | None = None, model_name: str | None = None,
             with_retriever: bool = True) -> Iterator[tuple[Knowledge, EvalLLM]]:
    """Knowledge (with the LLM judge when a model is used) and the model set-up for one eval run."""
    check_flags(llm, record, replay)
    if llm == "offline":
        kb, _ = runtime(settings.model_copy(update={"llm": "offline"}), with_retriever=with_retriever)
        yield kb, EvalLLM()
        return
    updates: dict[str, Any] = {"llm": "openai"}
    if model_name:
        updates["llm_model"] = model_name
    settings = settings.model_copy(update=updates)
    directory = Path(cassette_dir or DEFAULT_CASSETTES)
    server: FakeOpenAI | None = None
    responder: ReplayResponder | None = None
    if replay:
        if not CassetteStore(directory).keys():
            raise ConfigError(f"--replay: no cassettes in {directory} (record them with --record)")
        responder = ReplayResponder(CassetteStore(directory))
        server = FakeOpenAI()
        server.responder = responder
        server.start()
        inner = _client(settings, server.base_url, "replay")
    else:
        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
        if not key and not settings.openai_base_url:
            raise ConfigError("--llm openai needs OPENAI_BASE_URL (an OpenAI-compatible endpoint) or OPENAI_API_KEY")
        inner = _client(settings, settings.openai_base_url, key)
    try:
        client = RecordingClient(inner, CassetteStore(directory) if record else None)
        kb, model = runtime(settings, client, with_retriever=with_retriever)
        mode = "record" if record else "replay" if replay else None
        yield kb, EvalLLM("openai", mode, directory, model, client, responder)
    finally:
        if server is not None:
            server.stop()
