"""Shared fixtures: isolated settings, a seeded tiktoken cache, small and full indexes."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from service.llm.tokens import seed_tiktoken_cache
from service.settings import PROJECT_ROOT, Settings
from tests.services import chroma_server, database_url, postgres_server  # noqa: F401  (fixtures)

CORPUS = PROJECT_ROOT / "corpus"
MINI_FILES = ["framework", "cases/clickstream-analytics.yaml", "reference/patterns-cdc.md"]


@pytest.fixture(scope="session", autouse=True)
def _tiktoken(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return seed_tiktoken_cache(tmp_path_factory.mktemp("tiktoken"))


def make_settings(data_dir: Path, corpus_dir: Path = CORPUS, **kw: object) -> Settings:
    kw.setdefault("warm_start", False)  # tests that need it turn it on (test_warm_start.py)
    return Settings(data_dir=data_dir, corpus_dir=corpus_dir, _env_file=None, **kw)  # type: ignore[call-arg]


def copy_mini_corpus(dest: Path) -> Path:
    """A small but real corpus: the framework, one case and one reference note."""
    for rel in MINI_FILES:
        src = CORPUS / rel
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, target)
        else:
            shutil.copy(src, target)
    (dest / "cases").mkdir(exist_ok=True)
    (dest / "reference").mkdir(exist_ok=True)
    return dest


@pytest.fixture
def mini_settings(tmp_path: Path) -> Settings:
    corpus = copy_mini_corpus(tmp_path / "corpus")
    return make_settings(tmp_path / "data", corpus)


@pytest.fixture(scope="session")
def full_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings over the whole bundled corpus, ingested once per test session."""
    from service.retrieval.ingest import ingest

    # Developers may keep the full index between runs (incremental re-ingest takes ~2 s);
    # `make test` points MOCKROUND_TEST_INDEX_CACHE at a fresh temp dir (ingested from scratch
    # once, reused by its second, Postgres run); unset, each pytest run ingests into a tmp dir.
    cached = os.environ.get("MOCKROUND_TEST_INDEX_CACHE")
    settings = make_settings(Path(cached) if cached else tmp_path_factory.mktemp("full-index"))
    ingest(settings)
    return settings


@pytest.fixture(scope="session")
def full_retriever(full_settings: Settings):  # type: ignore[no-untyped-def]
    from service.retrieval.index import open_index
    from service.retrieval.search import Retriever

    return Retriever(open_index(full_settings))


@pytest.fixture(autouse=True)
def _block_model_requests(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may call a real model unless marked to talk to the local fake server."""
    from service.llm import base

    allowed = request.node.get_closest_marker("allow_model_requests") is not None
    monkeypatch.setattr(base, "ALLOW_MODEL_REQUESTS", allowed)
