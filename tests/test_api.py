"""REST + websocket protocol through FastAPI's TestClient."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from service.api.app import create_app
from service.api.protocol import SERVER
from service.settings import Settings

CASE = "clickstream-analytics"


@pytest.fixture
def client(full_settings: Settings, database_url: str) -> Iterator[TestClient]:
    settings = full_settings.model_copy(update={
        "database_url": database_url, "admin_api_keys": ["admin-secret"],
        "ws_max_message_bytes": 4000, "ws_max_messages_per_second": 50.0})
    with TestClient(create_app(settings)) as c:
        yield c


def create(client: TestClient, mode: str = "practice", minutes: int = 20) -> tuple[str, str]:
    res = client.post("/v1/sessions", json={"case_id": CASE, "level": "senior", "minutes": minutes, "mode": mode})
    assert res.status_code == 201, res.text
    body = res.json()
    return body["session_id"], body["token"]


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def receive_until(ws, kind: str, limit: int = 200) -> list[dict]:  # type: ignore[no-untyped-def]
    events = []
    for _ in range(limit):
        event = json.loads(ws.receive_text())
        SERVER.validate_python(event)  # every server frame matches the protocol models
        events.append(event)
        if event["type"] == kind:
            return events
    raise AssertionError(f"no {kind} event")


def test_cases_never_expose_rubrics(client: TestClient) -> None:
    cases = client.get("/v1/cases").json()
    assert len(cases) >= 12 and {"id", "title", "levels"} <= cases[0].keys()
    detail = client.get(f"/v1/cases/{CASE}").json()
    assert detail["prompt"] and "rubric" not in json.dumps(detail) and "model_outline" not in detail
    assert client.get("/v1/cases/nope").status_code == 404


def test_full_interview_over_the_websocket(client: TestClient) -> None:
    session_id, token = create(client)
    with client.websocket_connect(f"/v1/sessions/{session_id}/ws?token={token}") as ws:
        opening = receive_until(ws, "phase")
        assert opening[0]["type"] == "interviewer_done" and "Clickstream analytics" in opening[0]["text"]
        ws.send_text(json.dumps({"type": "answer", "client_id": "m1",
                                 "text": "How many events per second at peak, and who reads the dashboards?"}))
        events = receive_until(ws, "grade")
        kinds = [e["type"] for e in events]
        assert kinds[0] == "ack" and "interviewer_delta" in kinds
        assert kinds.index("interviewer_delta") < kinds.index("interviewer_done") < kinds.index("phase")
        done = next(e for e in events if e["type"] == "interviewer_done")
        deltas = "".join(e["text"] for e in events if e["type"] == "interviewer_delta")
        assert deltas == done["text"] and done["move"] == "answer_clarification"
        seqs = [e["seq"] for e in opening + events]
        assert seqs == list(range(1, len(seqs) + 1))
        for n in range(2, 6):
            ws.send_text(json.dumps({"type": "move_on", "client_id": f"m{n}"}))
            receive_until(ws, "phase")
        ws.send_text(json.dumps({"type": "end", "client_id": "end"}))
        final = receive_until(ws, "scorecard")
        assert final[-1]["scorecard"]["hire_call"]
        ws.send_text(json.dumps({"type": "answer", "client_id": "late", "text": "one more thing"}))
        late = receive_until(ws, "error")
        assert late[-1]["code"] == "session_ended"
    transcript = client.get(f"/v1/sessions/{session_id}/transcript", headers=auth(token)).json()
    turn = transcript["turns"][1]
    assert {"verdicts", "retrieved", "prompt_version", "model", "prompt_tokens", "latency_ms"} <= turn.keys()


def test_resume_sends_exactly_the_missed_events(client: TestClient) -> None:
    session_id, token = create(client)
    url = f"/v1/sessions/{session_id}/ws?token={token}"
    with client.websocket_connect(url) as ws:
        first = receive_until(ws, "phase")
    last_seen = first[-1]["seq"]
    client.post(f"/v1/sessions/{session_id}/messages", headers=auth(token),
                json={"type": "answer", "client_id": "offline-1", "text": "What is the daily volume of events?"})
    with client.websocket_connect(url) as ws:
        ws.send_text(json.dumps({"type": "resume", "last_seq": last_seen}))
        missed = receive_until(ws, "grade")
    all_events = client.get(f"/v1/sessions/{session_id}/events", headers=auth(token)).json()["events"]
    # the connection replays from ?last_seq=0 then the resume asks from last_seen: no seq twice
    seqs = [e["seq"] for e in missed]
    assert len(seqs) == len(set(seqs))
    assert [e["seq"] for e in all_events if e["seq"] > last_seen] == [s for s in seqs if s > last_seen]
    with client.websocket_connect(url + f"&last_seq={last_seen}") as ws:
        ws.send_text(json.dumps({"type": "ping"}))
        replay = receive_until(ws, "pong")
    assert [e["seq"] for e in replay[:-1]] == [e["seq"] for e in all_events if e["seq"] > last_seen]


def test_duplicate_client_message_is_acknowledged_not_reprocessed(client: TestClient) -> None:
    session_id, token = create(client)
    body = {"type": "answer", "client_id": "same", "text": "What latency do the dashboards need?"}
    first = client.post(f"/v1/sessions/{session_id}/messages", headers=auth(token), json=body).json()["events"]
    again = client.post(f"/v1/sessions/{session_id}/messages", headers=auth(token), json=body).json()["events"]
    assert first[0] == {**first[0], "type": "ack", "duplicate": False}
    assert [e["type"] for e in again] == ["ack"] and again[0]["duplicate"] is True
    state = client.get(f"/v1/sessions/{session_id}/transcript", headers=auth(token)).json()
    assert sum(1 for t in state["turns"] if t["role"] == "candidate") == 1


@pytest.mark.parametrize(("frame", "code"), [
    ("{not json", "bad_json"),
    ('{"type": "shout"}', "unknown_type"),
    ('{"type": "answer", "client_id": "x"}', "invalid_message"),
    ('{"type": "answer", "client_id": "x", "text": "' + "a" * 5000 + '"}', "too_large"),
])
def test_bad_frames_get_typed_errors_and_the_socket_stays_usable(client: TestClient, frame: str, code: str) -> None:
    session_id, token = create(client)
    with client.websocket_connect(f"/v1/sessions/{session_id}/ws?token={token}") as ws:
        receive_until(ws, "phase")
        ws.send_text(frame)
        assert receive_until(ws, "error")[-1]["code"] == code
        ws.send_text(json.dumps({"type": "ping"}))
        assert receive_until(ws, "pong")[-1]["type"] == "pong"


def test_rate_limit(full_settings: Settings, database_url: str) -> None:
    settings = full_settings.model_copy(update={"database_url": database_url,
                                                "ws_max_messages_per_second": 1.0})
    with TestClient(create_app(settings)) as c:
        session_id, token = create(c)
        with c.websocket_connect(f"/v1/sessions/{session_id}/ws?token={token}") as ws:
            receive_until(ws, "phase")
            for _ in range(4):
                ws.send_text(json.dumps({"type": "ping"}))
            codes = [e.get("code") for e in receive_until(ws, "error", limit=10)]
            assert "rate_limited" in codes


def test_bad_token_and_unknown_session_close_codes(client: TestClient) -> None:
    session_id, _ = create(client)
    with pytest.raises(WebSocketDisconnect) as info, \
            client.websocket_connect(f"/v1/sessions/{session_id}/ws?token=wrong") as ws:
        ws.receive_text()
    assert info.value.code == 4401
    with pytest.raises(WebSocketDisconnect) as info, client.websocket_connect("/v1/sessions/s_nope/ws?token=x") as ws:
        ws.receive_text()
    assert info.value.code == 4404


def test_token_isolation_between_sessions(client: TestClient) -> None:
    a, token_a = create(client)
    b, _token_b = create(client)
    assert client.get(f"/v1/sessions/{a}", headers=auth(token_a)).status_code == 200
    assert client.get(f"/v1/sessions/{b}", headers=auth(token_a)).status_code == 401
    assert client.post(f"/v1/sessions/{b}/messages", headers=auth(token_a),
                       json={"type": "hint", "client_id": "x"}).status_code == 401
    assert client.get("/v1/sessions", headers=auth(token_a)).status_code == 401
    listing = client.get("/v1/sessions", headers={"X-API-Key": "admin-secret"}).json()
    assert {a, b} <= {s["session_id"] for s in listing}


def test_exam_mode_hides_grades_until_the_end(client: TestClient) -> None:
    session_id, token = create(client, mode="exam")
    events = client.post(f"/v1/sessions/{session_id}/messages", headers=auth(token),
                         json={"type": "answer", "client_id": "1", "text": "How much data per day?"}).json()["events"]
    assert "grade" not in {e["type"] for e in events}
    assert client.get(f"/v1/sessions/{session_id}/scorecard", headers=auth(token)).status_code == 409


def test_export_regrade_and_delete(client: TestClient) -> None:
    session_id, token = create(client)
    for n, text in enumerate(["How many events per day?", "/move_on",
                              "Kafka keyed by session id, raw copy in object storage for replay, Flink for "
                              "minute-level aggregates because dashboards need fresh numbers."]):
        body = ({"type": "move_on", "client_id": str(n)} if text == "/move_on"
                else {"type": "answer", "client_id": str(n), "text": text})
        client.post(f"/v1/sessions/{session_id}/messages", headers=auth(token), json=body)
    client.post(f"/v1/sessions/{session_id}/messages", headers=auth(token), json={"type": "end", "client_id": "e"})
    exported = client.get(f"/v1/sessions/{session_id}/export", headers=auth(token)).json()
    assert exported["turns"] and exported["gradings"][0]["version"] == 1
    assert token not in json.dumps(exported)
    md = client.get(f"/v1/sessions/{session_id}/export?format=md", headers=auth(token))
    assert md.status_code == 200 and md.text.startswith("# Mock interview")
    regraded = client.post(f"/v1/sessions/{session_id}/regrade", headers=auth(token)).json()
    assert regraded["version"] == 2 and "overall" in regraded["diff"]
    versions = client.get(f"/v1/sessions/{session_id}/gradings", headers=auth(token)).json()
    assert [v["version"] for v in versions] == [1, 2]
    assert client.delete(f"/v1/sessions/{session_id}", headers=auth(token)).status_code == 204
    assert client.get(f"/v1/sessions/{session_id}", headers={"X-API-Key": "admin-secret"}).status_code == 404


def test_ops_endpoints(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready == {"ready": True, "checks": {"database": "ok", "index": "ok"}, "warm": "off"}
    create(client)
    assert "mockround_sessions_created_total" in client.get("/metrics").text
    assert client.get("/openapi.json").json()["paths"]["/v1/sessions"]
