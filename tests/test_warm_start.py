"""Warm start: the server embeds every rubric item in a background thread and says so on /readyz."""

import gc
import time
from pathlib import Path

from fastapi.testclient import TestClient

from service.api.app import create_app
from service.retrieval.ingest import ingest
from tests.conftest import copy_mini_corpus, make_settings


def test_items_are_embedded_at_start_and_the_heap_frozen(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", copy_mini_corpus(tmp_path / "corpus"), warm_start=True)
    ingest(settings)
    frozen_before = gc.get_freeze_count()
    try:
        with TestClient(create_app(settings)) as client:
            deadline = time.monotonic() + 120
            body = client.get("/readyz").json()
            while body["warm"] == "running" and time.monotonic() < deadline:
                time.sleep(0.1)
                body = client.get("/readyz").json()
            assert body["ready"] is True and body["warm"] == "done", body
            kb = client.app.state.runtime.kb  # type: ignore[attr-defined]
            grader = getattr(kb.grader, "offline", kb.grader)
            assert {key[0] for key in grader._item_vecs} == set(kb.items)  # every item, before any turn
            assert gc.get_freeze_count() > frozen_before
    finally:
        gc.unfreeze()


def test_warm_start_off_leaves_items_lazy(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", copy_mini_corpus(tmp_path / "corpus"))
    ingest(settings)
    with TestClient(create_app(settings)) as client:
        body = client.get("/readyz").json()
        assert body["ready"] is True and body["warm"] == "off"
        assert client.app.state.runtime.kb.grader._item_vecs == {}  # type: ignore[attr-defined]
