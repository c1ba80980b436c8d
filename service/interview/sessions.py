"""Durable interview sessions: every candidate message is committed before it is processed,
every server event is stored with a per-session sequence number, and no state lives only
in process memory — any process can continue any session.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy.exc import IntegrityError

from service.corpus.models import PHASES
from service.errors import ConflictError, InvalidInputError
from service.interview.engine import Interview
from service.interview.knowledge import Knowledge
from service.interview.report import scorecard
from service.interview.state import InterviewState, Turn
from service.llm.base import ChatModel
from service.store.repo import Repo

DRIVING = ("answer", "hint", "move_on", "end")
DELTA_FLUSH_CHARS = 48
FOLLOW_POLL_S = 0.1  # how often a replica that is not processing looks for the processor's events
FOLLOW_TIMEOUT_S = 300.0  # stop relaying after this; the events stay in the log for a resume


class SessionService:
    def __init__(self, kb: Knowledge, repo: Repo, model: ChatModel | None = None,
                 on_turn: Callable[[Turn], None] | None = None) -> None:
        self.kb = kb
        self.repo = repo
        self.model = model
        self.prompt_version = kb.prompts.version()
        self.on_turn = on_turn

    # ---- lifecycle --------------------------------------------------------------------
    def create(self, case_id: str, level: str, minutes: int, mode: str) -> tuple[str, str]:
        """Create a session and store its opening turn; returns (session id, token)."""
        interview = Interview.new(self.kb, case_id, level, minutes, mode, now=time.time(),
                                  seed=int(time.time() * 1000) % 100_000, model=self.model)
        session_id, token = self.repo.create_session(case_id, level, minutes, mode,
                                                     interview.state.model_dump(mode="json"))
        opening = interview.open(time.time())
        opening.prompt_version = self.prompt_version
        with self.repo.tx(write=True) as db:
            self.repo.save_state(db, session_id, 0, interview.state.model_dump(mode="json"), "active")
            self.repo.append_events(db, session_id, self._after_turn(interview, opening, None))
        return session_id, token

    def load(self, session_id: str) -> tuple[InterviewState, int, str]:
        row = self.repo.get(session_id)
        return InterviewState.model_validate(row.state), row.version, row.mode

    # ---- driving ----------------------------------------------------------------------
    def submit(self, session_id: str, kind: str, client_id: str, text: str = "") -> Iterator[dict[str, Any]]:
        """Commit the message, acknowledge it, then process everything pending (streaming)."""
        if kind not in DRIVING:
            raise InvalidInputError(f"unknown message type {kind!r}")
        if "\x00" in text or "\x00" in client_id:
            raise InvalidInputError("text and client_id must not contain NUL characters")
        if kind == "answer":
            self.kb.prefetch_answer(text)  # embedding overlaps with storing the message and loading the state
        fresh, ack = self.repo.record_message(session_id, client_id, kind, text,
                                              ack={"type": "ack", "client_id": client_id, "duplicate": False})
        if not fresh:  # seen before: acknowledged again, processed once
            ack = self.repo.emit(session_id, [{"type": "ack", "client_id": client_id, "duplicate": True}])
        yield from ack
        yield from self.process_pending(session_id, after=ack[-1]["seq"])

    def process_pending(self, session_id: str, after: int | None = None) -> Iterator[dict[str, Any]]:
        """Process committed but unprocessed messages in order (also after a crash).

        One worker in any replica processes a session at a time (``Repo.processing_lock``, which
        dies with its holder). Anyone else relays the events that worker stores, after seq
        ``after`` (default: from now), until nothing is pending — or takes over if it goes away.
        """
        cursor = self.repo.last_seq(session_id) if after is None else after
        deadline = time.monotonic() + FOLLOW_TIMEOUT_S
        while True:
            with self.repo.processing_lock(session_id) as mine:
                if mine:  # first what a previous holder stored since the cursor, then our own work
                    yield from self.repo.events_after(session_id, cursor)
                    yield from self._drain(session_id)
                    return
            idle = not self.repo.pending_messages(session_id)  # read before the events: none missed
            for event in self.repo.events_after(session_id, cursor):
                cursor = event["seq"]
                yield event
            if idle or time.monotonic() > deadline:
                return
            time.sleep(FOLLOW_POLL_S)

    def _drain(self, session_id: str) -> Iterator[dict[str, Any]]:
        """Holding the session's lock: process pending messages, including ones arriving meanwhile."""
        tried: set[str] = set()
        while True:
            todo = [m for m in self.repo.pending_messages(session_id) if m.client_id not in tried]
            if not todo:
                return
            tried.add(todo[0].client_id)
            yield from self._process(session_id, todo[0].client_id, todo[0].type, todo[0].text)

    def _process(self, session_id: str, client_id: str, kind: str, text: str) -> Iterator[dict[str, Any]]:
        state, version, _ = self.load(session_id)
        interview = Interview(self.kb, state, self.model)
        now = time.time()
        try:
            pending = interview.prepare(kind, text, now)
        except InvalidInputError as exc:
            code = "session_ended" if state.finished else "invalid_message"
            yield from self._fail(session_id, client_id, code, str(exc))
            return
        turn_index = len(state.turns)
        buffer, offset = "", 0
        for delta in interview.stream(pending):
            buffer += delta
            if len(buffer) >= DELTA_FLUSH_CHARS or offset == 0:  # the first text goes out at once (TTFT)
                yield from self.repo.emit(session_id, [self._delta(turn_index, offset, buffer)])
                offset, buffer = offset + len(buffer), ""
        if buffer:
            yield from self.repo.emit(session_id, [self._delta(turn_index, offset, buffer)])
        turn = interview.finish(pending, time.time())
        turn.prompt_version = self.prompt_version
        if self.on_turn:
            self.on_turn(turn)
        events = self._after_turn(interview, turn, pending.candidate)
        try:
            with self.repo.tx(write=True) as db:
                self.repo.save_state(db, session_id, version, interview.state.model_dump(mode="json"),
                                     "finished" if interview.state.finished else "active")
                stored = self.repo.append_events(db, session_id, events)
                self.repo.mark_processed(db, session_id, client_id)
                if interview.state.finished:  # grading version 1 commits with the final state
                    self.repo.insert_grading(db, session_id, *self._grading(interview.state))
        except (ConflictError, IntegrityError):
            return  # another process handled this message first; its events are in the log
        yield from stored

    def _fail(self, session_id: str, client_id: str, code: str, message: str) -> Iterator[dict[str, Any]]:
        with self.repo.tx(write=True) as db:
            stored = self.repo.append_events(db, session_id, [{"type": "error", "code": code, "message": message}])
            self.repo.mark_processed(db, session_id, client_id)
        yield from stored

    @staticmethod
    def _delta(turn: int, offset: int, text: str) -> dict[str, Any]:
        return {"type": "interviewer_delta", "turn": turn, "offset": offset, "text": text}

    # ---- events -----------------------------------------------------------------------
    def phase_event(self, state: InterviewState, now: float | None = None) -> dict[str, Any]:
        now = time.time() if now is None else now
        rows = []
        for phase in PHASES:
            budget = state.minutes * 60 * self.kb.corpus.phase(phase).time_share[1]
            used = state.phase_used.get(phase, 0.0)
            if phase == state.phase and not state.finished:
                used += max(0.0, now - state.phase_started_at)
            rows.append({"id": phase, "budget_s": round(budget), "used_s": round(used),
                         "left_s": round(max(0.0, budget - used))})
        return {"type": "phase", "phase": state.phase, "phases": rows, "finished": state.finished,
                "elapsed_s": round(max(0.0, now - state.started_at)), "total_s": state.minutes * 60}

    def _after_turn(self, interview: Interview, turn: Turn, candidate: Turn | None) -> list[dict[str, Any]]:
        state = interview.state
        move = turn.move.kind if turn.move else None
        events: list[dict[str, Any]] = [
            {"type": "interviewer_done", "turn": turn.index, "text": turn.text, "move": move,
             "phase": turn.phase, "fallback": turn.fallback},
            self.phase_event(state),
        ]
        if candidate is not None and candidate.action == "answer" and state.mode == "practice":
            events.append(self.grade_event(candidate))
        if state.finished:
            events.append({"type": "scorecard", "scorecard": scorecard(state, self.kb).model_dump(mode="json")})
        return events

    def grade_event(self, candidate: Turn) -> dict[str, Any]:
        met = [{"item_id": v.item_id, "evidence": v.evidence,
                "criterion": self.kb.items[v.item_id].criterion if v.item_id in self.kb.items else ""}
               for v in candidate.verdicts if v.met and self.kb.items.get(v.item_id)
               and self.kb.items[v.item_id].kind != "common_mistake"]
        mistakes = [{"item_id": v.item_id, "evidence": v.evidence} for v in candidate.verdicts
                    if v.met and self.kb.items.get(v.item_id) and self.kb.items[v.item_id].kind == "common_mistake"]
        return {"type": "grade", "turn": candidate.index, "met": met, "mistakes": mistakes,
                "in_scope": len(candidate.verdicts), "flags": candidate.flags}

    def _grading(self, state: InterviewState) -> tuple[str, str, dict[str, Any], dict[str, Any]]:
        """(grader, prompt version, scorecard, verdicts per candidate turn) for a grading row."""
        card = scorecard(state, self.kb).model_dump(mode="json")
        verdicts = {str(t.index): [v.model_dump() for v in t.verdicts] for t in state.candidate_turns()}
        return self.kb.grader.name, self.prompt_version, card, verdicts

    def _store_grading(self, session_id: str, state: InterviewState) -> None:
        self.repo.add_grading(session_id, *self._grading(state))

    # ---- re-grading -------------------------------------------------------------------
    def regrade(self, session_id: str) -> dict[str, Any]:
        """Grade the stored transcript again; keep every version and report the differences."""
        from service.interview.replay import diff, regrade

        state, _, _ = self.load(session_id)
        previous = self.repo.gradings(session_id)
        if not previous:
            self._store_grading(session_id, state)
            previous = self.repo.gradings(session_id)
        fresh = regrade(state, self.kb)
        card = scorecard(fresh, self.kb).model_dump(mode="json")
        verdicts = {str(t.index): [v.model_dump() for v in t.verdicts] for t in fresh.candidate_turns()}
        version = self.repo.add_grading(session_id, self.kb.grader.name, self.prompt_version, card, verdicts)
        return {"version": version, "scorecard": card, "diff": diff(previous[-1].scorecard, card)}
