"""Exact dense search over the collection's vectors, held in memory beside the BM25 postings.

Up to ``EXACT_MAX`` chunks, scoring every candidate that passes the filters is cheaper than
asking Chroma's HNSW index (which applies metadata filters through its SQLite store: ~7 ms
per query at the bundled corpus, against well under a millisecond here) and it is exact, not
approximate. Above that size the retriever queries Chroma as before. Vectors are stored
L2-normalised by both embedders, so the dot product is the cosine similarity.
"""

from __future__ import annotations

import numpy as np

EXACT_MAX = 50_000  # 50k × 384 float32 = 77 MB; above this Chroma's HNSW answers


class DenseMatrix:
    def __init__(self, vectors: list[list[float]] | np.ndarray) -> None:
        self.vectors = np.asarray(vectors, dtype=np.float32)

    def top(self, vector: np.ndarray, mask: np.ndarray, n: int) -> list[int]:
        """Positions of the ``n`` most similar chunks among those ``mask`` allows (ties: lower position first)."""
        candidates = np.flatnonzero(mask)
        if not len(candidates) or n <= 0:
            return []
        scores = self.vectors[candidates] @ np.asarray(vector, dtype=np.float32)
        if len(candidates) > n:
            keep = np.argpartition(-scores, n - 1)[:n]
            candidates, scores = candidates[keep], scores[keep]
        order = np.lexsort((candidates, -scores))
        return [int(p) for p in candidates[order]]
