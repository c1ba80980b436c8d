"""The offline grader wired to the local embedding model (the default everywhere)."""

from __future__ import annotations

from service.grading.offline import Calibration, OfflineGrader
from service.retrieval.composed import unit_vectors
from service.retrieval.embeddings import embed_minilm


def local_grader(calibration: Calibration | None = None) -> OfflineGrader:
    """MiniLM for criteria and cues; each sentence embedded once, pairs composed from them."""
    return OfflineGrader(embed_minilm, calibration, units=unit_vectors)
