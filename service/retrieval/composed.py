"""A whole answer's vector, composed from its sentences' own vectors.

Retrieval of a turn's scope and the planner's stress-test query need a vector for a whole
answer, while the offline grader embeds every sentence unit of it anyway. Embedding the
answer again would cost another pass over its tokens; instead its vector is the
token-weighted sum of its units' vectors, normalised — the mean the model's pooling would
take if the sentences did not attend to each other. Unit vectors are cached by text, so
the planner's look back over the last answers runs no model at all.
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


def answer_vector(units: Sequence[str], embed: Embed = embed_minilm) -> np.ndarray | None:
    """The whole answer's vector composed from its units (None without units)."""
    units = [u for u in units if u.strip()]
    if not units:
        return None
    return compose(np.asarray(embed(units), dtype=np.float32), token_counts(units)).astype(np.float32)
