"""Scale-out on real components: a `chroma run` server and two uvicorn replicas on one database.

The database is the one every service test uses (``database_url`` in tests/services.py): SQLite
by default, a fresh Postgres database with ``MOCKROUND_TEST_DATABASE=postgres`` (how `make test`
runs this file). The Chroma server holds the small corpus (framework, one case, one reference
note — ``copy_mini_corpus``): ingesting through the server embeds every chunk again, and the
whole corpus would take minutes on a busy CI machine, while the mini corpus still carries a
complete clickstream-analytics interview. Both replicas phrase turns with the fake OpenAI
server (service/llm/fake_server.py), so a test can slow one reply down and switch replicas
while it streams.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from websockets.sync.client import ClientConnection, connect

from service.llm.fake_server import FakeOpenAI, default_responder
from service.retrieval.index import open_index
from service.retrieval.ingest import ingest
from service.retrieval.search import Filters, Retriever
from service.settings import Settings
from tests.conftest import copy_mini_corpus, make_settings
from tests.services import ChromaServer, free_port, make_database_url, spawn_service, wait_http

CASE = "clickstream-analytics"
QUERIES = [
    ("late events from phones", Filters()),
    ("how do we replay raw events after a bug", Filters(kind=("rubric",))),
    ("hot partition during a promotion", Filters(kind=("stress_test",), scenario=(CASE,))),
    ("change data capture from the orders database", Filters()),
    ("what freshness do the dashboards need", Filters(phase=("clarify",), level="senior")),
]


# ---- fixtures ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def served(chroma_server: ChromaServer, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The mini corpus ingested into the Chroma server through MOCKROUND_CHROMA_URL's code path."""
    root = tmp_path_factory.mktemp("served")
    settings = make_settings(root / "data", copy_mini_corpus(root / "corpus"), chroma_url=chroma_server.url)
    report = ingest(settings)
    assert report.chunks > 100 and report.added == report.chunks, report.summary()
    return settings


@dataclass
class Replica:
    name: str
    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ws(self, sid: str, token: str, last_seq: int = 0) -> ClientConnection:
        return connect(f"ws://127.0.0.1:{self.port}/v1/sessions/{sid}/ws?token={token}&last_seq={last_seq}",
                       open_timeout=30)

    def get(self, path: str, token: str) -> Any:
        res = httpx.get(f"{self.base}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=60)
        assert res.status_code == 200, res.text
        return res.json()


@pytest.fixture(scope="module")
def fake_llm() -> Iterator[FakeOpenAI]:
    """The model both replicas phrase turns with; a test slows its stream to catch a turn mid-way."""
    with FakeOpenAI(chunk_chars=4) as fake:
        yield fake


@pytest.fixture(scope="module")
def replicas(served: Settings, fake_llm: FakeOpenAI, request: pytest.FixtureRequest,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Replica, Replica]]:
    """Two service processes, each with its own data dir, on one database and one Chroma server.
    They start together, so they also race to migrate the fresh database."""
    root = tmp_path_factory.mktemp("replicas")
    db_url = make_database_url(request, root)
    started = []
    for name in ("A", "B"):
        env = {"MOCKROUND_DATA_DIR": str(root / name), "MOCKROUND_CORPUS_DIR": str(served.corpus_dir),
               "MOCKROUND_CHROMA_URL": str(served.chroma_url), "MOCKROUND_DATABASE_URL": db_url,
               "MOCKROUND_WS_MAX_MESSAGES_PER_SECOND": "1000", "MOCKROUND_LLM": "openai",
               "OPENAI_BASE_URL": fake_llm.base_url, "OPENAI_API_KEY": "test", "MOCKROUND_LLM_TIMEOUT": "60"}
        port, log = free_port(), root / f"{name}.log"
        started.append(Replica(name, port, spawn_service(port, env, log), log))
    try:
        for rep in started:
            wait_http(f"{rep.base}/readyz", rep.proc, 180, rep.log)
        yield started[0], started[1]
    finally:
        for rep in started:
            rep.proc.terminate()
        for rep in started:
            rep.proc.wait(timeout=30)


def until(ws: ClientConnection, kind: str, seen: list[dict[str, Any]]) -> None:
    while True:
        event = json.loads(ws.recv(timeout=120))
        seen.append(event)
        if event["type"] == kind:
            return


def create_session(rep: Replica) -> tuple[str, str]:
    res = httpx.post(f"{rep.base}/v1/sessions", json={"case_id": CASE, "level": "senior", "minutes": 20},
                     timeout=60)
    assert res.status_code == 201, res.text
    return res.json()["session_id"], res.json()["token"]


def answer(text: str, client_id: str) -> str:
    return json.dumps({"type": "answer", "client_id": client_id, "text": text})


# ---- (a) retrieval through the Chroma server ---------------------------------------------
def test_chroma_server_ingest_and_search_equal_embedded(served: Settings, full_settings: Settings,
                                                        tmp_path: Path) -> None:
    server = open_index(served)
    got = server.collection.get(include=["embeddings", "documents", "metadatas"])
    # what went into the server equals what the embedded ingest of the whole corpus stored for the
    # same chunks (ids, text, metadata and embedding vectors), built independently by local ingest
    local_full = open_index(full_settings).collection.get(ids=got["ids"], include=["embeddings", "documents",
                                                                                   "metadatas"])
    assert sorted(local_full["ids"]) == sorted(got["ids"])
    by_id = {i: (d, m, e) for i, d, m, e in zip(local_full["ids"], local_full["documents"],
                                                 local_full["metadatas"], local_full["embeddings"], strict=True)}
    for cid, doc, meta, emb in zip(got["ids"], got["documents"], got["metadatas"], got["embeddings"], strict=True):
        assert (doc, meta) == by_id[cid][:2], cid
        assert np.allclose(emb, by_id[cid][2], atol=1e-5), cid
    # an embedded index holding exactly those locally computed chunks answers like the server
    embedded_settings = make_settings(tmp_path / "embedded", served.corpus_dir)
    embedded = open_index(embedded_settings, create=True)
    embedded.collection.add(ids=local_full["ids"], embeddings=local_full["embeddings"],
                            documents=local_full["documents"], metadatas=local_full["metadatas"])
    via_server, via_disk = Retriever(server), Retriever(open_index(embedded_settings))
    for query, filters in QUERIES:
        remote, local = via_server.search(query, k=5, filters=filters), via_disk.search(query, k=5, filters=filters)
        assert remote, query
        assert [(h.id, h.dense_rank, h.bm25_rank) for h in remote] == [(h.id, h.dense_rank, h.bm25_rank)
                                                                        for h in local], query
    again = ingest(served)  # incremental through the server: nothing to write
    assert again.skipped == again.chunks and again.added == again.updated == again.removed == 0


# ---- (b) one interview, two replicas -------------------------------------------------------
@pytest.mark.allow_model_requests
def test_interview_started_on_one_replica_continues_on_the_other(replicas: tuple[Replica, Replica],
                                                                  fake_llm: FakeOpenAI) -> None:
    a, b = replicas
    sid, token = create_session(a)
    answers = ["How many events per second at peak, and who reads the dashboards?",
               "How late can mobile events arrive, and can we trust device clocks?",
               "Kafka keyed by user id, a raw copy in object storage for replay, and Flink computing "
               "per-minute aggregates because the dashboards need fresh numbers."]
    seen: list[dict[str, Any]] = []
    with a.ws(sid, token) as ws:
        until(ws, "phase", seen)  # the opening turn
        ws.send(answer(answers[0], "c1"))
        until(ws, "grade", seen)
        fake_llm.tokens_per_second, fake_llm.responder = 8, slow_reply  # the next reply streams for ~10 s
        try:
            ws.send(answer(answers[1], "c2"))
            until(ws, "interviewer_delta", seen)  # A is mid-turn: leave now
        finally:
            fake_llm.tokens_per_second, fake_llm.responder = 0, default_responder
    turn = seen[-1]["turn"]
    logged = b.get(f"/v1/sessions/{sid}/events", token)["events"]
    assert not any(e["type"] == "interviewer_done" and e["turn"] == turn for e in logged), "A already finished"
    with b.ws(sid, token, last_seq=seen[-1]["seq"]) as ws:
        until(ws, "grade", seen)  # B relays the rest of the turn A is still streaming
        ws.send(json.dumps({"type": "move_on", "client_id": "m1"}))
        until(ws, "phase", seen)
        ws.send(answer(answers[2], "c3"))
        until(ws, "grade", seen)
        for n in range(2, 5):
            ws.send(json.dumps({"type": "move_on", "client_id": f"m{n}"}))
            until(ws, "phase", seen)
        ws.send(json.dumps({"type": "end", "client_id": "end"}))
        until(ws, "scorecard", seen)
    events = b.get(f"/v1/sessions/{sid}/events", token)["events"]
    assert a.get(f"/v1/sessions/{sid}/events", token)["events"] == events
    seqs = [e["seq"] for e in events]
    assert seqs == list(range(1, len(seqs) + 1)), "the event log has a gap or a duplicate"
    assert [e["seq"] for e in seen] == seqs, "the client missed an event or got one twice"
    assert_each_turn_streamed_once(events)
    transcript = b.get(f"/v1/sessions/{sid}/transcript", token)["turns"]
    said = [t["text"] for t in transcript if t["role"] == "candidate" and t["text"]]
    assert said == answers, "a candidate turn was lost or repeated"
    card = seen[-1]["scorecard"]
    assert a.get(f"/v1/sessions/{sid}/scorecard", token) == b.get(f"/v1/sessions/{sid}/scorecard", token) == card
    assert [g["version"] for g in a.get(f"/v1/sessions/{sid}/gradings", token)] == [1]


def slow_reply(body: dict[str, Any]) -> dict[str, Any]:
    if "response_format" in body:
        return default_responder(body)
    return {"text": "Fair question. Assume most mobile events arrive within a minute, a few within a day. "
                    "Given that, how would your pipeline keep per-minute dashboards correct while still "
                    "accepting stragglers, and what would you publish before the late data is in? "
                    "Walk me through the windows, the watermark and how corrections reach readers."}


def assert_each_turn_streamed_once(events: list[dict[str, Any]]) -> None:
    """Each interviewer turn: deltas from offset 0, contiguous, adding up to the final text once."""
    done = [e for e in events if e["type"] == "interviewer_done"]
    assert len({e["turn"] for e in done}) == len(done), "a turn was finished twice"
    for final in done:
        deltas = [e for e in events if e["type"] == "interviewer_delta" and e["turn"] == final["turn"]]
        offsets = [e["offset"] for e in deltas]
        assert offsets == [sum(len(d["text"]) for d in deltas[:i]) for i in range(len(deltas))], final["turn"]
        assert "".join(d["text"] for d in deltas) in ("", final["text"]), f"turn {final['turn']} streamed twice"


# ---- (c) concurrent appends from both replicas ---------------------------------------------
PINGS = 20


def test_concurrent_appends_from_both_replicas(replicas: tuple[Replica, Replica]) -> None:
    a, b = replicas
    sid, token = create_session(a)
    received: dict[str, list[int]] = {}
    posted: list[list[dict[str, Any]]] = []
    done, errors = threading.Event(), []

    def pinger(rep: Replica, name: str) -> None:
        try:
            with rep.ws(sid, token) as ws:
                for _ in range(PINGS):
                    ws.send(json.dumps({"type": "ping"}))
                done.wait(180)
                got = []
                while True:
                    try:
                        got.append(json.loads(ws.recv(timeout=3))["seq"])
                    except TimeoutError:
                        break
                received[name] = got
        except Exception as exc:  # reported by the main thread
            errors.append(f"{name}: {exc!r}")

    def poster(reps: list[Replica], texts: list[tuple[str, str]]) -> None:
        for rep, (cid, text) in zip(reps, texts, strict=True):
            res = httpx.post(f"{rep.base}/v1/sessions/{sid}/messages", headers={"Authorization": f"Bearer {token}"},
                             json={"type": "answer", "client_id": cid, "text": text}, timeout=180)
            if res.status_code != 200:
                errors.append(f"POST {cid} to {rep.name}: {res.status_code} {res.text[:200]}")
            else:
                posted.append(res.json()["events"])

    texts = {"p1": "What is the daily event volume?", "p2": "Who consumes the hourly reports?",
             "p3": "Do we need exactly-once counts for billing?", "p4": "How long must raw events be kept?"}
    threads = [threading.Thread(target=pinger, args=(rep, f"{rep.name}{n}")) for rep in (a, b) for n in (1, 2)]
    threads += [threading.Thread(target=poster, args=([a, b], [("p1", texts["p1"]), ("p3", texts["p3"])])),
                threading.Thread(target=poster, args=([b, a, a], [("p2", texts["p2"]), ("p4", texts["p4"]),
                                                                  ("p1", texts["p1"])]))]
    for t in threads:
        t.start()
    events = wait_for_pongs(b, sid, token, 4 * PINGS, threads[4:])
    done.set()
    for t in threads:
        t.join(timeout=240)
    assert not errors, errors
    seqs = [e["seq"] for e in events]
    assert seqs == list(range(1, len(seqs) + 1)), "concurrent appends produced a gap or a duplicate"
    assert sum(e["type"] == "pong" for e in events) == 4 * PINGS
    acks = [(e["client_id"], e["duplicate"]) for e in events if e["type"] == "ack"]
    assert sorted(acks) == sorted([(c, False) for c in texts] + [("p1", True)])
    assert_each_turn_streamed_once(events)
    transcript = a.get(f"/v1/sessions/{sid}/transcript", token)["turns"]
    said = sorted(t["text"] for t in transcript if t["role"] == "candidate")
    assert said == sorted(texts.values()), "each message is processed exactly once"
    for name, got in received.items():  # every socket saw a gapless, duplicate-free run of the log
        assert got and got == list(range(got[0], got[0] + len(got))), name
    for answer_events in posted:
        assert [e["seq"] for e in answer_events] == sorted({e["seq"] for e in answer_events})


def wait_for_pongs(rep: Replica, sid: str, token: str, pongs: int, posters: list[threading.Thread],
                   timeout: float = 240) -> list[dict[str, Any]]:
    """The log once every ping is answered and every poster is done."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        events = rep.get(f"/v1/sessions/{sid}/events", token)["events"]
        if sum(e["type"] == "pong" for e in events) >= pongs and not any(t.is_alive() for t in posters):
            return rep.get(f"/v1/sessions/{sid}/events", token)["events"]
        time.sleep(0.5)
    raise AssertionError("the replicas did not answer every ping in time")


def test_text_postgres_cannot_store_is_refused_on_every_database(replicas: tuple[Replica, Replica]) -> None:
    a, _ = replicas
    sid, token = create_session(a)
    res = httpx.post(f"{a.base}/v1/sessions/{sid}/messages", headers={"Authorization": f"Bearer {token}"},
                     json={"type": "answer", "client_id": "nul", "text": "late\x00events"}, timeout=60)
    assert res.status_code == 422 and "NUL" in res.json()["detail"]
    assert not any(e["type"] == "ack" for e in a.get(f"/v1/sessions/{sid}/events", token)["events"])
