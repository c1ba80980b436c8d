"""Time to first token through our websocket vs a direct ``openai`` client call to the same fake model.

Both clients run in this process, one sample of each alternately, against one fake
OpenAI-compatible server (own process, fixed TTFT and chunk rate). The websocket sample runs
from sending an answer to the first ``interviewer_delta`` event; on the way the server commits
the message, grades it (offline grader + one JSON-schema judge call to the fake), plans and
streams the phrasing call. The direct sample runs from ``chat.completions.create(stream=True)``
to the first chunk with text.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import openai

from benchmarks.answers import answer_pool
from benchmarks.report import Result, at_most, percentile
from benchmarks.servers import app_server, bench_settings, ensure_index, fake_model
from benchmarks.wsclient import CASE, SyncCandidate

MODEL_TTFT_S = 0.5
CHUNKS_PER_S = 50.0
CHUNK_CHARS = 8
RATIO, SLACK_MS = 1.05, 10.0
WARMUP_TURNS = 4
PROMPT = [{"role": "system", "content": "You are a calm, precise interviewer for data-engineering design. " * 12},
          {"role": "user", "content": "Step: deep_dive. The candidate said: we partition by visitor id. " * 40}]


def direct_ttft(client: openai.OpenAI) -> tuple[float, float]:
    """(seconds to the first text chunk, seconds to the end of the stream)."""
    started = time.perf_counter()
    first = 0.0
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=PROMPT, stream=True,  # type: ignore[arg-type]
                                            max_tokens=400, temperature=0.3)
    for chunk in stream:
        if not first and chunk.choices and chunk.choices[0].delta.content:
            first = time.perf_counter() - started
    return first, time.perf_counter() - started


def run(quick: bool = False, res: Result | None = None) -> Result:
    """Fill ``res`` (figures added so far survive a failure later in the run)."""
    res = res if res is not None else Result("ttft")
    samples = 10 if quick else 30
    settings = bench_settings()
    ensure_index(settings)
    answers = answer_pool(CASE)
    with tempfile.TemporaryDirectory(prefix="bench-ttft-") as tmp, \
            fake_model(MODEL_TTFT_S, CHUNKS_PER_S, CHUNK_CHARS) as model_url, \
            app_server(settings, Path(tmp) / "ttft.db", model_url) as (base, _):
        client = openai.OpenAI(base_url=model_url, api_key="benchmark-fake-key", max_retries=0)
        candidate = SyncCandidate(base)
        for n in range(WARMUP_TURNS):  # connection pools, first-use embeddings of the phase's items
            candidate.answer(answers[n % len(answers)])
            direct_ttft(client)
        direct, direct_total, ws, ws_done, acks, errors = [], [], [], [], [], 0
        first_chars: list[int] = []
        for n in range(samples):
            first, total = direct_ttft(client)
            direct.append(first * 1000)
            direct_total.append(total * 1000)
            timing = candidate.answer(answers[(n + WARMUP_TURNS) % len(answers)])
            errors += bool(timing.error or timing.fallback)
            ws.append(timing.first_delta_s * 1000)
            ws_done.append(timing.done_s * 1000)
            acks.append(timing.ack_s * 1000)
            first_chars.append(timing.first_delta_chars)
        candidate.close()
    for q in (50, 99):
        d, w = percentile(direct, q), percentile(ws, q)
        limit = RATIO * d + SLACK_MS
        res.add(f"TTFT p{q} via websocket", w, "ms", f"≤ 1.05 × direct + 10 ms = {limit:.0f} ms",
                at_most(w, limit), f"direct openai client p{q}: {d:.0f} ms")
        res.add(f"TTFT ratio p{q} (websocket / direct)", w / d, "×", "", None, f"allowed ≤ {limit / d:.3f}×")
    res.add("ack after send p50", percentile(acks, 50), "ms", "", None, "message committed before processing")
    res.add("full reply p50 via websocket", percentile(ws_done, 50), "ms", "", None,
            f"direct stream p50: {percentile(direct_total, 50):.0f} ms")
    chars = sorted(first_chars)[len(first_chars) // 2]
    held = max(0, -(-chars // CHUNK_CHARS) - 1) * 1000 / CHUNKS_PER_S
    res.add("characters in the first delta event (median)", chars, "", "", None,
            f"≈ {held:.0f} ms of model chunks waited for before it was sent")
    res.add("errors or model fallbacks", errors, "", "0", errors == 0)
    res.notes += [
        f"Fake model: first chunk after {MODEL_TTFT_S * 1000:.0f} ms, then one 8-character chunk every "
        f"{1000 / CHUNKS_PER_S:.0f} ms; JSON-schema (judge) calls are answered at once, so a real "
        "model's judge latency is NOT in these numbers and would add to the websocket TTFT.",
        f"{samples} samples each, alternating direct and websocket; {WARMUP_TURNS} warm-up turns first. "
        f"Answers: labelled answers of {CASE} (evals/grading), one session after another.",
        "p99 is nearest-rank: with fewer than 100 samples it is the maximum.",
        "The server batches interviewer text into delta events (DELTA_FLUSH_CHARS in service/interview/"
        "sessions.py); 'characters in the first delta event' shows how much model text the first one waited for.",
    ]
    res.details = {"direct_ms": direct, "ws_ms": ws, "ack_ms": acks, "ws_done_ms": ws_done}
    return res
