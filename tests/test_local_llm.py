"""A real local LLM (SmolLM2-135M on llama-cpp-python's server) through the real ``openai`` client.

The model is far too small to judge: this checks the plumbing — streamed deltas arrive, the
JSON-schema judge output parses or falls back cleanly with the fallback recorded, a short
interview completes with a scorecard. ``make test`` installs the server first
(``scripts/local-llm.sh install``); in CI a server that cannot start fails the test.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from service.evals.grading_data import load_grading, scope
from service.grading.judge import LLMJudge
from service.grading.local import local_grader
from service.interview.engine import Interview
from service.interview.knowledge import Knowledge, build_knowledge
from service.interview.report import scorecard
from service.llm.base import Message
from service.llm.openai_compat import OpenAIChatModel
from service.settings import PROJECT_ROOT, Settings

pytestmark = [pytest.mark.allow_model_requests, pytest.mark.timeout(420)]

SCRIPT = PROJECT_ROOT / "scripts" / "local-llm.sh"
ALIAS = "smollm2-135m"
STREAM_TOKENS, JSON_TOKENS = 40, 96
CASE = "clickstream-analytics"


class CappedModel(OpenAIChatModel):
    """Our adapter with small completions, so that a 20 tokens/s CPU model answers quickly."""

    def stream(self, messages: list[Message], *, max_tokens: int = 400, temperature: float = 0.3) -> Iterator[str]:
        return super().stream(messages, max_tokens=min(max_tokens, STREAM_TOKENS), temperature=temperature)

    def complete_json(self, messages: list[Message], schema: dict[str, Any], *, schema_name: str = "result",
                      max_tokens: int = 800) -> dict[str, Any]:
        return super().complete_json(messages, schema, schema_name=schema_name,
                                     max_tokens=min(max_tokens, JSON_TOKENS))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _script(*args: str, run_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MOCKROUND_PYTHON": sys.executable, "MOCKROUND_LOCAL_LLM_RUN_DIR": str(run_dir),
           "MOCKROUND_LOCAL_LLM_ALIAS": ALIAS}
    return subprocess.run(["bash", str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=240)


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    installed = importlib.util.find_spec("llama_cpp") is not None
    if not installed and not os.environ.get("CI") and os.environ.get("MOCKROUND_REQUIRE_LOCAL_LLM") != "1":
        pytest.skip("llama-cpp-python is not installed (run scripts/local-llm.sh install; make test does)")
    assert installed, "llama-cpp-python is not installed: make test runs scripts/local-llm.sh install"
    run_dir, port = tmp_path_factory.mktemp("local-llm"), _free_port()
    started = _script("start", str(port), run_dir=run_dir)
    if started.returncode != 0:
        pytest.fail(f"the local LLM server did not start:\n{started.stdout}\n{started.stderr}")
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        _script("stop", str(port), run_dir=run_dir)


@pytest.fixture(scope="module")
def model(base_url: str) -> CappedModel:
    client = openai.OpenAI(api_key="local", base_url=base_url, timeout=120, max_retries=0)
    return CappedModel(client, ALIAS, max_retries=0)


@pytest.fixture(scope="module")
def kb(full_settings: Settings, model: CappedModel) -> Knowledge:
    kb = build_knowledge(full_settings)
    kb.grader = LLMJudge(model, local_grader(), kb.prompts)
    return kb


def test_streaming_deltas_arrive(model: CappedModel) -> None:
    deltas = list(model.stream([Message("system", "You are a helpful interviewer."),
                                Message("user", "Ask me one short question about data pipelines.")], max_tokens=24))
    assert len(deltas) >= 3 and "".join(deltas).strip()
    assert model.last_usage.prompt_tokens > 10 and model.last_usage.completion_tokens > 0


def assert_parsed_or_clean_fallback(verdicts: list[Any], fallback: str | None, items: list[str]) -> None:
    assert [v.item_id for v in verdicts] == items
    sources = {v.source for v in verdicts}
    if fallback:  # the judge's failure is recorded and the offline verdicts stand in
        assert sources == {"llm_fallback"}
    else:
        assert sources == {"llm"} and all(v.evidence is None or v.evidence for v in verdicts)


def test_short_interview_completes_with_a_scorecard(kb: Knowledge, model: CappedModel) -> None:
    interview = Interview.new(kb, CASE, "senior", 10, seed=1, model=model)
    pending = interview.begin(0.0)
    deltas = list(interview.stream(pending))
    opening = interview.finish(pending, 0.0)
    assert len(deltas) >= 3 and opening.model == ALIAS and opening.fallback is None
    answer = ("Who reads the dashboards, and how fresh must they be? I would assume about fifty thousand "
              "events per second at peak, because the site is global and traffic is bursty.")
    turn = interview.respond("answer", answer, 60.0)
    candidate = interview.state.turns[turn.index - 1]
    assert_parsed_or_clean_fallback(candidate.verdicts, candidate.fallback, candidate.scope)
    assert turn.text.strip() and (turn.model == ALIAS or turn.fallback)
    interview.respond("end", "", 120.0)
    state = interview.state
    assert state.finished and state.prompt_tokens > 0
    card = scorecard(state, kb)
    assert card.hire_call and 0 <= card.overall <= 100


def test_grading_batch_parses_or_falls_back(kb: Knowledge) -> None:
    rows = [r for r in load_grading(PROJECT_ROOT / "evals" / "grading", kb.corpus) if r[1].split == "test"][:2]
    for case, ans in rows:
        items = scope(kb.corpus, case, ans.phase, ans.stress_test)
        result = kb.grader.grade(ans.answer, items, {"phase": ans.phase})
        assert result.grader == f"llm:{ALIAS}"
        assert_parsed_or_clean_fallback(result.verdicts, result.fallback, [i.id for i in items])
