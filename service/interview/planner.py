"""The planner: decides every interviewer move from state, corpus and verdicts, with a reason.

It never phrases anything; it returns a ``Move`` naming what to do and on which target.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from service.corpus.models import PHASES, RubricItem, StressTest
from service.grading.text import without_injection
from service.grading.verdicts import GradeResult
from service.interview.knowledge import Knowledge
from service.interview.state import InterviewState, Move
from service.retrieval.embeddings import normalise
from service.retrieval.search import Filters

COVERAGE_TO_ADVANCE = 0.6
MIN_TURNS_TO_ADVANCE = 2
_QUESTION_START = re.compile(
    r"^(what|how|who|which|when|where|why|is|are|do|does|did|can|could|should|would|will|any|"
    r"roughly|approximately|about)\b", re.I)


@dataclass
class Event:
    kind: str  # answer | hint | move_on | end
    text: str = ""


def required_stress(state: InterviewState, phase: str) -> int:
    if phase == "deep_dive":
        return max(1, round(3 * state.minutes / 45))
    if phase == "cross_cutting":
        return 1 if state.minutes >= 20 else 0
    return 0


def questions_in(text: str) -> list[str]:
    """Sentences that are clarifying questions."""
    parts = re.split(r"(?<=[?.!])\s+|\n+", text.strip())
    return [p.strip() for p in parts if p.strip().endswith("?") or
            (_QUESTION_START.match(p.strip()) and len(p.split()) <= 20 and "?" in text)]


def phase_elapsed(state: InterviewState, now: float) -> float:
    return state.phase_used.get(state.phase, 0.0) + max(0.0, now - state.phase_started_at)


def coverage(state: InterviewState, kb: Knowledge, phase: str) -> float:
    items = [i for i in kb.phase_items(state.case_id, phase, state.level) if i.kind == "key_point"]
    if not items:
        return 1.0
    met = sum(1 for i in items if state.items.get(i.id) and state.items[i.id].met)
    return met / len(items)


def _probe_value(item: RubricItem, state: InterviewState, current: str) -> float:
    value = item.points * (1.25 if not item.id.startswith("fw.") else 1.0)
    if item.kind == "strong_signal":
        value *= 0.8
    if item.phase != current:
        value *= 0.6
    return value


def pick_probe(state: InterviewState, kb: Knowledge) -> RubricItem | None:
    """The most valuable unmet item with a probe, never asked before, never the last target."""
    phases = [state.phase]
    if state.phase in ("cross_cutting", "summary"):  # the only phases that may revisit gaps
        phases += [p for p in PHASES[: PHASES.index(state.phase)] if p in state.reached]
    pool: list[RubricItem] = []
    for phase in phases:
        pool += [i for i in kb.phase_items(state.case_id, phase, state.level)
                 if i.kind != "common_mistake" and i.probe]
    fresh = [i for i in pool if i.id not in state.asked_targets and i.id != state.last_target
             and not (state.items.get(i.id) and state.items[i.id].met)]
    if not fresh:
        return None
    order = {i.id: n for n, i in enumerate(pool)}
    return max(fresh, key=lambda i: (_probe_value(i, state, state.phase), -order[i.id]))


def _design_text(state: InterviewState, turns: int = 4) -> str:
    """What the candidate designed lately (injected instructions removed): the retrieval query."""
    return " ".join(without_injection(t.text) for t in state.candidate_turns()[-turns:])[-2500:]


def _design_vector(state: InterviewState, kb: Knowledge, turns: int = 4) -> np.ndarray | None:
    """The dense query for the design so far: the mean of the last answers' own vectors.

    An answer's vector is composed from its sentences' vectors, which were embedded when it
    was graded and stay cached, so with the local model this runs no model; and every recent
    answer counts, not only the first 256 tokens of their concatenation.
    """
    vectors = [v for v in (kb.answer_vector(t.text) for t in state.candidate_turns()[-turns:]) if v is not None]
    if not vectors:
        return None
    return normalise(np.mean(vectors, axis=0))


def pick_stress(state: InterviewState, kb: Knowledge) -> StressTest | None:
    """A stress test relevant to the design so far, for this phase and level, never repeated."""
    phase, asked = state.phase, set(state.asked_stress)
    design = _design_text(state)
    scores: dict[str, float] = {}
    if kb.retriever is not None and design.strip():
        hits = kb.retriever.search(design, k=12, filters=Filters(
            kind=("stress_test",), phase=(phase,), level=state.level, exclude_ids=frozenset(asked)),
            vector=_design_vector(state, kb))
        scores = {h.item_id: h.score for h in hits if h.item_id in kb.tests}
    own = kb.corpus.case(state.case_id)
    for test in own.stress_tests:  # the case's own tests are always candidates
        if test.phase == phase and test.id not in asked and kb.in_level(test, state.level):
            scores.setdefault(test.id, 0.0)
    if not scores:
        return None
    low = design.lower()

    def value(test_id: str) -> tuple[float, str]:
        test = kb.tests[test_id]
        triggers = sum(1 for t in test.triggers if t.lower() in low)
        bonus = 0.02 if any(t.id == test_id for t in own.stress_tests) else 0.0
        return (scores[test_id] + bonus + 0.004 * triggers, test_id)

    return kb.tests[max(scores, key=value)]


def detected_mistake(state: InterviewState, kb: Knowledge, grade: GradeResult | None) -> str | None:
    if grade is None:
        return None
    for verdict in grade.verdicts:
        item = kb.items.get(verdict.item_id)
        if (verdict.met and item and item.kind == "common_mistake"
                and verdict.item_id not in state.challenged and verdict.item_id != state.last_target):
            return verdict.item_id
    return None


def should_advance(state: InterviewState, kb: Knowledge, now: float, low: float, high: float) -> str | None:
    """A reason to leave the phase, or None."""
    used = phase_elapsed(state, now)
    budget_high = state.minutes * 60 * high
    if used >= budget_high:
        return f"time budget spent ({used:.0f}s of {budget_high:.0f}s)"
    turns = state.phase_turns.get(state.phase, 0)
    needed = required_stress(state, state.phase)
    if state.stress_in(state.phase) < needed:
        return None
    cov = coverage(state, kb, state.phase)
    if turns >= MIN_TURNS_TO_ADVANCE and cov >= COVERAGE_TO_ADVANCE:
        return f"coverage {cov:.0%} after {turns} answers"
    if state.phase == "summary" and turns >= 2:
        return "summary given"
    return None


def advance_or_wrap(state: InterviewState, reason: str) -> Move:
    index = PHASES.index(state.phase)
    if index + 1 >= len(PHASES):
        return Move(kind="wrap_up", reason=reason, phase=state.phase)
    return Move(kind="advance_phase", target=PHASES[index + 1], reason=reason, phase=state.phase)


def _stress_move(state: InterviewState, kb: Knowledge, reason: str) -> Move | None:
    test = pick_stress(state, kb)
    if test is None or test.id == state.last_target:
        return None
    return Move(kind="stress_test", target=test.id, reason=reason, phase=state.phase)


def _probe_move(state: InterviewState, kb: Knowledge) -> Move | None:
    item = pick_probe(state, kb)
    if item is None:
        return None
    return Move(kind="probe_gap", target=item.id, reason=f"unmet {item.kind} worth {item.points}",
                phase=state.phase)


def in_phase_move(state: InterviewState, kb: Knowledge) -> Move:
    """Within a phase: stress tests where the phase needs them, otherwise probe the top gap."""
    needed = required_stress(state, state.phase) - state.stress_in(state.phase)
    last = state.last_interviewer()
    last_kind = last.move.kind if last and last.move else None
    if needed > 0 and last_kind != "stress_test":
        move = _stress_move(state, kb, f"{needed} more stress test(s) needed in {state.phase}")
        if move:
            return move
    if state.phase == "deep_dive" and state.stress_in("deep_dive") < 5 and last_kind == "probe_gap":
        move = _stress_move(state, kb, "alternate probing with scenarios in the deep dive")
        if move:
            return move
    move = _probe_move(state, kb) or _stress_move(state, kb, "no unprobed gaps left")
    return move or advance_or_wrap(state, "nothing left to ask in this phase")


def plan(state: InterviewState, kb: Knowledge, event: Event, grade: GradeResult | None,
         now: float) -> Move:
    """Decide the interviewer's next move and why."""
    phase = kb.corpus.phase(state.phase)
    low, high = phase.time_share
    if event.kind == "end" or now - state.started_at >= state.minutes * 60:
        return Move(kind="wrap_up", reason="candidate ended" if event.kind == "end" else
                    "interview time is up", phase=state.phase)
    if event.kind == "hint":
        target = state.active_stress or state.last_target
        return Move(kind="give_hint", target=target, reason="candidate asked for a hint",
                    phase=state.phase)
    if event.kind == "move_on":
        needed = required_stress(state, state.phase) - state.stress_in(state.phase)
        if needed > 0:
            move = _stress_move(state, kb, f"move-on requested but {needed} stress test(s) still due")
            if move:
                return move
        return advance_or_wrap(state, "candidate asked to move on")
    if phase_elapsed(state, now) >= state.minutes * 60 * high:
        return advance_or_wrap(state, "time budget of the phase spent")
    questions = questions_in(event.text)
    statements = len(re.split(r"(?<=[.!?])\s+|\n+", event.text.strip())) - len(questions)
    if questions and (state.phase == "clarify" or statements <= 0):
        facts = kb.match_facts(state.case_id, questions)
        if facts or state.phase == "clarify":
            target = next((f.id for f in facts if f.id != state.last_target), None)
            return Move(kind="answer_clarification", target=target, facts=[f.id for f in facts],
                        phase=state.phase,
                        reason=f"{len(questions)} question(s), {len(facts)} fact(s) matched")
    mistake = detected_mistake(state, kb, grade)
    if mistake:
        return Move(kind="challenge_mistake", target=mistake, reason="common mistake detected",
                    phase=state.phase)
    reason = should_advance(state, kb, now, low, high)
    if reason:
        return advance_or_wrap(state, reason)
    return in_phase_move(state, kb)
