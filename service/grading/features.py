"""Answer-level evidence for the offline grader's second stage (the item model).

The first stage scores every sentence window of an answer against an item and keeps the
best one; its seven window features say how well that one passage fits. Human graders
also credit an item whose substance is spread over a paragraph or stated under a heading
("Biggest risks: ...") that no single window captures, so the item model adds evidence
from the whole answer, all of it computed from vectors and stems the grader already has
(no extra text is embedded per answer):

- ``idf_cover``: the share of the item's distinctive words (criterion and cue stems,
  weighted by how rare they are among the items graded together) that the answer uses;
- ``answer_criterion`` / ``answer_cues`` / ``answer_probe``: cosine of the item's texts to
  the mean of the answer's sentence vectors (the answer's overall topic);
- ``answer_strength``: the mean first-stage probability over the positive items in scope,
  a semantic estimate of how strong the answer is (strong answers rarely make mistakes);
  only the common-mistake model uses it, so a short answer that does one thing well is
  not held back for not covering more.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np

WINDOW_FEATURES = ("sem_criterion", "sem_cues", "sem_probe", "cue_hits", "overlap", "reason", "bare_list")
ANSWER_FEATURES = ("idf_cover", "answer_criterion", "answer_cues", "answer_probe", "answer_strength")
ITEM_FEATURES = WINDOW_FEATURES + ANSWER_FEATURES
IDF_TOP = 10  # an item is fully covered once its ten most distinctive words are used


def mean_direction(vectors: np.ndarray) -> np.ndarray:
    """Unit-length mean of the sentence vectors: the answer's overall topic."""
    mean = vectors.mean(axis=0)
    norm = float(np.linalg.norm(mean))
    return mean / norm if norm > 0 else mean


IdfWeights = tuple[tuple[dict[str, float], float], ...]


def idf_weights(item_stems: Sequence[frozenset[str]]) -> IdfWeights:
    """Per item, an IDF weight for each of its stems and the weight sum of its ``IDF_TOP`` rarest.

    Document frequencies count the items graded together, so words every item shares
    ("data", "pipeline") weigh little and an item's own vocabulary ("watermark",
    "crypto-shredding") weighs most. Using the top weights as the denominator keeps a long
    criterion from being harder to cover than a short one. Depends only on the scope, so
    the grader caches it per scope.
    """
    n = len(item_stems)
    df = Counter(stem for stems in item_stems for stem in stems)
    out = []
    for stems in item_stems:
        weights = {s: math.log((n + 1) / (df[s] + 0.5)) for s in stems}
        out.append((weights, sum(sorted(weights.values(), reverse=True)[:IDF_TOP])))
    return tuple(out)


def idf_cover(weights: IdfWeights, answer_stems: set[str]) -> np.ndarray:
    """Per item, the IDF-weighted share of its stems found anywhere in the answer (0..1)."""
    out = np.zeros(len(weights), dtype=np.float64)
    for k, (item, norm) in enumerate(weights):
        if norm > 0:
            out[k] = min(1.0, sum(w for s, w in item.items() if s in answer_stems) / norm)
    return out


def item_features(best: np.ndarray, best_probs: np.ndarray, item_vecs: np.ndarray, topic: np.ndarray,
                  cover: np.ndarray, mistakes: np.ndarray) -> np.ndarray:
    """(items, ITEM_FEATURES): the best window's features followed by the answer-level ones.

    ``best`` holds each item's best-window features (items, 7), ``best_probs`` the
    first-stage probability of that window, ``item_vecs`` the (items, 3, dim) criterion,
    cue and probe vectors, ``topic`` the answer's mean direction, ``cover`` the output of
    ``idf_cover`` and ``mistakes`` a boolean mask of common-mistake items.
    """
    positive = ~mistakes
    strength = float(best_probs[positive].mean()) if positive.any() else 0.0
    topical = item_vecs @ topic  # (items, 3)
    return np.column_stack([best, cover, topical, np.full(len(best), strength)])
