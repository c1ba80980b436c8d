"""The labelled grading set (``evals/grading/*.yaml``): models, scope and loading.

Each answer lists the rubric items a careful human judged *met*; every other item in its
scope is *not met*. Scope = the framework items of the phase + the case's items of the
phase + the stress test's items when the answer responds to one. ``split`` is fixed in the
files: calibration reads only ``dev``; reports gate on ``test``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, model_validator

from service.corpus.loader import (
    Corpus,
    load_case_file,
    load_corpus,
    load_framework_file,
    parse_yaml,
    read_text,
    validate,
)
from service.corpus.models import Phase, RubricItem, Strict
from service.errors import CorpusError

Style = Literal["strong", "average", "weak", "keyword_stuffing", "prompt_injection", "off_topic",
                "empty", "rambling", "terse_correct", "mistake"]


class LabelledAnswer(Strict):
    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")]
    split: Literal["dev", "test"]
    phase: Phase
    stress_test: str | None = None
    question: str
    style: Style
    answer: str
    band: int = Field(ge=1, le=4)
    met: list[str] = Field(default_factory=list)
    band_b: int | None = Field(None, ge=1, le=4)
    met_b: list[str] | None = None

    @model_validator(mode="after")
    def _pairs(self) -> LabelledAnswer:
        if (self.band_b is None) != (self.met_b is None):
            raise ValueError("a second labelling pass needs both band_b and met_b")
        return self


class GradingFile(Strict):
    case: str
    answers: list[LabelledAnswer] = Field(min_length=1)


def scope(corpus: Corpus, case_id: str, phase: str, stress_test: str | None) -> list[RubricItem]:
    case = corpus.case(case_id)
    items = list(corpus.phase(phase).rubric) + [i for i in case.rubric if i.phase == phase]
    if stress_test:
        tests = corpus.stress_tests()
        if stress_test not in tests:
            raise CorpusError(f"unknown stress test {stress_test!r}")
        items += list(tests[stress_test].rubric)
    return items


def load_grading(root: Path, corpus: Corpus) -> list[tuple[str, LabelledAnswer]]:
    """All labelled answers as (case id, answer); labels must name items in scope."""
    out: list[tuple[str, LabelledAnswer]] = []
    seen: set[str] = set()
    for path in sorted(root.glob("*.yaml")):
        data = validate(GradingFile, parse_yaml(read_text(path), path), path)
        for ans in data.answers:
            ids = {i.id for i in scope(corpus, data.case, ans.phase, ans.stress_test)}
            bad = sorted(set(ans.met) - ids) + sorted(set(ans.met_b or []) - ids)
            if bad:
                raise CorpusError(f"{path}: {ans.id}: labels outside the scope: {bad[:5]}")
            if ans.id in seen:
                raise CorpusError(f"{path}: duplicate answer id {ans.id}")
            seen.add(ans.id)
            out.append((data.case, ans))
    return out


def main(argv: list[str]) -> int:
    """``python -m service.evals.grading_data CASE PHASE [STRESS_ID]`` prints the scope;
    ``python -m service.evals.grading_data --check`` validates evals/grading/."""
    if argv and argv[0] == "--check":
        corpus = load_corpus(Path("corpus"))
        rows = load_grading(Path("evals/grading"), corpus)
        print(f"OK {len(rows)} answers, {sum(1 for _, a in rows if a.met_b is not None)} double-labelled")
        return 0
    corpus = Corpus(root=Path("corpus"))
    for path in sorted(Path("corpus/framework").glob("*.yaml")):
        corpus.phases.append(load_framework_file(path))
    case = load_case_file(Path(f"corpus/cases/{argv[0]}.yaml"))
    corpus.cases[case.id] = case
    for item in scope(corpus, argv[0], argv[1], argv[2] if len(argv) > 2 else None):
        print(f"{item.id} [{item.kind}, {item.min_level}]: {item.criterion}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
