"""Run ``FakeOpenAI`` as a process: ``python -m benchmarks.fake_llm --ttft 0.5 --rate 50``.

Prints its port on the first line of stdout, then serves until terminated. Streaming replies
wait ``ttft`` seconds, then send one ``chunk-chars`` chunk every 1/``rate`` seconds.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Any

from service.llm.fake_server import FakeOpenAI, default_responder

REPLY = ("Thanks, that gives me a clear picture of the ingestion side. Let me push on one part: if the "
         "upstream producers double their event rate during a promotion, which component saturates first, "
         "and what would you change so the dashboards stay fresh?")


def responder(body: dict[str, Any]) -> dict[str, Any]:
    """A typical interviewer turn (~50 tokens) for text; 'not met' verdicts for the judge."""
    if body.get("response_format", {}).get("type") == "json_schema":
        return default_responder(body)
    return {"text": REPLY}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fake_llm")
    parser.add_argument("--ttft", type=float, default=0.5, help="seconds before the first streamed chunk")
    parser.add_argument("--rate", type=float, default=50.0, help="streamed chunks per second after that")
    parser.add_argument("--chunk-chars", type=int, default=8)
    args = parser.parse_args(argv)
    if args.ttft < 0 or args.rate <= 0 or args.chunk_chars < 1:
        parser.error("--ttft must be >= 0, --rate > 0 and --chunk-chars >= 1")
    fake = FakeOpenAI(ttft=args.ttft, tokens_per_second=args.rate, chunk_chars=args.chunk_chars)
    fake.responder = responder
    fake.start()
    print(fake.port, flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    while not stop.wait(1.0):
        fake.requests.clear()  # bounded memory over long runs
    fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
