"""The interview engine: grade the answer, let the planner decide, phrase the move, update state.

A turn is three steps so that an edge can stream: ``prepare`` (grade + plan), ``stream``
(text deltas), ``finish`` (record the interviewer turn and apply the move). ``respond``
does all three at once.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from service.corpus.models import RubricItem
from service.errors import InvalidInputError
from service.grading.text import without_injection
from service.grading.verdicts import GradeResult
from service.interview.knowledge import Knowledge
from service.interview.phrasing import Phrasing, stream_phrasing
from service.interview.planner import Event, plan
from service.interview.state import InterviewState, ItemRecord, Move, Turn
from service.llm.base import ChatModel
from service.retrieval.embeddings import shared_embeddings
from service.retrieval.search import Filters

ACTIONS = ("answer", "hint", "move_on", "end")
REF_SCOPE_K = 4


@dataclass
class Pending:
    move: Move
    candidate: Turn | None
    phrasing: Phrasing = field(default_factory=lambda: Phrasing("", ""))
    started: float = field(default_factory=time.perf_counter)
    stages: dict[str, float] = field(default_factory=dict)


class Interview:
    def __init__(self, kb: Knowledge, state: InterviewState, model: ChatModel | None = None,
                 summary_budget: int = 600) -> None:
        self.kb = kb
        self.state = state
        self.model = model
        self.summary_budget = summary_budget

    @classmethod
    def new(cls, kb: Knowledge, case_id: str, level: str = "senior", minutes: int = 45,
            mode: str = "practice", now: float = 0.0, seed: int = 0,
            model: ChatModel | None = None) -> Interview:
        case = kb.corpus.case(case_id)
        if minutes < 10 or minutes > 180:
            raise InvalidInputError("minutes must be between 10 and 180")
        state = InterviewState(case_id=case.id, level=level, minutes=minutes, mode=mode,  # type: ignore[arg-type]
                               started_at=now, phase_started_at=now, seed=seed)
        return cls(kb, state, model)

    # ---- scope and grading -------------------------------------------------------------
    def scope_items(self, text: str) -> tuple[list[RubricItem], list[str], list[str]]:
        """Items to grade this answer against, the chunk ids and item ids retrieved for it."""
        st = self.state
        items = {i.id: i for i in self.kb.phase_items(st.case_id, st.phase, st.level)}
        if st.active_stress:
            items.update({i.id: i for i in self.kb.tests[st.active_stress].rubric})
        retrieved: list[str] = []
        extra: list[str] = []
        query = without_injection(text)
        if self.kb.retriever is not None and query.strip():
            hits = self.kb.retriever.search(query, k=REF_SCOPE_K, filters=Filters(
                kind=("rubric",), phase=(st.phase,), level=st.level), vector=self.kb.answer_vector(text))
            for hit in hits:
                owner = str(hit.metadata.get("owner", ""))
                if owner.startswith("ref.") and hit.dense_rank and hit.bm25_rank and hit.item_id in self.kb.items:
                    items.setdefault(hit.item_id, self.kb.items[hit.item_id])
                    retrieved.append(hit.id)
                    extra.append(hit.item_id)
        return list(items.values()), retrieved, extra

    def _record(self, grade: GradeResult, turn_index: int) -> None:
        for verdict in grade.verdicts:
            record = self.state.items.get(verdict.item_id)
            if verdict.met and not (record and record.met):
                self.state.items[verdict.item_id] = ItemRecord(met=True, evidence=verdict.evidence,
                                                               turn=turn_index, source=verdict.source)
            elif record is None:
                self.state.items[verdict.item_id] = ItemRecord(source=verdict.source)

    def _grade(self, turn: Turn, pending: Pending) -> GradeResult:
        t0 = time.perf_counter()
        items, retrieved, extra = self.scope_items(turn.text)
        pending.stages["retrieve"] = time.perf_counter() - t0
        t1 = time.perf_counter()
        last = self.state.last_interviewer()
        context = {"phase": self.state.phase, "case_title": self.kb.corpus.case(self.state.case_id).title,
                   "question": last.text[-400:] if last else ""}
        grade = self.kb.grader.grade(turn.text, items, context)
        pending.stages["grade"] = time.perf_counter() - t1
        turn.verdicts, turn.scope, turn.retrieved = grade.verdicts, [i.id for i in items], retrieved
        turn.flags = [f for f, on in (("prompt_injection", grade.injection),
                                      ("keyword_stuffing", grade.keyword_stuffing)) if on]
        turn.fallback = grade.fallback
        scope = self.state.scope.setdefault(self.state.phase, [])
        scope += [i for i in extra if i not in scope]
        self._record(grade, turn.index)
        return grade

    # ---- the three steps of a turn -------------------------------------------------------
    def begin(self, now: float) -> Pending:
        if self.state.turns:
            raise InvalidInputError("the interview has already started")
        return Pending(Move(kind="opening", reason="interview starts", phase="clarify"), None)

    def prepare(self, action: str, text: str, now: float) -> Pending:
        st = self.state
        if st.finished:
            raise InvalidInputError("the interview has ended")
        if action not in ACTIONS:
            raise InvalidInputError(f"unknown action {action!r}; use one of {', '.join(ACTIONS)}")
        if action == "answer" and not text.strip():
            raise InvalidInputError("an answer needs some text")
        turn = Turn(index=len(st.turns), role="candidate", phase=st.phase, text=text.strip(), at=now,
                    action=action)  # type: ignore[arg-type]
        st.turns.append(turn)
        pending = Pending(Move(kind="wrap_up", reason="", phase=st.phase), turn)
        grade = None
        with shared_embeddings():  # retrieval, grading and fact matching embed the answer once
            if action == "answer":
                st.phase_turns[st.phase] = st.phase_turns.get(st.phase, 0) + 1
                grade = self._grade(turn, pending)
            t0 = time.perf_counter()
            pending.move = plan(st, self.kb, Event(action, text), grade, now)
            pending.stages["plan"] = time.perf_counter() - t0
        if pending.move.kind == "give_hint":
            key = pending.move.target or st.phase
            st.hints[key] = st.hints.get(key, 0) + 1
        return pending

    def stream(self, pending: Pending) -> Iterator[str]:
        candidate = pending.candidate.text if pending.candidate else ""
        yield from stream_phrasing(pending.move, self.state, self.kb, self.model, candidate,
                                   self.summary_budget, pending.phrasing)

    def finish(self, pending: Pending, now: float) -> Turn:
        st, move, ph = self.state, pending.move, pending.phrasing
        turn = Turn(index=len(st.turns), role="interviewer", phase=st.phase, text=ph.text, at=now,
                    move=move, model=ph.model, prompt_tokens=ph.usage.prompt_tokens,
                    completion_tokens=ph.usage.completion_tokens, fallback=ph.fallback,
                    latency_ms=round((time.perf_counter() - pending.started) * 1000, 2))
        st.turns.append(turn)
        st.prompt_tokens += ph.usage.prompt_tokens
        st.completion_tokens += ph.usage.completion_tokens
        st.cost_usd += ph.usage.cost_usd
        self._apply(move, now)
        return turn

    def _apply(self, move: Move, now: float) -> None:
        st = self.state
        if move.target and move.kind not in ("give_hint", "advance_phase"):
            st.asked_targets.append(move.target)
        if move.kind != "give_hint":
            st.last_target = move.target if move.kind != "advance_phase" else None
            st.active_stress = None
        if move.kind == "stress_test" and move.target:
            st.asked_stress.append(move.target)
            st.stress_phase[move.target] = st.phase
            st.active_stress = move.target
            scope = st.scope.setdefault(st.phase, [])
            scope += [i.id for i in self.kb.tests[move.target].rubric if i.id not in scope]
        elif move.kind == "challenge_mistake" and move.target:
            st.challenged.append(move.target)
        elif move.kind in ("advance_phase", "wrap_up"):
            st.phase_used[st.phase] = st.phase_used.get(st.phase, 0.0) + max(0.0, now - st.phase_started_at)
            st.phase_started_at = now
            if move.kind == "wrap_up":
                st.finished = True
            elif move.target:
                st.phase = move.target  # type: ignore[assignment]
                st.reached.append(move.target)

    def respond(self, action: str, text: str = "", now: float | None = None) -> Turn:
        now = time.time() if now is None else now
        pending = self.prepare(action, text, now)
        for _ in self.stream(pending):
            pass
        return self.finish(pending, now)

    def open(self, now: float | None = None) -> Turn:
        now = time.time() if now is None else now
        pending = self.begin(now)
        for _ in self.stream(pending):
            pass
        return self.finish(pending, now)
