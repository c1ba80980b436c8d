"""Load and validate the structured corpus (framework, cases, reference notes).

Errors name the file and the field path, e.g.
``corpus/cases/x.yaml: rubric.3.points: a common_mistake must have negative points``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from service.corpus.models import (
    Case,
    FrameworkPhase,
    ReferenceMeta,
    ReferenceNote,
    RubricItem,
    StressTest,
)
from service.errors import CorpusError

M = TypeVar("M", bound=BaseModel)
MAX_FILE_BYTES = 2_000_000


@dataclass
class Corpus:
    """Everything in ``corpus/``, validated, with lookup helpers."""

    root: Path
    phases: list[FrameworkPhase] = field(default_factory=list)
    cases: dict[str, Case] = field(default_factory=dict)
    references: dict[str, ReferenceNote] = field(default_factory=dict)
    sources: dict[str, Path] = field(default_factory=dict)

    def rubric_items(self) -> dict[str, RubricItem]:
        """Every rubric item in the corpus by id (framework, cases, stress tests, notes)."""
        items: dict[str, RubricItem] = {}
        for phase in self.phases:
            items.update({i.id: i for i in phase.rubric})
        for case in self.cases.values():
            items.update({i.id: i for i in case.rubric})
            for test in case.stress_tests:
                items.update({i.id: i for i in test.rubric})
        for note in self.references.values():
            items.update({i.id: i for i in note.meta.rubric})
            for test in note.meta.stress_tests:
                items.update({i.id: i for i in test.rubric})
        return items

    def stress_tests(self) -> dict[str, StressTest]:
        tests = {t.id: t for c in self.cases.values() for t in c.stress_tests}
        tests.update({t.id: t for n in self.references.values() for t in n.meta.stress_tests})
        return tests

    def phase(self, phase_id: str) -> FrameworkPhase:
        for phase in self.phases:
            if phase.id == phase_id:
                return phase
        raise CorpusError(f"framework has no phase {phase_id!r}")

    def case(self, case_id: str) -> Case:
        try:
            return self.cases[case_id]
        except KeyError:
            known = ", ".join(sorted(self.cases)) or "none"
            raise CorpusError(f"unknown case {case_id!r} (known: {known})") from None


def read_text(path: Path, limit: int = MAX_FILE_BYTES) -> str:
    """Read a UTF-8 text file, rejecting empty, oversized and binary files clearly."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CorpusError(f"{path}: cannot read file: {exc.strerror or exc}") from exc
    if len(raw) > limit:
        raise CorpusError(f"{path}: file is {len(raw):,} bytes, over the {limit:,}-byte limit")
    if not raw.strip():
        raise CorpusError(f"{path}: file is empty")
    if b"\x00" in raw[:8192]:
        raise CorpusError(f"{path}: looks like a binary file, expected UTF-8 text")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CorpusError(f"{path}: not valid UTF-8 (byte {exc.start})") from exc


def parse_yaml(text: str, path: Path) -> object:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise CorpusError(f"{path}:{where}: malformed YAML: {problem}") from exc


def validate(model: type[M], data: object, path: Path) -> M:
    """Validate ``data`` as ``model``; the error names the file and every bad field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors()[:10]:
            loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
            lines.append(f"{path}: {loc}: {err['msg']}")
        raise CorpusError("\n".join(lines)) from exc


def split_front_matter(text: str, path: Path) -> tuple[object, str]:
    if not text.startswith("---"):
        raise CorpusError(f"{path}: reference note must start with '---' YAML front matter")
    parts = text.split("\n---", 1)
    if len(parts) != 2:
        raise CorpusError(f"{path}: front matter is not closed by a '---' line")
    head = parts[0][3:]
    body = parts[1].split("\n", 1)[1] if "\n" in parts[1] else ""
    return parse_yaml(head, path), body.strip()


def load_framework_file(path: Path) -> FrameworkPhase:
    return validate(FrameworkPhase, parse_yaml(read_text(path), path), path)


def load_case_file(path: Path) -> Case:
    return validate(Case, parse_yaml(read_text(path), path), path)


def load_reference_file(path: Path) -> ReferenceNote:
    meta, body = split_front_matter(read_text(path), path)
    note_meta = validate(ReferenceMeta, meta, path)
    return validate(ReferenceNote, {"meta": note_meta.model_dump(), "body": body}, path)


def load_corpus(root: Path) -> Corpus:
    """Load and validate every file under ``root``; raise CorpusError on the first bad file."""
    if not root.is_dir():
        raise CorpusError(f"{root}: corpus directory not found")
    corpus = Corpus(root=root)
    for path in sorted((root / "framework").glob("*.yaml")):
        phase = load_framework_file(path)
        corpus.phases.append(phase)
        corpus.sources[phase.id] = path
    corpus.phases.sort(key=lambda p: p.order)
    for path in sorted((root / "cases").glob("*.yaml")):
        case = load_case_file(path)
        if case.id in corpus.cases:
            raise CorpusError(f"{path}: id: duplicate case id {case.id!r}")
        corpus.cases[case.id] = case
        corpus.sources[case.id] = path
    for path in sorted((root / "reference").glob("*.md")):
        note = load_reference_file(path)
        if note.meta.id in corpus.references:
            raise CorpusError(f"{path}: id: duplicate reference id {note.meta.id!r}")
        corpus.references[note.meta.id] = note
        corpus.sources[note.meta.id] = path
    check_unique_ids(corpus)
    return corpus


def _owned_ids(corpus: Corpus) -> list[tuple[str, Path]]:
    owned: list[tuple[str, Path]] = []
    for phase in corpus.phases:
        owned += [(i.id, corpus.sources[phase.id]) for i in phase.rubric]
    for case in corpus.cases.values():
        src = corpus.sources[case.id]
        owned += [(f.id, src) for f in case.clarifications]
        owned += [(i.id, src) for i in case.rubric]
        for test in case.stress_tests:
            owned += [(test.id, src)] + [(i.id, src) for i in test.rubric]
    for note in corpus.references.values():
        src = corpus.sources[note.meta.id]
        owned += [(i.id, src) for i in note.meta.rubric]
        for test in note.meta.stress_tests:
            owned += [(test.id, src)] + [(i.id, src) for i in test.rubric]
    return owned


def check_unique_ids(corpus: Corpus) -> None:
    """Item, fact and stress-test ids must be unique across the whole corpus."""
    owned = _owned_ids(corpus)
    counts = Counter(i for i, _ in owned)
    dupes = sorted(i for i, n in counts.items() if n > 1)
    if dupes:
        where = {i: sorted({str(p) for j, p in owned if j == i}) for i in dupes[:5]}
        detail = "; ".join(f"{i} in {', '.join(ps)}" for i, ps in where.items())
        raise CorpusError(f"duplicate ids: {detail}")
