"""What the engine stands on: the corpus, the retriever, the embedder and the graders."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from service.corpus.loader import Corpus, load_corpus
from service.corpus.models import ClarificationFact, RubricItem, StressTest, level_rank
from service.grading.text import answer_units
from service.grading.verdicts import GradeResult
from service.llm.prompts import PromptLibrary
from service.retrieval.composed import answer_vector as composed_vector
from service.retrieval.search import Retriever, tokenize
from service.settings import Settings

Embed = Callable[[list[str]], np.ndarray]
FACT_THRESHOLD = 0.55


class Grader(Protocol):
    name: str

    def grade(self, answer: str, items: list[RubricItem],
              context: dict[str, str] | None = None) -> GradeResult: ...


@dataclass
class Knowledge:
    corpus: Corpus
    retriever: Retriever | None
    embed: Embed
    prompts: PromptLibrary
    grader: Grader
    items: dict[str, RubricItem] = field(default_factory=dict)
    tests: dict[str, StressTest] = field(default_factory=dict)
    owners: dict[str, str] = field(default_factory=dict)
    _fact_vecs: dict[str, tuple[list[ClarificationFact], np.ndarray, list[int]]] = field(default_factory=dict)
    sources: dict[str, tuple[str, str, str]] = field(default_factory=dict)  # item id → study pointer (report.py)

    def __post_init__(self) -> None:
        self.items = self.corpus.rubric_items()
        self.tests = self.corpus.stress_tests()
        for test in self.tests.values():
            for item in test.rubric:
                self.owners[item.id] = test.id

    def warm(self) -> int:
        """Embed every rubric item and clarification question now rather than on first use.

        Returns the number of items warmed. A long-running server should call this once at
        start, so no candidate's turn pays for embedding criteria the first time a phase comes up.
        """
        grader = getattr(self.grader, "offline", self.grader)  # the LLM judge wraps the offline grader
        if hasattr(grader, "warm"):
            grader.warm(list(self.items.values()))
        for case_id in self.corpus.cases:
            self._facts(case_id)
        return len(self.items)

    def answer_vector(self, text: str) -> np.ndarray | None:
        """The dense query for an answer: its sentence units (injected ones removed), composed.

        The offline grader embeds the same units in the same turn, so with the local model
        this costs one pass over the answer's tokens in all (see retrieval/composed.py).
        """
        if self.retriever is None:
            return None
        return composed_vector(answer_units(text), self.retriever.index.embedder)

    def prefetch_answer(self, text: str) -> None:
        """Start embedding an answer in the background while its message is being stored.

        First its units (retrieval composes the answer's vector from them), then what the
        offline grader embeds besides (sentence pairs); an LLM judge has nothing to prefetch.
        """
        if not text.strip():
            return
        ahead = getattr(self.retriever.index.embedder, "prefetch", None) if self.retriever else None
        if ahead is not None:
            ahead(answer_units(text))
        grader_ahead = getattr(self.grader, "prefetch", None)
        if grader_ahead is not None:
            grader_ahead(text)

    def in_level(self, item: RubricItem | StressTest, level: str) -> bool:
        return level_rank(item.min_level) <= level_rank(level)

    def phase_items(self, case_id: str, phase: str, level: str) -> list[RubricItem]:
        """Framework and case items of a phase expected at this level."""
        case = self.corpus.case(case_id)
        pool = list(self.corpus.phase(phase).rubric) + [i for i in case.rubric if i.phase == phase]
        return [i for i in pool if self.in_level(i, level)]

    def _facts(self, case_id: str) -> tuple[list[ClarificationFact], np.ndarray, list[int]]:
        if case_id not in self._fact_vecs:
            facts = self.corpus.case(case_id).clarifications
            texts, owner = [], []
            for n, fact in enumerate(facts):
                texts += list(fact.questions)
                owner += [n] * len(fact.questions)
            self._fact_vecs[case_id] = (facts, self.embed(texts), owner)
        return self._fact_vecs[case_id]

    def match_facts(self, case_id: str, questions: list[str], limit: int = 3) -> list[ClarificationFact]:
        """Facts whose question forms best match the candidate's questions."""
        if not questions:
            return []
        facts, vecs, owner = self._facts(case_id)
        sims = self.embed(questions) @ vecs.T
        chosen: list[ClarificationFact] = []
        for row, question in zip(sims, questions, strict=True):
            words = set(tokenize(question))
            scores = {}
            for col, fact_n in enumerate(owner):
                topic_bonus = 0.08 if facts[fact_n].topic in words else 0.0
                scores[fact_n] = max(scores.get(fact_n, 0.0), float(row[col]) + topic_bonus)
            best = max(scores, key=lambda n: (scores[n], -n))
            if scores[best] >= FACT_THRESHOLD and facts[best] not in chosen:
                chosen.append(facts[best])
        return chosen[:limit]


def build_knowledge(settings: Settings, grader: Grader | None = None, with_retriever: bool = True) -> Knowledge:
    """Load the corpus and open the index; the offline grader is the default."""
    from service.grading.local import local_grader
    from service.llm.prompts import library
    from service.retrieval.embeddings import embed_minilm
    from service.retrieval.index import open_index

    corpus = load_corpus(settings.corpus_dir)
    retriever = Retriever(open_index(settings)) if with_retriever else None
    return Knowledge(corpus=corpus, retriever=retriever, embed=embed_minilm,
                     prompts=library(settings.prompts_dir), grader=grader or local_grader())
