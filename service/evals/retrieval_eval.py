"""Retrieval suite: recall@k, MRR and nDCG@10 of the hybrid retriever vs a naive baseline.

The baseline is the same corpus text cut into fixed 1,000-character chunks with no
metadata, searched dense-only; a baseline chunk counts as relevant to an item when it
contains the start of that item's text.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from pydantic import Field

from service.corpus.models import Strict
from service.retrieval.search import Filters, Retriever

BASELINE_CHARS = 1000
ANCHOR_CHARS = 60


class Query(Strict):
    id: str
    split: str = Field(pattern="^(dev|test)$")
    query: str
    kind: str = "any"
    scenario: str | None = None
    relevant: list[str] = Field(min_length=1)


def load_queries(path: Path) -> list[Query]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [Query.model_validate(q) for q in data["queries"]]


def metrics(rankings: list[list[bool]], totals: list[int]) -> dict[str, float]:
    """rankings[i][r] is True when the r-th result of query i is relevant."""
    out: dict[str, float] = {}
    for k in (3, 5, 10):
        out[f"recall@{k}"] = float(np.mean([min(sum(r[:k]), t) / t for r, t in zip(rankings, totals, strict=True)]))
    out["mrr"] = float(np.mean([next((1 / (n + 1) for n, hit in enumerate(r) if hit), 0.0) for r in rankings]))
    ndcg = []
    for r, t in zip(rankings, totals, strict=True):
        dcg = sum(1 / math.log2(n + 2) for n, hit in enumerate(r[:10]) if hit)
        ideal = sum(1 / math.log2(n + 2) for n in range(min(t, 10)))
        ndcg.append(dcg / ideal if ideal else 0.0)
    out["ndcg@10"] = float(np.mean(ndcg))
    return {k: round(v, 4) for k, v in out.items()}


def metrics_ci(rankings: list[list[bool]], totals: list[int], n: int = 300, seed: int = 5) -> dict[str, list[float]]:
    """Bootstrap 95% intervals (queries resampled) for recall@5, MRR and nDCG@10."""
    if not rankings:
        return {}
    rng = np.random.default_rng(seed)
    samples: dict[str, list[float]] = {"recall@5": [], "mrr": [], "ndcg@10": []}
    for _ in range(n):
        idx = rng.integers(0, len(rankings), len(rankings))
        m = metrics([rankings[i] for i in idx], [totals[i] for i in idx])
        for key, values in samples.items():
            values.append(m[key])
    return {f"{k}_ci95": [round(float(np.percentile(v, 2.5)), 4), round(float(np.percentile(v, 97.5)), 4)]
            for k, v in samples.items()}


def ranked_items(retriever: Retriever, q: Query, k: int = 10) -> list[str]:
    """Distinct item ids in rank order (several body chunks of a note share its id)."""
    filters = Filters(kind=() if q.kind == "any" else (q.kind,), scenario=(q.scenario,) if q.scenario else ())
    seen: list[str] = []
    for hit in retriever.search(q.query, k=k * 3, filters=filters):
        if hit.item_id not in seen:
            seen.append(hit.item_id)
    return seen[:k]


def evaluate_hybrid(retriever: Retriever, queries: list[Query]) -> dict[str, float]:
    rankings = [[item in q.relevant for item in ranked_items(retriever, q)] for q in queries]
    totals = [len(q.relevant) for q in queries]
    return {**metrics(rankings, totals), **metrics_ci(rankings, totals)}


@dataclass
class Baseline:
    chunks: list[str]
    vectors: np.ndarray

    @classmethod
    def build(cls, retriever: Retriever, embed: Any) -> Baseline:
        by_source: dict[str, list[str]] = {}
        for text, meta in zip(retriever.texts, retriever.metas, strict=True):
            by_source.setdefault(str(meta.get("source")), []).append(text)
        chunks = []
        for source in sorted(by_source):
            blob = "\n\n".join(by_source[source])
            chunks += [blob[i : i + BASELINE_CHARS] for i in range(0, len(blob), BASELINE_CHARS)]
        return cls(chunks, embed(chunks))


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def evaluate_baseline(baseline: Baseline, retriever: Retriever, queries: list[Query], embed: Any) -> dict[str, float]:
    anchors: dict[str, list[str]] = {}
    for text, meta in zip(retriever.texts, retriever.metas, strict=True):
        anchors.setdefault(str(meta.get("item_id")), []).append(_norm(text)[:ANCHOR_CHARS])
    norm_chunks = [_norm(c) for c in baseline.chunks]
    qvecs = embed([q.query for q in queries])
    rankings, totals = [], []
    for q, vec in zip(queries, qvecs, strict=True):
        order = np.argsort(-(baseline.vectors @ vec))[:10]
        found: set[str] = set()
        ranking = []
        for pos in order:
            hits = {i for i in q.relevant if i not in found and any(a in norm_chunks[pos] for a in anchors.get(i, []))}
            found |= hits
            ranking.append(bool(hits))
        rankings.append(ranking)
        totals.append(len(q.relevant))
    return {**metrics(rankings, totals), **metrics_ci(rankings, totals)}
