"""The labelled retrieval queries are well-formed, correctly split, reachable and our own words."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from service.corpus.loader import Corpus, load_corpus
from service.evals.retrieval_eval import Query, load_queries
from service.settings import PROJECT_ROOT

from .conftest import CORPUS

QUERIES = PROJECT_ROOT / "evals" / "retrieval" / "queries.yaml"
KINDS = {"any", "rubric", "stress_test", "clarification", "reference", "framework", "scenario"}
RUN = 6
_WORD = re.compile(r"[a-z0-9]+")


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return load_corpus(CORPUS)


@pytest.fixture(scope="module")
def queries() -> list[Query]:
    return load_queries(QUERIES)


@pytest.fixture(scope="module")
def known(corpus: Corpus) -> set[tuple[str, ...]]:
    return corpus_runs(corpus)


def item_scopes(corpus: Corpus) -> dict[str, tuple[str, str]]:
    """Every retrievable item id -> (chunk kind, case id or "" when not case-bound)."""
    scopes: dict[str, tuple[str, str]] = {f"fw.{p.id}": ("framework", "") for p in corpus.phases}
    scopes.update({i.id: ("rubric", "") for p in corpus.phases for i in p.rubric})
    for case in corpus.cases.values():
        scopes[case.id] = ("scenario", case.id)
        scopes.update({f.id: ("clarification", case.id) for f in case.clarifications})
        scopes.update({i.id: ("rubric", case.id) for i in case.rubric})
        for test in case.stress_tests:
            scopes[test.id] = ("stress_test", case.id)
            scopes.update({i.id: ("rubric", case.id) for i in test.rubric})
    for note in corpus.references.values():
        scopes[note.meta.id] = ("reference", "")
        scopes.update({i.id: ("rubric", "") for i in note.meta.rubric})
        for test in note.meta.stress_tests:
            scopes[test.id] = ("stress_test", "")
            scopes.update({i.id: ("rubric", "") for i in test.rubric})
    return scopes


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _strings(v)


def runs(text: str, n: int = RUN) -> set[tuple[str, ...]]:
    words = _WORD.findall(text.lower())
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def corpus_runs(corpus: Corpus) -> set[tuple[str, ...]]:
    """Six-word runs of every text in the corpus: criteria, facts, prompts, notes, hints, outlines."""
    out: set[tuple[str, ...]] = set()
    models = [*corpus.phases, *corpus.cases.values()]
    for model in models:
        for text in _strings(model.model_dump()):
            out |= runs(text)
    for note in corpus.references.values():
        out |= runs(note.body)
        for text in _strings(note.meta.model_dump()):
            out |= runs(text)
    return out


def test_file_loads_with_enough_queries_and_unique_ids(queries: list[Query]) -> None:
    assert len(queries) >= 120
    ids = [q.id for q in queries]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"rq-\d{3}", i) for i in ids)
    assert len({q.query.strip().lower() for q in queries}) == len(queries), "duplicate query text"


def test_splits_alternate_odd_dev_even_test(queries: list[Query]) -> None:
    for q in queries:
        number = int(q.id.split("-")[1])
        assert q.split == ("dev" if number % 2 else "test"), q.id
    assert [int(q.id.split("-")[1]) for q in queries] == list(range(1, len(queries) + 1))


def test_every_relevant_id_exists_and_is_reachable_under_the_filters(corpus: Corpus,
                                                                      queries: list[Query]) -> None:
    scopes = item_scopes(corpus)
    for q in queries:
        assert q.kind in KINDS, q.id
        assert q.scenario is None or q.scenario in corpus.cases, (q.id, q.scenario)
        assert len(set(q.relevant)) == len(q.relevant), q.id
        for item in q.relevant:
            assert item in scopes, f"{q.id}: unknown item id {item!r}"
            kind, case = scopes[item]
            assert q.kind in ("any", kind), f"{q.id}: {item} is a {kind} chunk, query filters on {q.kind}"
            assert q.scenario in (None, case), f"{q.id}: {item} cannot pass the {q.scenario} filter"


def test_queries_spread_over_cases_phases_and_notes(corpus: Corpus, queries: list[Query]) -> None:
    scopes = item_scopes(corpus)
    items = corpus.rubric_items()
    cases = {q.scenario for q in queries if q.scenario} | {scopes[i][1] for q in queries for i in q.relevant}
    assert set(corpus.cases) <= cases
    phases = {items[i].phase for q in queries for i in q.relevant if i in items}
    phases |= {i.removeprefix("fw.") for q in queries for i in q.relevant if scopes[i][0] == "framework"}
    assert phases == {p.id for p in corpus.phases}
    notes = {i for q in queries for i in q.relevant if scopes[i][0] == "reference"}
    assert len(notes) >= 20
    kinds = {q.kind for q in queries}
    assert {"clarification", "rubric", "stress_test", "reference"} <= kinds


def test_no_query_copies_six_words_of_corpus_text(known: set[tuple[str, ...]], queries: list[Query]) -> None:
    copied = {q.id: sorted(" ".join(r) for r in runs(q.query) & known) for q in queries}
    assert not {k: v for k, v in copied.items() if v}


def test_the_overlap_check_catches_a_copied_sentence(corpus: Corpus, known: set[tuple[str, ...]]) -> None:
    fact = next(iter(corpus.cases.values())).clarifications[0]
    assert runs(f"So, {fact.answer}") & known
    note = next(iter(corpus.references.values()))
    assert runs(note.body.split("\n\n")[2]) & known
    assert not runs("a sentence of our own about nothing in particular at all") & known


def test_bad_input_is_rejected_clearly(tmp_path: Path) -> None:
    bad = tmp_path / "queries.yaml"
    bad.write_text("queries:\n  - {id: rq-001, split: train, query: x, relevant: [a]}\n")
    with pytest.raises(ValueError, match="split"):
        load_queries(bad)
    bad.write_text("queries:\n  - {id: rq-001, split: dev, query: x, relevant: []}\n")
    with pytest.raises(ValueError, match="relevant"):
        load_queries(bad)
