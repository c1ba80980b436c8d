"""The offline grader: semantic matching of answer sentences to criteria plus lexical cues.

Two stages, both logistic models fitted on the ``dev`` split of the labelled grading set
(``calibration.json`` beside this file). The window model scores every sentence window of
the answer against an item — cosine to the criterion, to the item's cue phrases and to its
probe question, cue hits, content-word overlap, reasoning markers — and keeps the best
window as evidence. The item model then decides met / not met from that window's features
plus answer-level evidence (``features.py``), with separate weights for positive items and
for common mistakes. Hard rules then apply: an item that needs a reason is not met by a
bare list or by a mention without a reason nearby; a common mistake the candidate
explicitly rejects is not made; injected instructions are removed before grading.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from service.corpus.models import RubricItem
from service.grading import text as tx
from service.grading.features import (
    ITEM_FEATURES,
    WINDOW_FEATURES,
    IdfWeights,
    idf_cover,
    idf_weights,
    item_features,
    mean_direction,
)
from service.grading.verdicts import GradeResult, Verdict, stance

CALIBRATION_FILE = Path(__file__).with_name("calibration.json")
FEATURES = WINDOW_FEATURES
__all__ = ["CALIBRATION_FILE", "FEATURES", "ITEM_FEATURES", "Calibration", "Match", "OfflineGrader"]
Embed = Callable[[list[str]], np.ndarray]
NEAR_TIE = 1e-12  # vectorised and scalar probabilities differ by far less than this
SCOPE_CACHE = 4096  # scopes whose IDF weights are kept (a scope is a few dozen small dicts)


@dataclass(frozen=True)
class Calibration:
    weights: tuple[float, ...] = (6.0, 3.0, 2.0, 2.0, 2.0, 0.3, -1.5)
    bias: float = -6.2
    threshold: float = 0.5
    mistake_threshold: float = 0.6
    min_words: int = 4
    fitted_on: str = "defaults"
    item_weights: tuple[float, ...] | None = None  # item model over ITEM_FEATURES, positive items
    item_bias: float = 0.0
    mistake_weights: tuple[float, ...] | None = None  # the same for common mistakes
    mistake_bias: float = 0.0

    @classmethod
    def load(cls, path: Path = CALIBRATION_FILE) -> Calibration:
        if not path.is_file():
            return cls()
        data = json.loads(path.read_text())
        return cls.from_dict({"fitted_on": str(path), **data})

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibration:
        """From the layout of ``calibration.json`` (the item models are optional)."""
        item, mistake = data.get("item_model"), data.get("mistake_model")
        return cls(weights=tuple(data["weights"]), bias=data["bias"], threshold=data["threshold"],
                   mistake_threshold=data["mistake_threshold"], min_words=data.get("min_words", 4),
                   fitted_on=data.get("fitted_on", "dict"),
                   item_weights=tuple(item["weights"]) if item else None, item_bias=item["bias"] if item else 0.0,
                   mistake_weights=tuple(mistake["weights"]) if mistake else None,
                   mistake_bias=mistake["bias"] if mistake else 0.0)

    def probability(self, features: np.ndarray) -> float:
        """The window model: how well one sentence window evidences the item."""
        return _sigmoid(self.bias + float(np.dot(self.weights, features)))

    def item_probability(self, m: Match, mistake: bool) -> float:
        """The item model when fitted (else the window model): is the item met by the answer?"""
        weights, bias = (self.mistake_weights, self.mistake_bias) if mistake else (self.item_weights, self.item_bias)
        if weights is None or len(m.item_features) != len(weights):
            return self.probability(m.features)
        return _sigmoid(bias + float(np.dot(weights, m.item_features)))


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


@dataclass
class Match:
    """An item's best window: its features, the evidence unit, the window and the nearby context."""

    features: np.ndarray
    evidence: str
    window: str
    cues: list[str] = field(default_factory=list)
    item_features: np.ndarray = field(default_factory=lambda: np.zeros(0))
    context: str = ""  # two units either side of the evidence, where a justification may sit


@dataclass(frozen=True)
class ItemText:
    """An item's stems, cached: criterion + cues (for overlap) and each cue phrase."""

    crit: frozenset[str]
    crit_norm: int
    cues: tuple[tuple[str, frozenset[str]], ...]


@dataclass
class Prepared:
    units: list[str]
    windows: list[str]
    vectors: np.ndarray
    injection: bool
    stuffing: bool
    words: int
    window_stems: list[set[str]] = field(default_factory=list)
    reasons: list[bool] = field(default_factory=list)
    lists: list[bool] = field(default_factory=list)
    topic: np.ndarray = field(default_factory=lambda: np.zeros(0))  # unit mean of the sentence vectors
    stems: set[str] = field(default_factory=set)  # every stem of the answer


class OfflineGrader:
    name = "offline"

    def __init__(self, embed: Embed, calibration: Calibration | None = None,
                 ahead: Callable[[list[str]], None] | None = None) -> None:
        """``ahead`` starts embedding texts in the background (``prefetch``); None: no prefetching."""
        self.embed = embed
        self.ahead = ahead
        self.cal = calibration or Calibration.load()
        self._item_vecs: dict[tuple[str, str], np.ndarray] = {}
        self._item_texts: dict[tuple[str, str, tuple[str, ...]], ItemText] = {}
        self._idf: dict[tuple[tuple[str, str, tuple[str, ...]], ...], IdfWeights] = {}

    def _item_vectors(self, items: list[RubricItem]) -> np.ndarray:
        """(items, 3, dim): criterion, cue phrases and probe question of every item."""
        missing = [i for i in items if (i.id, i.criterion) not in self._item_vecs]
        if missing:
            texts = [i.criterion for i in missing]
            texts += [", ".join(i.cues) or i.criterion for i in missing]
            texts += [i.probe or i.criterion for i in missing]
            vecs = self.embed(texts)
            n = len(missing)
            for k, item in enumerate(missing):
                self._item_vecs[(item.id, item.criterion)] = np.stack([vecs[k], vecs[k + n], vecs[k + 2 * n]])
        return np.stack([self._item_vecs[(i.id, i.criterion)] for i in items])

    def warm(self, items: list[RubricItem]) -> None:
        """Embed the criteria, cue phrases and probes of ``items`` now (one batch) instead of on first use."""
        self._item_vectors(items)
        for item in items:
            self._item_text(item)

    def _item_text(self, item: RubricItem) -> ItemText:
        key = (item.id, item.criterion, tuple(item.cues))
        found = self._item_texts.get(key)
        if found is None:
            crit = frozenset(tx.stems(item.criterion + " " + " ".join(item.cues)))
            cues = tuple((cue.lower(), frozenset(tx.stems(cue))) for cue in item.cues)
            found = self._item_texts[key] = ItemText(crit, max(1, min(10, len(crit))), cues)
        return found

    def _idf_weights(self, items: list[RubricItem]) -> IdfWeights:
        """IDF weights of the items' stems within this scope, cached per scope (an interview repeats its scopes)."""
        key = tuple((i.id, i.criterion, tuple(i.cues)) for i in items)
        found = self._idf.get(key)
        if found is None:
            if len(self._idf) >= SCOPE_CACHE:
                self._idf.clear()
            found = self._idf[key] = idf_weights([self._item_text(i).crit for i in items])
        return found

    @staticmethod
    def _split(answer: str) -> tuple[list[str], bool, list[bool], bool]:
        """Sentence units without injected instructions; injection flag; bare-list units; stuffing flag."""
        units_all = tx.sentences(answer)
        flagged = [tx.is_injection(u) for u in units_all]
        units = [u for u, bad in zip(units_all, flagged, strict=True) if not bad]
        lists = [tx.is_bare_list(u) for u in units]
        stuffing = bool(units) and sum(lists) / len(units) >= 0.5 and tx.content_ratio(answer) > 0.75
        return units, any(flagged), lists, stuffing

    def flags(self, answer: str) -> tuple[bool, bool]:
        """(injection, keyword stuffing) as ``grade`` reports them, without embedding anything."""
        _, injection, _, stuffing = self._split(answer)
        return injection, stuffing

    def prefetch(self, answer: str) -> None:
        """Start embedding what ``prepare`` will embed (units, then their pairs) while the turn is stored."""
        if self.ahead is not None:
            units = self._split(answer)[0]
            self.ahead(units + [" ".join(units[n : n + 2]) for n in range(len(units))])

    def prepare(self, answer: str) -> Prepared:
        units, injection, lists, stuffing = self._split(answer)
        windows = [" ".join(units[max(0, n - 1) : n + 3]) for n in range(len(units))]
        pairs = [" ".join(units[n : n + 2]) for n in range(len(units))]
        vectors = self.embed(units + pairs) if units else np.zeros((0, 1))
        words = sum(len(u.split()) for u in units)
        unit_stems = [tx.stems(u) for u in units]  # a window's stems are the union of its units' stems
        window_stems = [set().union(*unit_stems[max(0, n - 1) : n + 3]) for n in range(len(units))]
        topic = mean_direction(vectors[: len(units)]) if units else np.zeros(0)
        return Prepared(units, windows, vectors, injection, stuffing, words, window_stems,
                        [tx.has_reason(w) for w in windows], lists, topic, set().union(*unit_stems))

    def features(self, prep: Prepared, items: list[RubricItem]) -> np.ndarray:
        """(items, units, features) for every sentence window of the answer and every item."""
        n_units = len(prep.units)
        sims = np.einsum("ikd,sd->iks", self._item_vectors(items), prep.vectors)
        sims = np.maximum(sims[:, :, :n_units], sims[:, :, n_units:])  # sentence or sentence pair
        feats = np.zeros((len(items), n_units, len(FEATURES)), dtype=np.float64)
        feats[:, :, 0:3] = sims.transpose(0, 2, 1)
        lows = [w.lower() for w in prep.windows]
        for k, item in enumerate(items):
            text = self._item_text(item)
            for u, wstems in enumerate(prep.window_stems):
                if text.cues:
                    hits = sum(1 for low, stems in text.cues if low in lows[u] or (stems and stems <= wstems))
                    feats[k, u, 3] = min(1.0, hits / 2)
                feats[k, u, 4] = min(1.0, len(wstems & text.crit) / text.crit_norm)
        feats[:, :, 5] = np.array(prep.reasons, dtype=np.float64)
        feats[:, :, 6] = np.array(prep.lists, dtype=np.float64)
        return feats

    def matches(self, prep: Prepared, items: list[RubricItem]) -> list[Match]:
        """The best-scoring sentence window of the answer for every item, with its features.

        Probabilities are computed for all windows at once; the winner is then confirmed
        with the scalar ``Calibration.probability`` over the near-best windows, in window
        order, so ties resolve exactly as a window-by-window scan would. Each match also
        carries the item model's features (best window + answer-level evidence).
        """
        if not prep.units:
            return [Match(np.zeros(len(FEATURES)), "", "") for _ in items]
        feats = self.features(prep, items)
        z = np.clip(self.cal.bias + feats @ np.asarray(self.cal.weights, dtype=np.float64), -30.0, 30.0)
        probs = 1.0 / (1.0 + np.exp(-z))
        picks: list[tuple[int, float]] = []
        for k in range(len(items)):
            best, best_p = 0, -1.0
            for u in np.flatnonzero(probs[k] >= probs[k].max() - NEAR_TIE):
                p = self.cal.probability(feats[k, u])
                if p > best_p:
                    best, best_p = int(u), p
            picks.append((best, best_p))
        rows = np.array([feats[k, u] for k, (u, _) in enumerate(picks)])
        extra = item_features(rows, np.array([p for _, p in picks]), self._item_vectors(items), prep.topic,
                              idf_cover(self._idf_weights(items), prep.stems),
                              np.array([i.kind == "common_mistake" for i in items]))
        out = []
        for k, (item, (best, _)) in enumerate(zip(items, picks, strict=True)):
            window = prep.windows[best]
            cues = tx.cue_hits(window, item.cues, prep.window_stems[best])
            context = " ".join(prep.units[max(0, best - 2) : best + 4])
            out.append(Match(rows[k].copy(), prep.units[best], window, cues, extra[k], context))
        return out

    def verdict(self, item: RubricItem, m: Match) -> Verdict:
        mistake = item.kind == "common_mistake"
        p = self.cal.item_probability(m, mistake)
        limit = self.cal.mistake_threshold if mistake else self.cal.threshold
        met, reason = p >= limit, f"p={p:.2f} vs {limit:.2f}"
        if met and item.needs_reason and (tx.is_bare_list(m.evidence)
                                          or (item.phase != "clarify" and not tx.has_reason(m.context or m.window))):
            met, reason = False, "mentioned without a justification"
        if met and item.kind == "common_mistake" and tx.negated_near(m.evidence, (m.cues or [""])[0]):
            met, reason = False, "the candidate rejects this approach"
        return Verdict(item_id=item.id, met=met, evidence=m.evidence[:300] if met else None,
                       reason=reason, confidence=round(p, 4))

    def grade(self, answer: str, items: list[RubricItem], context: dict[str, str] | None = None) -> GradeResult:
        prep = self.prepare(answer)
        flags = {"injection": prep.injection, "keyword_stuffing": prep.stuffing}
        if not items:
            return GradeResult(**flags)
        if prep.words < self.cal.min_words:
            return GradeResult(verdicts=[Verdict(item_id=i.id, met=False, reason="no substantive answer")
                                         for i in items], **flags)
        verdicts = [self.verdict(i, m) for i, m in zip(items, self.matches(prep, items), strict=True)]
        return GradeResult(verdicts=stance(items, verdicts), **flags)
