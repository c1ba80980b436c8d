"""Case-bank quality checks beyond schema validation (counts, coverage, consistency).

Used by the corpus tests and by ``python -m service.corpus.checks`` while authoring.
"""

from __future__ import annotations

import sys
from pathlib import Path

from service.corpus.loader import Corpus, load_corpus
from service.corpus.models import PHASES, Case, FrameworkPhase
from service.errors import CorpusError

REQUIRED_FACT_TOPICS = ("volume", "latency", "consumers", "sources", "retention", "stack")
MIN_FRAMEWORK_ITEMS = {"clarify": 8, "high_level": 8, "deep_dive": 8, "cross_cutting": 8, "summary": 4}
MIN_CASE_ITEMS = {"clarify": 5, "high_level": 5, "deep_dive": 5, "cross_cutting": 5, "summary": 1}
MIN_FACTS = 8
MIN_STRESS_TESTS = 6


def check_phase(phase: FrameworkPhase) -> list[str]:
    need = MIN_FRAMEWORK_ITEMS[phase.id]
    if len(phase.rubric) < need:
        return [f"framework {phase.id}: {len(phase.rubric)} rubric items, need >= {need}"]
    return []


def check_case(case: Case) -> list[str]:
    problems: list[str] = []
    if len(case.clarifications) < MIN_FACTS:
        problems.append(f"{case.id}: {len(case.clarifications)} clarification facts, need >= 8")
    topics = {f.topic for f in case.clarifications}
    missing = [t for t in REQUIRED_FACT_TOPICS if t not in topics]
    if missing:
        problems.append(f"{case.id}: no clarification fact for topics {missing}")
    for phase, need in MIN_CASE_ITEMS.items():
        have = sum(1 for i in case.rubric if i.phase == phase)
        if have < need:
            problems.append(f"{case.id}: {have} rubric items in {phase}, need >= {need}")
    if len(case.stress_tests) < MIN_STRESS_TESTS:
        problems.append(f"{case.id}: {len(case.stress_tests)} stress tests, need >= 6")
    for item in case.rubric:
        if item.kind == "key_point" and not item.probe:
            problems.append(f"{case.id}: key_point {item.id} has no probe question")
    return problems


def check_corpus(corpus: Corpus) -> list[str]:
    """Return every problem found; an empty list means the bank meets the bar."""
    problems: list[str] = []
    have = [p.id for p in corpus.phases]
    if have != list(PHASES):
        problems.append(f"framework phases are {have}, expected {list(PHASES)}")
    for phase in corpus.phases:
        problems += check_phase(phase)
    for case in corpus.cases.values():
        problems += check_case(case)
    return problems


def counts(corpus: Corpus) -> list[dict[str, object]]:
    """Per-case counts for reports and closing notes."""
    rows = []
    for case in corpus.cases.values():
        tests = case.stress_tests
        rows.append({
            "case": case.id,
            "facts": len(case.clarifications),
            "rubric": len(case.rubric),
            "per_phase": {p: sum(1 for i in case.rubric if i.phase == p) for p in PHASES},
            "stress_tests": len(tests),
            "stress_items": sum(len(t.rubric) for t in tests),
        })
    return rows


def main(argv: list[str]) -> int:
    root = Path(argv[0]) if argv else Path("corpus")
    try:
        corpus = load_corpus(root)
    except CorpusError as exc:
        print(f"INVALID\n{exc}")
        return 1
    for row in counts(corpus):
        print(row)
    print(f"references: {len(corpus.references)}, items: {len(corpus.rubric_items())}, "
          f"stress tests: {len(corpus.stress_tests())}")
    problems = check_corpus(corpus)
    for problem in problems:
        print("PROBLEM", problem)
    print("OK" if not problems else f"{len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
