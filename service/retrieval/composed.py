"""Vectors of sentence pairs and of whole answers, composed from the sentences' own vectors.

A turn needs a vector for every sentence unit of the answer (grading), for every pair of
neighbouring units (grading: a point made across two sentences) and for the whole answer
(retrieval of the turn's scope; the planner's design query). Embedding all three costs about
four passes over the answer's tokens. Instead each unit is embedded once, on its own (so a
sentence is judged by what it says, exactly as before), and a pair or an answer is the
token-weighted sum of its units' vectors, normalised: the mean the model's pooling would
take if the units did not attend to each other. Unit vectors are cached by text, so the
planner's look back over the last answers runs no model at all.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from service.retrieval.embeddings import embed_minilm, normalise, token_counts

Embed = Callable[[list[str]], Any]


def compose(vectors: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The token-weighted, normalised sum of unit vectors."""
    return normalise((counts[:, None] * vectors).sum(axis=0))


def unit_vectors(units: list[str], embed: Embed = embed_minilm) -> np.ndarray:
    """(2n, dim): each unit's own vector, then each unit composed with the next (the last: alone)."""
    if not units:
        return np.zeros((0, 0), dtype=np.float32)
    vectors = np.asarray(embed(units), dtype=np.float32)
    counts = token_counts(units)
    last = len(units) - 1
    pairs = [compose(vectors[[n, n + 1]], counts[[n, n + 1]]) if n < last else vectors[n] for n in range(len(units))]
    return np.concatenate([vectors, np.stack(pairs)]).astype(np.float32)


def answer_vector(units: Sequence[str], embed: Embed = embed_minilm) -> np.ndarray | None:
    """The whole answer's vector composed from its units (None without units)."""
    units = [u for u in units if u.strip()]
    if not units:
        return None
    return compose(np.asarray(embed(units), dtype=np.float32), token_counts(units)).astype(np.float32)
