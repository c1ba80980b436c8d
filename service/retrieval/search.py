"""Hybrid retrieval: dense search in Chroma fused with BM25 by reciprocal-rank fusion.

Local Chroma has no sparse or hybrid search, so BM25 runs in process over the collection's
documents (loaded once per retriever) and both rankings are fused with RRF.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from rank_bm25 import BM25Okapi

from service.corpus.models import level_rank
from service.errors import SearchIndexError
from service.retrieval.index import Index

RRF_K = 60
_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    "a an and are as at be by can do does for from has have how i if in into is it its of on "
    "or our so that the their them then there these they this to was we what when where which "
    "who why will with would you your".split()
)


def tokenize(text: str) -> list[str]:
    """Lowercase words without stopwords, with light suffix stripping."""
    out = []
    for word in _WORD.findall(text.lower()):
        if word in _STOP:
            continue
        for suffix in ("ing", "ies", "es", "ed", "s"):
            if len(word) > len(suffix) + 3 and word.endswith(suffix):
                word = word[: -len(suffix)] + ("y" if suffix == "ies" else "")
                break
        out.append(word)
    return out


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


@dataclass
class Retriever:
    """Loads the collection's documents once; ``refresh`` after ingesting."""

    index: Index
    ids: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    metas: list[dict[str, Any]] = field(default_factory=list)
    bm25: BM25Okapi | None = None

    def __post_init__(self) -> None:
        self.refresh()

    def refresh(self) -> None:
        try:
            got = self.index.collection.get(include=["documents", "metadatas"])
        except Exception as exc:
            raise SearchIndexError(f"search index unavailable: {exc}") from exc
        self.ids, self.texts = list(got["ids"]), list(got["documents"] or [])
        self.metas = [dict(m) for m in got["metadatas"] or []]
        self._pos = {cid: n for n, cid in enumerate(self.ids)}
        self.bm25 = BM25Okapi([tokenize(t) for t in self.texts]) if self.texts else None

    def _dense(self, query: str, filters: Filters, n: int) -> list[str]:
        vector = np.asarray(self.index.embedder([query])[0], dtype=np.float32)
        n = min(n, len(self.ids))
        try:
            res = self.index.collection.query(query_embeddings=[vector.tolist()], n_results=n,
                                              where=filters.where(), include=["metadatas"])
        except Exception as exc:
            raise SearchIndexError(f"search index unavailable: {exc}") from exc
        pairs = zip(res["ids"][0], res["metadatas"][0], strict=False)
        return [cid for cid, meta in pairs if filters.matches(meta, str(meta.get("item_id")))]

    def _sparse(self, query: str, filters: Filters, n: int) -> list[str]:
        if self.bm25 is None:
            return []
        scores = self.bm25.get_scores(tokenize(query))
        order = np.argsort(-scores)
        out: list[str] = []
        for pos in order:
            if scores[pos] <= 0 or len(out) >= n:
                break
            meta = self.metas[pos]
            if filters.matches(meta, str(meta.get("item_id"))):
                out.append(self.ids[pos])
        return out

    def search(self, query: str, k: int = 5, filters: Filters | None = None) -> list[Hit]:
        """Top ``k`` chunks for ``query`` by reciprocal-rank fusion of dense and BM25."""
        filters = filters or Filters()
        if not self.ids or not query.strip():
            return []
        depth = max(4 * k, 40) + len(filters.exclude_ids)
        dense, sparse = self._dense(query, filters, depth), self._sparse(query, filters, depth)
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
