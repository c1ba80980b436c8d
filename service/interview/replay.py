"""Transcripts, exports and re-grading of stored sessions (every grading version is kept)."""

from __future__ import annotations

from typing import Any

from service.corpus.models import RubricItem
from service.interview.knowledge import Knowledge
from service.interview.report import scorecard
from service.interview.state import InterviewState, ItemRecord, Turn


def transcript(state: InterviewState) -> list[dict[str, Any]]:
    """Turns with per-turn verdicts, evidence, retrieved chunk ids, prompt version, model, tokens."""
    return [t.model_dump(mode="json") for t in state.turns]


def _stress_before(state: InterviewState, turn: Turn) -> str | None:
    previous = next((t for t in reversed(state.turns[: turn.index]) if t.role == "interviewer"), None)
    if previous and previous.move and previous.move.kind == "stress_test":
        return previous.move.target
    return None


def regrade_scope(state: InterviewState, kb: Knowledge, turn: Turn) -> list[RubricItem]:
    """The current rubric for what this answer responded to, plus still-existing retrieved items."""
    items = {i.id: i for i in kb.phase_items(state.case_id, turn.phase, state.level)}
    stress = _stress_before(state, turn)
    if stress and stress in kb.tests:
        items.update({i.id: i for i in kb.tests[stress].rubric})
    items.update({i: kb.items[i] for i in turn.scope if i in kb.items and i not in items})
    return list(items.values())


def regrade(state: InterviewState, kb: Knowledge) -> InterviewState:
    """Grade the stored transcript again with the current rubric and grader."""
    fresh = state.model_copy(deep=True)
    fresh.items = {}
    for turn in fresh.turns:
        if turn.role != "candidate" or turn.action != "answer":
            continue
        result = kb.grader.grade(turn.text, regrade_scope(fresh, kb, turn), {"phase": turn.phase})
        turn.verdicts = result.verdicts
        for verdict in result.verdicts:
            record = fresh.items.get(verdict.item_id)
            if verdict.met and not (record and record.met):
                fresh.items[verdict.item_id] = ItemRecord(met=True, evidence=verdict.evidence, turn=turn.index,
                                                          source=verdict.source)
            elif record is None:
                fresh.items[verdict.item_id] = ItemRecord(source=verdict.source)
    return fresh


def diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """What changed between two grading versions (scores and items that flipped)."""
    def met(card: dict[str, Any]) -> set[str]:
        return {r["item_id"] for r in card.get("met", [])} | {r["item_id"] for r in card.get("mistakes", [])}

    return {
        "overall": {"before": old.get("overall"), "after": new.get("overall")},
        "hire_call": {"before": old.get("hire_call"), "after": new.get("hire_call")},
        "phases": {p: {"before": old.get("phases", {}).get(p), "after": v}
                   for p, v in new.get("phases", {}).items() if old.get("phases", {}).get(p) != v},
        "newly_met": sorted(met(new) - met(old)),
        "no_longer_met": sorted(met(old) - met(new)),
    }


def export_markdown(state: InterviewState, kb: Knowledge) -> str:
    card = scorecard(state, kb)
    case = kb.corpus.case(state.case_id)
    lines = [f"# Mock interview: {case.title}", "",
             f"Level: {state.level} · {state.minutes} minutes · mode: {state.mode}", "",
             f"**Overall {card.overall:.0f}/100 — {card.hire_call}**", "", "| phase | score |", "| --- | --- |"]
    lines += [f"| {p} | {s:.0f} |" for p, s in card.phases.items()]
    lines += ["", "## Transcript", ""]
    for turn in state.turns:
        who = "Interviewer" if turn.role == "interviewer" else "Candidate"
        body = turn.text if turn.action in ("answer", "say") else f"*({turn.action.replace('_', ' ')})*"
        lines.append(f"**{who}** ({turn.phase}): {body}")
        met = [v for v in turn.verdicts if v.met]
        if met:
            lines.append("")
            lines += [f"> ✓ {v.item_id}: “{v.evidence}”" for v in met]
        lines.append("")
    lines += ["## Missed", ""] + [f"- {r.item_id}" for r in card.missed[:30]]
    lines += ["", "## Study", ""] + [f"- {s['source']} — {s['section']}" for s in card.study]
    return "\n".join(lines) + "\n"
