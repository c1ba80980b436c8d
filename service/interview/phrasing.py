"""Turn a planner move into interviewer text: offline templates, or an LLM phrasing the same move.

The material handed to either path is what the interviewer may say (facts, probe questions,
stress-test questions, hints) — never rubric criteria or the model outline.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from service.errors import ModelError
from service.interview.knowledge import Knowledge
from service.interview.state import InterviewState, Move
from service.llm.base import ChatModel, Message, Usage
from service.llm.tokens import count_tokens

INSTRUCTIONS = {
    "opening": "Welcome the candidate, present the case prompt faithfully, and invite clarifying questions.",
    "answer_clarification": "Answer the candidate's question(s) using only the facts given. If there are no "
                            "facts, tell them it is unspecified and ask them to state an assumption.",
    "probe_gap": "Briefly acknowledge their last point, then ask the probe question in your own words.",
    "stress_test": "Present this scenario as a challenge to their design and ask how it holds up.",
    "challenge_mistake": "Push back on the quoted part of their answer and ask the challenge question.",
    "give_hint": "Give this hint without giving the full answer.",
    "advance_phase": "Close the current step and open the next one as described.",
    "wrap_up": "Thank the candidate and close the interview; mention the scorecard is ready.",
}


@dataclass
class Phrasing:
    text: str
    material: str
    model: str = "offline"
    usage: Usage = field(default_factory=Usage)
    fallback: str | None = None


def variant(state: InterviewState, salt: str) -> int:
    digest = hashlib.sha256(f"{state.seed}:{len(state.turns)}:{salt}".encode()).hexdigest()
    return int(digest[:8], 16)


def _short_quote(text: str | None, words: int = 18) -> str:
    parts = (text or "").replace('"', "'").split()
    return " ".join(parts[:words]) + ("…" if len(parts) > words else "")


def _hint(move: Move, state: InterviewState, kb: Knowledge) -> str:
    target = move.target
    ladder: list[str] = []
    if target in kb.tests:
        ladder = list(kb.tests[target].hints)
    elif target in kb.items:
        ladder = list(kb.items[target].hints) or ([f"Think about this: {kb.items[target].probe}"]
                                                  if kb.items[target].probe else [])
    if not ladder:
        looks = kb.corpus.phase(state.phase).looks_for
        ladder = [f"At this step, interviewers look for this: {x}" for x in looks]
    step = max(0, state.hints.get(target or state.phase, 1) - 1)
    return ladder[min(step, len(ladder) - 1)]


def material(move: Move, state: InterviewState, kb: Knowledge) -> dict[str, str]:
    """The variables of the move: what may be said, keyed as the templates expect."""
    case = kb.corpus.case(state.case_id)
    if move.kind == "opening":
        return {"title": case.title, "prompt": case.prompt,
                "phase_opening": kb.corpus.phase("clarify").opening}
    if move.kind == "answer_clarification":
        facts = {f.id: f for f in case.clarifications}
        return {"answers": " ".join(facts[f].answer for f in move.facts)}
    if move.kind == "probe_gap":
        return {"question": kb.items[move.target or ""].probe or "",
                "ack": kb.prompts.render("offline/ack", variant(state, "ack"))}
    if move.kind == "stress_test":
        return {"question": kb.tests[move.target or ""].question}
    if move.kind == "challenge_mistake":
        item = kb.items[move.target or ""]
        record = state.items.get(item.id)
        question = item.probe or kb.prompts.render("offline/challenge_generic", variant(state, "cg"))
        return {"quote": _short_quote(record.evidence if record else ""), "question": question}
    if move.kind == "give_hint":
        return {"hint": _hint(move, state, kb)}
    if move.kind == "advance_phase":
        return {"transition": kb.corpus.phase(state.phase).transition,
                "opening": kb.corpus.phase(move.target or "summary").opening}
    return {}


def template_name(move: Move, mat: dict[str, str], state: InterviewState) -> str:
    if move.kind == "answer_clarification":
        return "offline/clarification" if mat["answers"] else "offline/no_fact"
    if move.kind == "stress_test":
        last = state.turns[-1] if state.turns else None
        return "offline/move_on_blocked" if last and last.action == "move_on" else "offline/stress_test"
    if move.kind == "challenge_mistake" and not mat["quote"]:
        return "offline/probe"
    return {"opening": "offline/opening", "probe_gap": "offline/probe", "challenge_mistake": "offline/challenge",
            "give_hint": "offline/hint", "advance_phase": "offline/advance",
            "wrap_up": "offline/wrap_up"}[move.kind]


def offline_text(move: Move, state: InterviewState, kb: Knowledge) -> tuple[str, str]:
    mat = material(move, state, kb)
    name = template_name(move, mat, state)
    if name == "offline/probe" and "ack" not in mat:
        mat = {"ack": kb.prompts.render("offline/ack", variant(state, "ack")), "question": mat["question"]}
    text = kb.prompts.render(name, variant(state, move.kind), **mat)
    return text, "\n".join(f"{k}: {v}" for k, v in mat.items() if k != "ack")


def running_summary(state: InterviewState, budget_tokens: int = 600) -> str:
    """A bounded digest of the interview: header plus the most recent turns that fit."""
    header = (f"Step: {state.phase}. Stress tests asked: {len(state.asked_stress)}. "
              f"Candidate answers so far: {len(state.candidate_turns())}.")
    lines: list[str] = []
    used = count_tokens(header)
    for turn in reversed(state.turns[-8:]):
        words = turn.text.split()
        line = f"{turn.role}: {' '.join(words[:45])}{' …' if len(words) > 45 else ''}"
        cost = count_tokens(line)
        if used + cost > budget_tokens:
            break
        lines.append(line)
        used += cost
    return "\n".join([header, *reversed(lines)])


def llm_messages(move: Move, state: InterviewState, kb: Knowledge, mat_text: str,
                 candidate: str, summary_budget: int) -> list[Message]:
    case = kb.corpus.case(state.case_id)
    system = kb.prompts.render("llm/interviewer_system", level=state.level, title=case.title)
    user = kb.prompts.render("llm/interviewer_turn", summary=running_summary(state, summary_budget),
                             candidate=candidate[-3000:] or "(nothing yet)", move=move.kind,
                             instruction=INSTRUCTIONS[move.kind], material=mat_text or "(none)")
    return [Message("system", system), Message("user", user)]


def stream_phrasing(move: Move, state: InterviewState, kb: Knowledge, model: ChatModel | None,
                    candidate: str, summary_budget: int, result: Phrasing) -> Iterator[str]:
    """Yield text deltas; on any model failure fall back to the offline text (recorded)."""
    text, mat_text = offline_text(move, state, kb)
    result.material = mat_text
    if model is None:
        result.text = text
        yield text
        return
    sent: list[str] = []
    try:
        for delta in model.stream(llm_messages(move, state, kb, mat_text, candidate, summary_budget)):
            sent.append(delta)
            yield delta
        result.text, result.model, result.usage = "".join(sent), model.name, model.last_usage
    except ModelError as exc:
        result.fallback, result.usage = str(exc)[:300], model.last_usage
        result.text = text
        yield ("\n\n" if sent else "") + text
