"""A real server process is killed with SIGKILL mid-interview, restarted, and the client resumes."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

from service.settings import Settings
from tests.services import free_port, start_app


def until(ws, kind: str, seen: list[dict]) -> None:  # type: ignore[no-untyped-def]
    while True:
        event = json.loads(ws.recv(timeout=60))
        seen.append(event)
        if event["type"] == kind:
            return


@pytest.mark.timeout(300)
def test_kill_9_mid_turn_then_restart_and_resume(full_settings: Settings, database_url: str,
                                                   tmp_path: Path) -> None:
    db, port = database_url, free_port()
    server = start_app(full_settings, db, port, tmp_path / "server.log")
    seen: list[dict] = []
    try:
        base = f"http://127.0.0.1:{port}"
        created = httpx.post(f"{base}/v1/sessions", json={"case_id": "customer-360", "minutes": 30}).json()
        sid, token = created["session_id"], created["token"]
        with connect(f"ws://127.0.0.1:{port}/v1/sessions/{sid}/ws?token={token}") as ws:
            until(ws, "phase", seen)
            ws.send(json.dumps({"type": "answer", "client_id": "a1", "text": "How many customers are there?"}))
            until(ws, "grade", seen)
            ws.send(json.dumps({"type": "answer", "client_id": "a2",
                                "text": "Which source systems do we ingest from, and how fresh must profiles be?"}))
            until(ws, "ack", seen)  # committed: now kill the server while it processes
            os.kill(server.pid, signal.SIGKILL)
        server.wait(timeout=10)
    finally:
        if server.poll() is None:
            server.kill()
    server = start_app(full_settings, db, port, tmp_path / "server.log")
    try:
        last = seen[-1]["seq"]
        with connect(f"ws://127.0.0.1:{port}/v1/sessions/{sid}/ws?token={token}&last_seq={last}") as ws:
            ws.send(json.dumps({"type": "answer", "client_id": "a2", "text": "resent after reconnect"}))
            until(ws, "ack", seen)
            assert seen[-1]["duplicate"] is True
        transcript = httpx.get(f"{base}/v1/sessions/{sid}/transcript",
                               headers={"Authorization": f"Bearer {token}"}).json()
        events = httpx.get(f"{base}/v1/sessions/{sid}/events",
                           headers={"Authorization": f"Bearer {token}"}).json()["events"]
    finally:
        server.kill()
        server.wait(timeout=10)
    candidate = [t["text"] for t in transcript["turns"] if t["role"] == "candidate"]
    assert candidate == ["How many customers are there?",
                         "Which source systems do we ingest from, and how fresh must profiles be?"]
    seqs = [e["seq"] for e in events]
    assert seqs == list(range(1, len(seqs) + 1)), "event log has gaps or duplicates"
    done_turns = [e["turn"] for e in events if e["type"] == "interviewer_done"]
    assert len(done_turns) == len(set(done_turns)) == 3
    received = [e["seq"] for e in seen]
    assert len(received) == len(set(received)), "the client received an event twice"
    assert sorted(received) == seqs, "the client missed events"
