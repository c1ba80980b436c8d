"""Faults around a running service: model errors, a locked database, a missing or broken index.

Each test checks the three promises: a clear error, /readyz tells the truth, and nothing is
half-written — then that the session recovers when the dependency comes back.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.api.protocol import SERVER
from service.api.runtime import RETRY_SECONDS
from service.llm.fake_server import FakeOpenAI, default_responder
from service.retrieval.ingest import ingest
from service.settings import Settings
from tests.conftest import copy_mini_corpus, make_settings

CASE = "clickstream-analytics"
ANSWER = "We ingest page views and clicks from web and mobile into a durable log, then sessionise them."


def drive(ws: Any, until: str, limit: int = 300) -> list[dict[str, Any]]:
    events = []
    for _ in range(limit):
        event = json.loads(ws.receive_text())
        SERVER.validate_python(event)
        events.append(event)
        if event["type"] == until:
            return events
    raise AssertionError(f"no {until} event in {events}")


def start_session(client: TestClient) -> tuple[str, str]:
    res = client.post("/v1/sessions", json={"case_id": CASE, "level": "senior", "minutes": 30})
    assert res.status_code == 201, res.text
    return res.json()["session_id"], res.json()["token"]


def candidate_turns(client: TestClient, sid: str, token: str) -> list[dict[str, Any]]:
    turns = client.get(f"/v1/sessions/{sid}/transcript", headers={"Authorization": f"Bearer {token}"}).json()["turns"]
    return [t for t in turns if t["role"] == "candidate"]


@pytest.fixture
def offline_client(full_settings: Settings, tmp_path: Path) -> Iterator[TestClient]:
    settings = full_settings.model_copy(update={"database_url": f"sqlite:///{tmp_path / 'f.db'}",
                                                "ws_max_messages_per_second": 50.0})
    with TestClient(create_app(settings)) as client:
        yield client


# ---- the model -----------------------------------------------------------------------------
def faulty(fault: str) -> Any:
    """Judge calls (JSON schema) and phrasing calls (streamed text) fail the way ``fault`` says."""
    def respond(body: dict[str, Any]) -> dict[str, Any]:
        if "response_format" in body:
            return {"fault": fault, "json": {"verdicts": []}}
        if fault == "malformed":  # bad JSON only matters to the judge
            return default_responder(body)
        return {"fault": fault, "text": "Let me push on that design a little further. " * 6}
    return respond


@pytest.mark.allow_model_requests
@pytest.mark.parametrize("fault", ["429", "500", "timeout", "drop", "malformed"])
def test_model_faults_fall_back_to_offline_for_that_turn(full_settings: Settings, tmp_path: Path,
                                                         fault: str) -> None:
    with FakeOpenAI() as fake:
        fake.timeout_seconds = 2.0
        settings = full_settings.model_copy(update={
            "database_url": f"sqlite:///{tmp_path / 'm.db'}", "llm": "openai", "llm_timeout": 0.5,
            "llm_max_retries": 1, "llm_backoff": 0.01})
        client_ = openai.OpenAI(api_key="test", base_url=fake.base_url, timeout=0.5, max_retries=0)
        with TestClient(create_app(settings, llm_client=client_)) as client:
            sid, token = start_session(client)
            with client.websocket_connect(f"/v1/sessions/{sid}/ws?token={token}") as ws:
                drive(ws, "phase")
                fake.responder = faulty(fault)  # every attempt during this turn fails
                ws.send_text(json.dumps({"type": "answer", "client_id": "a1", "text": ANSWER}))
                done = drive(ws, "interviewer_done")[-1]
                fake.responder = default_responder
                ws.send_text(json.dumps({"type": "answer", "client_id": "a2", "text": "Events carry a client id."}))
                assert drive(ws, "interviewer_done")[-1]["text"]  # the session lives on, model back
            turns = client.get(f"/v1/sessions/{sid}/transcript",
                               headers={"Authorization": f"Bearer {token}"}).json()["turns"]
    assert [t["text"] for t in turns if t["role"] == "candidate"] == [ANSWER, "Events carry a client id."]
    reply = next(t for t in turns if t["role"] == "interviewer" and t["index"] == done["turn"])
    answer = next(t for t in turns if t["role"] == "candidate")
    if fault != "malformed":  # the phrasing fell back: offline text, and the transcript says why
        assert done["fallback"] and reply["model"] == "offline" and reply["fallback"] and reply["text"]
    if fault != "drop":  # the judge fell back to the offline grader for this answer
        assert answer["fallback"] and {v["source"] for v in answer["verdicts"]} == {"llm_fallback"}


# ---- the database --------------------------------------------------------------------------
def hold_write_lock(db: Path, seconds: float, taken: threading.Event) -> None:
    conn = sqlite3.connect(db, timeout=10, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    taken.set()
    time.sleep(seconds)
    conn.execute("ROLLBACK")
    conn.close()


def test_briefly_locked_database_only_delays_the_turn(offline_client: TestClient, tmp_path: Path) -> None:
    sid, token = start_session(offline_client)
    taken = threading.Event()
    locker = threading.Thread(target=hold_write_lock, args=(tmp_path / "f.db", 1.0, taken))
    with offline_client.websocket_connect(f"/v1/sessions/{sid}/ws?token={token}") as ws:
        drive(ws, "phase")
        locker.start()
        taken.wait(5)
        started = time.monotonic()
        ws.send_text(json.dumps({"type": "answer", "client_id": "a1", "text": ANSWER}))
        events = drive(ws, "interviewer_done")
    locker.join()
    assert time.monotonic() - started >= 0.5  # it waited for the lock instead of failing
    assert not [e for e in events if e["type"] == "error"]
    assert [t["text"] for t in candidate_turns(offline_client, sid, token)] == [ANSWER]


def test_locked_database_errors_clearly_then_recovers(offline_client: TestClient, tmp_path: Path) -> None:
    sid, token = start_session(offline_client)
    before = offline_client.get(f"/v1/sessions/{sid}/events", headers={"Authorization": f"Bearer {token}"}).json()
    taken = threading.Event()
    locker = threading.Thread(target=hold_write_lock, args=(tmp_path / "f.db", 12.0, taken))  # > 2 busy timeouts
    with offline_client.websocket_connect(f"/v1/sessions/{sid}/ws?token={token}") as ws:
        drive(ws, "phase")
        locker.start()
        taken.wait(5)
        ready = offline_client.get("/readyz")
        assert ready.status_code == 503 and "locked" in ready.json()["checks"]["database"]
        ws.send_text(json.dumps({"type": "answer", "client_id": "a1", "text": ANSWER}))
        error = drive(ws, "error")[-1]
        assert error["code"] == "store_error" and "locked" in error["message"] and error["seq"] is None
        locker.join()
        assert offline_client.get("/readyz").status_code == 200
        after = offline_client.get(f"/v1/sessions/{sid}/events", headers={"Authorization": f"Bearer {token}"})
        assert after.json() == before  # nothing was half-written
        ws.send_text(json.dumps({"type": "answer", "client_id": "a1", "text": ANSWER}))  # never acked: resend
        events = drive(ws, "interviewer_done")
    assert events[0]["type"] == "ack" and events[0]["duplicate"] is False
    assert [t["text"] for t in candidate_turns(offline_client, sid, token)] == [ANSWER]


def test_unusable_database_at_startup_recovers(full_settings: Settings, tmp_path: Path) -> None:
    blocker = tmp_path / "db-is-a-dir"
    blocker.mkdir()  # sqlite cannot open a directory as its database file
    settings = full_settings.model_copy(update={"database_url": f"sqlite:///{blocker}"})
    with TestClient(create_app(settings)) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["checks"]["database"].startswith("unavailable")
        res = client.post("/v1/sessions", json={"case_id": CASE})
        assert res.status_code == 503 and "database" in res.json()["detail"]
        blocker.rmdir()
        time.sleep(RETRY_SECONDS + 0.1)
        assert client.get("/readyz").status_code == 200
        assert client.post("/v1/sessions", json={"case_id": CASE}).status_code == 201


# ---- the index -----------------------------------------------------------------------------
class BrokenCollection:
    """Stands in for a Chroma collection whose server went away."""

    def __getattr__(self, name: str) -> Any:
        def fail(*_: Any, **__: Any) -> Any:
            raise ConnectionError("chroma server at 127.0.0.1:8001 refused the connection")
        return fail


def answer_during_outage(client: TestClient, sid: str, token: str, until: str) -> list[dict[str, Any]]:
    """With the Chroma collection refusing every call: /readyz says so, then one answer is sent."""
    index = client.app.state.runtime.kb.retriever.index  # type: ignore[attr-defined]
    healthy, index.collection = index.collection, BrokenCollection()
    try:
        ready = client.get("/readyz")
        assert ready.status_code == 503 and "refused" in ready.json()["checks"]["index"]
        with client.websocket_connect(f"/v1/sessions/{sid}/ws?token={token}") as ws:
            drive(ws, "phase")
            ws.send_text(json.dumps({"type": "answer", "client_id": "a1", "text": ANSWER}))
            return drive(ws, until)
    finally:
        index.collection = healthy


def test_index_outage_mid_session_then_recovery(offline_client: TestClient) -> None:
    """Above EXACT_MAX chunks dense search asks Chroma: an outage stops the turn cleanly."""
    rt = offline_client.app.state.runtime  # type: ignore[attr-defined]
    exact, rt.kb.retriever.dense = rt.kb.retriever.dense, None  # as for a corpus above EXACT_MAX
    sid, token = start_session(offline_client)
    try:
        events = answer_during_outage(offline_client, sid, token, until="error")
        assert events[0]["type"] == "ack" and events[-1]["code"] == "index_error"
        assert not [e for e in events if e["type"] == "interviewer_done"]  # no half-done turn
        assert rt.service.load(sid)[1] == 1  # the stored state did not move
    finally:
        rt.kb.retriever.dense = exact
    assert offline_client.get("/readyz").status_code == 200
    last = max(e["seq"] for e in events)
    with offline_client.websocket_connect(f"/v1/sessions/{sid}/ws?token={token}&last_seq={last}") as ws:
        done = drive(ws, "interviewer_done")[-1]  # the saved answer is processed on reconnect
    assert done["turn"] == 2 and done["text"]
    assert [t["text"] for t in candidate_turns(offline_client, sid, token)] == [ANSWER]


def test_index_outage_with_vectors_in_memory_keeps_interviews_going(offline_client: TestClient) -> None:
    """Up to EXACT_MAX chunks the retriever searches the vectors it loaded: turns go on, /readyz warns."""
    rt = offline_client.app.state.runtime  # type: ignore[attr-defined]
    assert rt.kb.retriever.dense is not None
    sid, token = start_session(offline_client)
    events = answer_during_outage(offline_client, sid, token, until="interviewer_done")
    assert events[0]["type"] == "ack" and not [e for e in events if e["type"] == "error"]
    assert offline_client.get("/readyz").status_code == 200


def test_missing_index_at_startup_then_ingest_recovers(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", copy_mini_corpus(tmp_path / "corpus"))
    with TestClient(create_app(settings)) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 503 and "mockround ingest" in ready.json()["checks"]["index"]
        res = client.post("/v1/sessions", json={"case_id": CASE})
        assert res.status_code == 503 and "ingest" in res.json()["detail"]
        ingest(settings)
        time.sleep(RETRY_SECONDS + 0.1)
        assert client.get("/readyz").status_code == 200
        assert client.post("/v1/sessions", json={"case_id": CASE}).status_code == 201
