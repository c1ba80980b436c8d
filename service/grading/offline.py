"""The offline grader: semantic matching of answer sentences to criteria plus lexical cues.

For every (item, answer) pair it computes a small feature vector from the best-matching
sentence window — cosine to the criterion, to the item's cue phrases and to its probe
question, cue hits, content-word overlap, reasoning markers — and scores it with a
logistic model whose weights and thresholds are fitted on the ``dev`` split of the
labelled grading set (``calibration.json`` beside this file). Hard rules then apply: an
item that needs a reason is not met by a bare list or by a mention without a reason; a
common mistake the candidate explicitly rejects is not made; injected instructions are
removed before grading.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from service.corpus.models import RubricItem
from service.grading import text as tx
from service.grading.verdicts import GradeResult, Verdict

CALIBRATION_FILE = Path(__file__).with_name("calibration.json")
FEATURES = ("sem_criterion", "sem_cues", "sem_probe", "cue_hits", "overlap", "reason", "bare_list")
Embed = Callable[[list[str]], np.ndarray]


@dataclass(frozen=True)
class Calibration:
    weights: tuple[float, ...] = (6.0, 3.0, 2.0, 2.0, 2.0, 0.3, -1.5)
    bias: float = -6.2
    threshold: float = 0.5
    mistake_threshold: float = 0.6
    min_words: int = 4
    fitted_on: str = "defaults"

    @classmethod
    def load(cls, path: Path = CALIBRATION_FILE) -> Calibration:
        if not path.is_file():
            return cls()
        data = json.loads(path.read_text())
        return cls(weights=tuple(data["weights"]), bias=data["bias"], threshold=data["threshold"],
                   mistake_threshold=data["mistake_threshold"], min_words=data.get("min_words", 4),
                   fitted_on=data.get("fitted_on", str(path)))

    def probability(self, features: np.ndarray) -> float:
        z = self.bias + float(np.dot(self.weights, features))
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


@dataclass
class Match:
    features: np.ndarray
    evidence: str
    window: str
    cues: list[str] = field(default_factory=list)


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


class OfflineGrader:
    name = "offline"

    def __init__(self, embed: Embed, calibration: Calibration | None = None) -> None:
        self.embed = embed
        self.cal = calibration or Calibration.load()
        self._item_vecs: dict[tuple[str, str], np.ndarray] = {}

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

    def prepare(self, answer: str) -> Prepared:
        units_all = tx.sentences(answer)
        injection = any(tx.is_injection(u) for u in units_all)
        units = [u for u in units_all if not tx.is_injection(u)]
        lists = sum(1 for u in units if tx.is_bare_list(u))
        stuffing = bool(units) and lists / len(units) >= 0.5 and tx.content_ratio(answer) > 0.75
        windows = [" ".join(units[max(0, n - 1) : n + 3]) for n in range(len(units))]
        pairs = [" ".join(units[n : n + 2]) for n in range(len(units))]
        vectors = self.embed(units + pairs) if units else np.zeros((0, 1))
        words = sum(len(u.split()) for u in units)
        return Prepared(units, windows, vectors, injection, stuffing, words,
                        [tx.stems(w) for w in windows], [tx.has_reason(w) for w in windows],
                        [tx.is_bare_list(u) for u in units])

    def matches(self, prep: Prepared, items: list[RubricItem]) -> list[Match]:
        """The best-scoring sentence window of the answer for every item, with its features."""
        n_units = len(prep.units)
        sims = np.einsum("ikd,sd->iks", self._item_vectors(items), prep.vectors)
        sims = np.maximum(sims[:, :, :n_units], sims[:, :, n_units:])  # sentence or sentence pair
        out = []
        for k, item in enumerate(items):
            crit = tx.stems(item.criterion + " " + " ".join(item.cues))
            best: Match | None = None
            best_p = -1.0
            for u, unit in enumerate(prep.units):
                window, wstems = prep.windows[u], prep.window_stems[u]
                cues = tx.cue_hits(window, item.cues, wstems)
                feats = np.array([
                    sims[k, 0, u], sims[k, 1, u], sims[k, 2, u],
                    min(1.0, len(cues) / 2) if item.cues else 0.0,
                    min(1.0, len(wstems & crit) / max(1, min(10, len(crit)))),
                    1.0 if prep.reasons[u] else 0.0,
                    1.0 if prep.lists[u] else 0.0,
                ], dtype=np.float64)
                p = self.cal.probability(feats)
                if p > best_p:
                    best, best_p = Match(feats, unit, window, cues), p
            out.append(best or Match(np.zeros(len(FEATURES)), "", ""))
        return out

    def verdict(self, item: RubricItem, m: Match) -> Verdict:
        p = self.cal.probability(m.features)
        limit = self.cal.mistake_threshold if item.kind == "common_mistake" else self.cal.threshold
        met, reason = p >= limit, f"p={p:.2f} vs {limit:.2f}"
        if met and item.needs_reason and (tx.is_bare_list(m.evidence)
                                          or (item.phase != "clarify" and not tx.has_reason(m.window))):
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
        return GradeResult(verdicts=self._stance(items, verdicts), **flags)

    @staticmethod
    def _stance(items: list[RubricItem], verdicts: list[Verdict]) -> list[Verdict]:
        """A 'mistake' whose evidence also proves a met positive item describes the right approach."""
        kinds = {i.id: i.kind for i in items}
        positive = {v.evidence for v in verdicts if v.met and v.evidence and kinds[v.item_id] != "common_mistake"}
        out = []
        for v in verdicts:
            if v.met and kinds[v.item_id] == "common_mistake" and v.evidence in positive:
                v = v.model_copy(update={"met": False, "evidence": None,
                                         "reason": "the same words meet a positive item"})
            out.append(v)
        return out
