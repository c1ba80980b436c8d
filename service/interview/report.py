"""Build the scorecard of an interview from its state (scores by our code, not a model)."""

from __future__ import annotations

from service.corpus.models import RubricItem
from service.grading.scoring import ItemOutcome, Scorecard, build_scorecard, outcome, ratio
from service.interview.knowledge import Knowledge
from service.interview.state import InterviewState


def item_source(kb: Knowledge, item: RubricItem) -> tuple[str, str, str]:
    """(origin label, corpus file, section) for study pointers (memoised per item: the corpus is fixed)."""
    found = kb.sources.get(item.id)
    if found is None:
        found = kb.sources[item.id] = _find_source(kb, item)
    return found


def _find_source(kb: Knowledge, item: RubricItem) -> tuple[str, str, str]:
    corpus = kb.corpus
    owner = kb.owners.get(item.id)
    if owner:
        test = kb.tests[owner]
        holder = next((c.id for c in corpus.cases.values() if test in c.stress_tests), None)
        holder = holder or next(n.meta.id for n in corpus.references.values() if test in n.meta.stress_tests)
        return f"stress test: {test.title}", _rel(kb, holder), f"stress test: {test.title}"
    if item.id.startswith("fw."):
        phase = corpus.phase(item.phase)
        return "framework", _rel(kb, phase.id), phase.title
    for case in corpus.cases.values():
        if item in case.rubric:
            return f"case: {case.title}", _rel(kb, case.id), f"rubric: {item.phase}"
    for note in corpus.references.values():
        if item in note.meta.rubric:
            return f"reference: {note.meta.title}", _rel(kb, note.meta.id), note.meta.title
    return "", "", ""


def _rel(kb: Knowledge, owner: str) -> str:
    path = kb.corpus.sources[owner]
    return f"corpus/{path.relative_to(kb.corpus.root).as_posix()}"


def scoped_items(state: InterviewState, kb: Knowledge) -> list[RubricItem]:
    ids: dict[str, RubricItem] = {}
    for phase in state.reached:
        ids.update({i.id: i for i in kb.phase_items(state.case_id, phase, state.level)})
        ids.update({i: kb.items[i] for i in state.scope.get(phase, []) if i in kb.items})
    return list(ids.values())


def outcomes(state: InterviewState, kb: Knowledge) -> list[ItemOutcome]:
    rows = []
    for item in scoped_items(state, kb):
        record = state.items.get(item.id)
        hints = state.hints.get(item.id, 0) + state.hints.get(kb.owners.get(item.id, ""), 0)
        origin, source, section = item_source(kb, item)
        rows.append(outcome(item, bool(record and record.met), record.evidence if record else None,
                            hints, origin, source, section))
    return rows


def scorecard(state: InterviewState, kb: Knowledge) -> Scorecard:
    rows = outcomes(state, kb)
    card = build_scorecard(rows, state.level, state.reached)
    for test_id in state.asked_stress:
        test = kb.tests[test_id]
        mine = [r for r in rows if kb.owners.get(r.item_id) == test_id]
        card.stress_tests.append({"id": test_id, "title": test.title, "phase": test.phase,
                                  "question": test.question, "score": ratio(mine) or 0.0,
                                  "hints": state.hints.get(test_id, 0)})
    seen: set[tuple[str, str]] = set()
    for row in card.missed + card.mistakes:
        key = (row.source, row.section)
        if row.source and key not in seen:
            seen.add(key)
            card.study.append({"source": row.source, "section": row.section, "why": row.origin})
    card.study = card.study[:10]
    flags = [(t.index, f) for t in state.turns for f in t.flags]
    card.notes = [f"turn {n}: {flag.replace('_', ' ')} detected and ignored" for n, flag in flags]
    return card
