"""Hybrid retrieval: dense search (exact in memory, or Chroma HNSW when large) fused with BM25 by RRF.

Local Chroma has no sparse or hybrid search, so BM25 runs in process over the collection's
documents (loaded once per retriever) and both rankings are fused with RRF. BM25 scores come
from an inverted index (postings per term) with exactly the arithmetic of ``rank_bm25``'s
``BM25Okapi``, so scores are bit-identical while a query touches only the documents that
contain its terms; metadata filters are evaluated as one vectorised mask per filter.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from service.corpus.models import level_rank
from service.errors import SearchIndexError
from service.retrieval.dense import EXACT_MAX, DenseMatrix
from service.retrieval.index import Index

RRF_K = 60
MASK_CACHE = 256
REFRESH_PAGE = 5000
_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    "a an and are as at be by can do does for from has have how i if in into is it its of on "
    "or our so that the their them then there these they this to was we what when where which "
    "who why will with would you your".split()
)


@lru_cache(maxsize=65536)
def _stem(word: str) -> str | None:
    """A word's light stem, or None for a stopword (memoised: words repeat a lot)."""
    if word in _STOP:
        return None
    for suffix in ("ing", "ies", "es", "ed", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word


def tokenize(text: str) -> list[str]:
    """Lowercase words without stopwords, with light suffix stripping."""
    out = []
    for word in _WORD.findall(text.lower()):
        stem = _stem(word)
        if stem is not None:
            out.append(stem)
    return out


class SparseBM25:
    """BM25 Okapi (k1 1.5, b 0.75, idf floor 0.25 × mean idf) over postings lists.

    Same formula, same order of floating-point operations as ``rank_bm25.BM25Okapi``: a
    document without the term would add exactly 0.0, so skipping it changes no bit.
    """

    def __init__(self, corpus: list[list[str]], k1: float = 1.5, b: float = 0.75, epsilon: float = 0.25) -> None:
        self.k1, self.b, self.corpus_size = k1, b, len(corpus)
        doc_len = np.array([len(d) for d in corpus])
        self.avgdl = sum(len(d) for d in corpus) / self.corpus_size
        self.norm = k1 * (1 - b + b * doc_len / self.avgdl)  # as rank_bm25 evaluates it
        rows: dict[str, list[int]] = {}
        freqs: dict[str, list[int]] = {}
        for n, doc in enumerate(corpus):
            for word, count in Counter(doc).items():  # first-seen order, as rank_bm25's dicts
                rows.setdefault(word, []).append(n)
                freqs.setdefault(word, []).append(count)
        self.postings = {w: (np.array(rows[w], dtype=np.int64), np.array(freqs[w], dtype=np.float64))
                         for w in rows}
        self.idf = self._idf({w: len(r) for w, r in rows.items()}, epsilon)

    def _idf(self, nd: dict[str, int], epsilon: float) -> dict[str, float]:
        idf: dict[str, float] = {}
        idf_sum, negative = 0.0, []
        for word, freq in nd.items():
            value = math.log(self.corpus_size - freq + 0.5) - math.log(freq + 0.5)
            idf[word] = value
            idf_sum += value
            if value < 0:
                negative.append(word)
        eps = epsilon * (idf_sum / max(1, len(idf)))
        for word in negative:
            idf[word] = eps
        return idf

    def get_scores(self, query: list[str]) -> np.ndarray:
        score = np.zeros(self.corpus_size)
        for q in query:
            weight = self.idf.get(q) or 0
            posting = self.postings.get(q)
            if not weight or posting is None:
                continue
            rows, tf = posting
            score[rows] += weight * (tf * (self.k1 + 1) / (tf + self.norm[rows]))
        return score


@dataclass(frozen=True)
class Filters:
    kind: tuple[str, ...] = ()
    scenario: tuple[str, ...] = ()
    phase: tuple[str, ...] = ()
    level: str | None = None
    exclude_ids: frozenset[str] = frozenset()

    def where(self) -> dict[str, Any] | None:
        clauses: list[dict[str, Any]] = []
        for key, values in (("kind", self.kind), ("scenario", self.scenario),
                            ("phase", self.phase)):
            if values:
                clauses.append({key: {"$in": list(values)}})
        if self.level:
            clauses.append({"level_rank": {"$lte": level_rank(self.level)}})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}

    def matches(self, meta: dict[str, Any], item_id: str) -> bool:
        if item_id in self.exclude_ids:
            return False
        for key, values in (("kind", self.kind), ("scenario", self.scenario),
                            ("phase", self.phase)):
            if values and meta.get(key) not in values:
                return False
        return not (self.level and int(meta.get("level_rank", 0)) > level_rank(self.level))


@dataclass
class Hit:
    id: str
    text: str
    metadata: dict[str, Any]
    score: float
    dense_rank: int | None = None
    bm25_rank: int | None = None

    @property
    def item_id(self) -> str:
        return str(self.metadata.get("item_id", ""))


class Columns:
    """Filterable metadata as integer-coded columns, so a filter is one vectorised mask."""

    KEYS = ("kind", "scenario", "phase")

    def __init__(self, metas: list[dict[str, Any]]) -> None:
        self.size = len(metas)
        self.codes: dict[str, tuple[dict[Any, int], np.ndarray]] = {}
        for key in self.KEYS:
            vocab: dict[Any, int] = {}
            codes = np.array([vocab.setdefault(m.get(key), len(vocab)) for m in metas], dtype=np.int64)
            self.codes[key] = (vocab, codes)
        self.level_rank = np.array([int(m.get("level_rank", 0)) for m in metas], dtype=np.int64)
        self.by_item: dict[str, list[int]] = {}
        for n, meta in enumerate(metas):
            self.by_item.setdefault(str(meta.get("item_id")), []).append(n)
        self._masks: dict[Filters, np.ndarray] = {}

    def mask(self, filters: Filters) -> np.ndarray:
        """``filters.matches`` for every chunk at once (memoised per filter)."""
        try:
            cached = self._masks.get(filters)
        except TypeError:  # unhashable values (lists): compute without memoising
            return self._compute(filters)
        if cached is None:
            cached = self._compute(filters)
            if len(self._masks) >= MASK_CACHE:
                self._masks.pop(next(iter(self._masks), None), None)
            self._masks[filters] = cached
        return cached

    def _compute(self, filters: Filters) -> np.ndarray:
        mask = np.ones(self.size, dtype=bool)
        for key, values in (("kind", filters.kind), ("scenario", filters.scenario), ("phase", filters.phase)):
            if values:
                vocab, codes = self.codes[key]
                mask &= np.isin(codes, [vocab[v] for v in values if v in vocab])
        if filters.level:
            mask &= self.level_rank <= level_rank(filters.level)
        for item_id in filters.exclude_ids:
            mask[self.by_item.get(item_id, [])] = False
        return mask


@dataclass
class Retriever:
    """Loads the collection's documents once; ``refresh`` after ingesting."""

    index: Index
    ids: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    metas: list[dict[str, Any]] = field(default_factory=list)
    bm25: SparseBM25 | None = None
    dense: DenseMatrix | None = None

    def __post_init__(self) -> None:
        self.refresh()

    def refresh(self) -> None:
        self.ids, self.texts, self.metas = [], [], []
        vectors: list[Any] = []
        try:
            exact = self.index.collection.count() <= EXACT_MAX
        except Exception as exc:
            raise SearchIndexError(f"search index unavailable: {exc}") from exc
        include = ["documents", "metadatas"] + (["embeddings"] if exact else [])
        while True:  # in pages: one get of a large collection exceeds SQLite's variable limit (~32k rows)
            try:
                got = self.index.collection.get(include=include, limit=REFRESH_PAGE,  # type: ignore[arg-type]
                                                offset=len(self.ids))
            except Exception as exc:
                raise SearchIndexError(f"search index unavailable: {exc}") from exc
            self.ids += got["ids"]
            self.texts += got["documents"] or []
            self.metas += [dict(m) for m in got["metadatas"] or []]
            vectors += list(got["embeddings"]) if exact and got["embeddings"] is not None else []
            if len(got["ids"]) < REFRESH_PAGE:
                break
        self.dense = DenseMatrix(vectors) if exact and len(vectors) == len(self.ids) and vectors else None
        self._pos = {cid: n for n, cid in enumerate(self.ids)}
        self.columns = Columns(self.metas)
        self.bm25 = SparseBM25([tokenize(t) for t in self.texts]) if self.texts else None

    def _dense(self, query: str, filters: Filters, n: int, vector: np.ndarray | None = None) -> list[str]:
        if vector is None:
            vector = np.asarray(self.index.embedder([query])[0], dtype=np.float32)
        if self.dense is not None:
            return [self.ids[p] for p in self.dense.top(vector, self.columns.mask(filters), n)]
        n = min(n, len(self.ids))
        try:
            res = self.index.collection.query(query_embeddings=[vector.tolist()], n_results=n,
                                              where=filters.where(), include=[])
        except Exception as exc:
            raise SearchIndexError(f"search index unavailable: {exc}") from exc
        mask = self.columns.mask(filters)  # the metadata loaded by refresh(): no need to fetch it again
        return [cid for cid in res["ids"][0] if cid in self._pos and mask[self._pos[cid]]]

    def _sparse(self, query: str, filters: Filters, n: int) -> list[str]:
        if self.bm25 is None:
            return []
        scores = self.bm25.get_scores(tokenize(query))
        order = np.argsort(-scores)
        ranked = order[: int(np.count_nonzero(scores > 0))]  # the positive scores lead the order
        return [self.ids[pos] for pos in ranked[self.columns.mask(filters)[ranked]][:n]]

    def search(self, query: str, k: int = 5, filters: Filters | None = None,
               vector: np.ndarray | None = None) -> list[Hit]:
        """Top ``k`` chunks for ``query`` by reciprocal-rank fusion of dense and BM25.

        ``vector`` replaces the embedding of ``query`` on the dense side (the planner passes
        the mean of several answers' vectors; BM25 still reads ``query``).
        """
        filters = filters or Filters()
        if not self.ids or not query.strip():
            return []
        depth = max(4 * k, 40) + len(filters.exclude_ids)
        dense, sparse = self._dense(query, filters, depth, vector), self._sparse(query, filters, depth)
        scores: dict[str, float] = {}
        for ranking in (dense, sparse):
            for rank, cid in enumerate(ranking):
                scores[cid] = scores.get(cid, 0.0) + 1.0 / (RRF_K + rank + 1)
        best = sorted(scores, key=lambda c: (-scores[c], c))[:k]
        hits = []
        for cid in best:
            pos = self._pos[cid]
            hits.append(Hit(cid, self.texts[pos], self.metas[pos], scores[cid],
                            dense.index(cid) + 1 if cid in dense else None,
                            sparse.index(cid) + 1 if cid in sparse else None))
        return hits
