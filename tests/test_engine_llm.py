"""The engine with a real OpenAI client against the fake server: the model only phrases and judges."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from service.grading.judge import LLMJudge
from service.grading.local import local_grader
from service.interview.engine import Interview
from service.interview.knowledge import Knowledge, build_knowledge
from service.interview.report import scorecard
from service.interview.script import Script, run_script
from service.llm.fake_server import FakeOpenAI
from service.llm.openai_compat import OpenAIChatModel
from service.settings import Settings

pytestmark = pytest.mark.allow_model_requests

CASE = "ride-sharing-trips"
PERSONA = Path(__file__).resolve().parents[1] / "evals" / "personas" / CASE / "average.yaml"


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture(scope="module")
def kb(full_settings: Settings) -> Knowledge:
    return build_knowledge(full_settings)


def llm_interview(kb: Knowledge, server: FakeOpenAI) -> Interview:
    client = openai.OpenAI(api_key="k", base_url=server.base_url, timeout=5, max_retries=0)
    model = OpenAIChatModel(client, "gpt-4o-mini", max_retries=1, backoff=0.01)
    kb.grader = LLMJudge(model, local_grader(), kb.prompts)
    return Interview.new(kb, CASE, "senior", 30, seed=3, model=model)


def test_model_phrases_moves_without_seeing_criteria(kb: Knowledge, server: FakeOpenAI) -> None:
    interview = llm_interview(kb, server)
    run_script(interview, Script.load(PERSONA))
    state = interview.state
    assert state.finished and state.reached[-1] == "summary"
    phrased = [t for t in state.turns if t.role == "interviewer" and t.model == "gpt-4o-mini"]
    assert len(phrased) >= 5 and all(t.prompt_tokens > 0 for t in phrased)
    assert state.prompt_tokens > 0 and state.completion_tokens > 0
    criteria = [i.criterion for i in kb.items.values()]
    turn_prompts = [r for r in server.requests if "response_format" not in r]
    judge_prompts = [r for r in server.requests if "response_format" in r]
    assert turn_prompts and judge_prompts
    for request in turn_prompts:
        text = "\n".join(m["content"] for m in request["messages"])
        assert "<candidate>" in text and not any(c in text for c in criteria)
        assert kb.corpus.case(CASE).model_outline[:80] not in text
    assert scorecard(state, kb).hire_call  # scores still come from our code


def test_model_failures_fall_back_to_offline_and_are_recorded(kb: Knowledge, server: FakeOpenAI) -> None:
    interview = llm_interview(kb, server)
    server.queue.extend([{"fault": "500"}, {"fault": "500"}])  # opening: both attempts fail
    opening = interview.open(0.0)
    assert opening.fallback and "after 2 attempt" in opening.fallback
    assert opening.model == "offline" and kb.corpus.case(CASE).title in opening.text
    server.queue.extend([{"fault": "malformed", "json": {}}, {"fault": "malformed", "json": {}},
                         {"fault": "drop", "text": "x" * 300}])
    turn = interview.respond("answer", "How many trips happen per day, and how many GPS pings per second?", 60.0)
    candidate = interview.state.turns[turn.index - 1]
    assert candidate.fallback and {v.source for v in candidate.verdicts} == {"llm_fallback"}
    assert turn.fallback and "stream broke" in turn.fallback and turn.text
