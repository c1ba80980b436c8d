"""The offline grader wired to the local embedding model (the default everywhere)."""

from __future__ import annotations

from service.grading.offline import Calibration, OfflineGrader
from service.retrieval.embeddings import embed_minilm, prefetch_minilm


def local_grader(calibration: Calibration | None = None) -> OfflineGrader:
    """MiniLM for everything; an answer's sentences and pairs are embedded ahead while its turn is stored."""
    return OfflineGrader(embed_minilm, calibration, ahead=prefetch_minilm)
