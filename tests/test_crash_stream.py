"""kill -9 of the server while the model's reply is streaming; restart; the client resumes.

The model is the fake OpenAI-compatible server streaming slowly, so the kill lands mid-stream.
After the restart the committed answer is processed again: the turn's deltas restart at
offset 0 (the protocol's restart rule), the log has no gaps or duplicate sequence numbers,
and no candidate turn is lost.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

from service.llm.fake_server import FakeOpenAI
from service.settings import Settings
from tests.services import free_port, start_app

pytestmark = pytest.mark.allow_model_requests
REPLY = "Good. Now tell me how you would keep the sessionised tables correct when events arrive late. " * 3


def read_until(ws: Any, seen: list[dict[str, Any]], done: Any) -> None:
    while True:
        event = json.loads(ws.recv(timeout=60))
        seen.append(event)
        if done(event):
            return


def responder(body: dict[str, Any]) -> dict[str, Any]:
    if "response_format" in body:
        return {"json": {"verdicts": []}}
    return {"text": REPLY}


@pytest.mark.timeout(300)
def test_kill_9_mid_stream_then_restart_and_resume(full_settings: Settings, tmp_path: Path) -> None:
    db, port, seen = tmp_path / "stream.db", free_port(), []
    with FakeOpenAI(tokens_per_second=25, chunk_chars=6) as fake:
        fake.responder = responder
        llm = {"MOCKROUND_LLM": "openai", "OPENAI_BASE_URL": fake.base_url, "OPENAI_API_KEY": "test",
               "MOCKROUND_LLM_TIMEOUT": "20"}
        server = start_app(full_settings, f"sqlite:///{db}", port, tmp_path / "server.log", **llm)
        base = f"http://127.0.0.1:{port}"
        try:
            created = httpx.post(f"{base}/v1/sessions", json={"case_id": "clickstream-analytics", "minutes": 30},
                                 timeout=60).json()
            sid, token = created["session_id"], created["token"]
            with connect(f"ws://127.0.0.1:{port}/v1/sessions/{sid}/ws?token={token}") as ws:
                read_until(ws, seen, lambda e: e["type"] == "phase")
                ws.send(json.dumps({"type": "answer", "client_id": "a1", "text": "Events land in a durable log."}))
                read_until(ws, seen, lambda e: e["type"] == "interviewer_delta" and e["turn"] == 2)
                os.kill(server.pid, signal.SIGKILL)  # mid-stream: the reply has only begun
            server.wait(timeout=10)
        finally:
            if server.poll() is None:
                server.kill()
        assert not any(e["type"] == "interviewer_done" and e["turn"] == 2 for e in seen)
        server = start_app(full_settings, f"sqlite:///{db}", port, tmp_path / "server.log", **llm)
        try:
            last = seen[-1]["seq"]
            with connect(f"ws://127.0.0.1:{port}/v1/sessions/{sid}/ws?token={token}&last_seq={last}") as ws:
                read_until(ws, seen, lambda e: e["type"] == "interviewer_done" and e["turn"] == 2)
            auth = {"Authorization": f"Bearer {token}"}
            events = httpx.get(f"{base}/v1/sessions/{sid}/events", headers=auth).json()["events"]
            transcript = httpx.get(f"{base}/v1/sessions/{sid}/transcript", headers=auth).json()
        finally:
            server.kill()
            server.wait(timeout=10)
    assert [t["text"] for t in transcript["turns"] if t["role"] == "candidate"] == ["Events land in a durable log."]
    seqs = [e["seq"] for e in events]
    assert seqs == list(range(1, len(seqs) + 1)), "event log has gaps or duplicates"
    received = [e["seq"] for e in seen]
    assert len(received) == len(set(received)) and sorted(received) == seqs[: len(received)]
    turn2 = [e for e in seen if e.get("turn") == 2]
    restarts = [n for n, e in enumerate(turn2) if e["type"] == "interviewer_delta" and e["offset"] == 0]
    assert len(restarts) == 2, "the interrupted stream restarts once at offset 0"
    text = "".join(e["text"] for e in turn2[restarts[-1]:] if e["type"] == "interviewer_delta")
    done = [e for e in turn2 if e["type"] == "interviewer_done"]
    assert len(done) == 1 and text == done[0]["text"]
