"""Grading suite: agreement of the grader with human labels (HealthBench / ETS style).

Item level: macro-F1 (mean of F1 for met and not met), precision/recall per class, met-rate
bias. Answer level: a band 1–4 predicted from the share of in-scope value the answer
earned (cut points fitted on ``dev`` only), quadratic weighted kappa and Spearman.
Bootstrap 95% intervals resample answers. A keyword-count baseline is measured beside it,
and human–human agreement on double-labelled answers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from service.corpus.loader import Corpus
from service.corpus.models import PHASES, RubricItem
from service.evals.calibrate import macro_f1
from service.evals.grading_data import LabelledAnswer, scope
from service.grading import text as tx
from service.grading.verdicts import GradeResult, Verdict
from service.interview.knowledge import Grader

Rows = list[tuple[str, LabelledAnswer]]


class KeywordBaseline:
    """Met when the answer contains at least ``need`` of the item's cue phrases."""

    name = "keyword-count"

    def __init__(self, need: int = 1) -> None:
        self.need = need

    def grade(self, answer: str, items: list[RubricItem], context: dict[str, str] | None = None) -> GradeResult:
        words = tx.stems(answer)
        return GradeResult(verdicts=[Verdict(item_id=i.id, met=len(tx.cue_hits(answer, i.cues, words)) >= self.need)
                                     for i in items], grader=self.name)


def answer_value(items: list[RubricItem], met: set[str]) -> float:
    """Share of the answer's in-scope positive value earned, minus mistakes (0..1)."""
    positive = sum(i.points for i in items if i.kind != "common_mistake")
    earned = sum(i.points for i in items if i.id in met)
    return max(0.0, earned) / max(1e-9, positive)


def qwk(a: list[int], b: list[int], k: int = 4) -> float:
    """Quadratic weighted kappa for labels 1..k."""
    obs = np.zeros((k, k))
    for x, y in zip(a, b, strict=True):
        obs[x - 1, y - 1] += 1
    if obs.sum() == 0:
        return 0.0
    w = np.array([[(i - j) ** 2 / (k - 1) ** 2 for j in range(k)] for i in range(k)])
    exp = np.outer(obs.sum(1), obs.sum(0)) / obs.sum()
    denom = (w * exp).sum()
    return float(1 - (w * obs).sum() / denom) if denom else 1.0


def spearman(a: list[float], b: list[float]) -> float:
    def ranks(x: list[float]) -> np.ndarray:
        order = np.argsort(x, kind="mergesort")
        r = np.empty(len(x))
        r[order] = np.arange(len(x))
        for value in set(x):  # average ties
            idx = [n for n, v in enumerate(x) if v == value]
            r[idx] = np.mean(r[idx])
        return r

    if len(a) < 3:
        return 0.0
    ra, rb = ranks(a), ranks(b)
    if ra.std() == 0 or rb.std() == 0:
        return 0.0
    return float(np.corrcoef(ra, rb)[0, 1])


def fit_cuts(values: list[float], bands: list[int]) -> list[float]:
    """Three cut points on the value scale maximising QWK on the given (dev) answers."""
    grid = sorted(set(np.round(values, 3)))
    grid = [0.0, *grid, 1.0]
    best, best_cuts = -2.0, [0.1, 0.3, 0.5]
    coarse = grid[:: max(1, len(grid) // 25)]
    for c1 in coarse:
        for c2 in (g for g in coarse if g > c1):
            for c3 in (g for g in coarse if g > c2):
                score = qwk(bands, [to_band(v, [c1, c2, c3]) for v in values])
                if score > best:
                    best, best_cuts = score, [c1, c2, c3]
    return [float(c) for c in best_cuts]


def to_band(value: float, cuts: list[float]) -> int:
    return 1 + sum(1 for c in cuts if value >= c)


def grade_rows(grader: Grader, corpus: Corpus, rows: Rows) -> list[dict[str, Any]]:
    out = []
    for case, ans in rows:
        items = scope(corpus, case, ans.phase, ans.stress_test)
        result = grader.grade(ans.answer, items, {"phase": ans.phase})
        met = result.met_ids()
        out.append({"answer": ans, "case": case, "items": items, "pred": met, "fallback": result.fallback,
                    "reasons": {v.item_id: v.reason for v in result.verdicts},
                    "value": answer_value(items, met), "gold_value": answer_value(items, set(ans.met))})
    return out


def item_stats(graded: list[dict[str, Any]],
               gold: Callable[[LabelledAnswer], set[str]] | None = None) -> dict[str, float]:
    gold = gold or (lambda a: set(a.met))
    pred, truth = [], []
    for g in graded:
        labels = gold(g["answer"])
        for item in g["items"]:
            pred.append(item.id in g["pred"])
            truth.append(item.id in labels)
    tp = sum(p and t for p, t in zip(pred, truth, strict=True))
    fp = sum(p and not t for p, t in zip(pred, truth, strict=True))
    fn = sum(t and not p for p, t in zip(pred, truth, strict=True))
    tn = len(pred) - tp - fp - fn
    return {"macro_f1": macro_f1(pred, truth), "precision_met": tp / max(1, tp + fp),
            "recall_met": tp / max(1, tp + fn), "precision_not_met": tn / max(1, tn + fn),
            "recall_not_met": tn / max(1, tn + fp), "met_rate_bias": (sum(pred) - sum(truth)) / max(1, len(pred)),
            "items": len(pred)}


def band_stats(graded: list[dict[str, Any]], cuts: list[float]) -> dict[str, float]:
    pred = [to_band(g["value"], cuts) for g in graded]
    gold = [g["answer"].band for g in graded]
    values = [g["value"] for g in graded]
    return {"band_qwk": qwk(gold, pred), "band_spearman": spearman([float(b) for b in gold], values)}


def bootstrap(graded: list[dict[str, Any]], cuts: list[float], n: int = 300, seed: int = 7) -> dict[str, list[float]]:
    rng = np.random.default_rng(seed)
    f1s, qwks = [], []
    for _ in range(n):
        sample = [graded[i] for i in rng.integers(0, len(graded), len(graded))]
        f1s.append(item_stats(sample)["macro_f1"])
        qwks.append(band_stats(sample, cuts)["band_qwk"])
    return {"macro_f1_ci95": [float(np.percentile(f1s, 2.5)), float(np.percentile(f1s, 97.5))],
            "band_qwk_ci95": [float(np.percentile(qwks, 2.5)), float(np.percentile(qwks, 97.5))]}


def human_agreement(rows: Rows, corpus: Corpus) -> dict[str, float] | None:
    double = [(c, a) for c, a in rows if a.met_b is not None]
    if not double:
        return None
    graded = [{"answer": a, "items": scope(corpus, c, a.phase, a.stress_test), "pred": set(a.met_b or [])}
              for c, a in double]
    stats = item_stats(graded)
    return {"answers": len(double), "macro_f1": stats["macro_f1"],
            "band_qwk": qwk([a.band for _, a in double], [a.band_b or a.band for _, a in double])}


def _phases(graded: list[dict[str, Any]]) -> list[str]:
    present = {g["answer"].phase for g in graded}
    return [p for p in PHASES if p in present]


def per_phase(graded: list[dict[str, Any]]) -> dict[str, float]:
    phases = _phases(graded)
    return {p: item_stats([g for g in graded if g["answer"].phase == p])["macro_f1"] for p in phases}


def per_phase_ci(graded: list[dict[str, Any]], n: int = 200, seed: int = 11) -> dict[str, list[float]]:
    """Bootstrap 95% interval of each phase's macro-F1 (answers of the phase resampled)."""
    rng = np.random.default_rng(seed)
    out: dict[str, list[float]] = {}
    for phase in _phases(graded):
        rows = [g for g in graded if g["answer"].phase == phase]
        f1s = [item_stats([rows[i] for i in rng.integers(0, len(rows), len(rows))])["macro_f1"] for _ in range(n)]
        out[phase] = [float(np.percentile(f1s, 2.5)), float(np.percentile(f1s, 97.5))]
    return out


def worst(graded: list[dict[str, Any]], limit: int = 10) -> list[dict[str, Any]]:
    rows = []
    for g in graded:
        gold = set(g["answer"].met)
        wrong = sorted((g["pred"] ^ gold) & {i.id for i in g["items"]})
        reasons = g.get("reasons", {})
        why = [f"{i} {'judged met' if i in g['pred'] else 'missed'} ({reasons.get(i) or 'no reason given'})"
               for i in wrong[:3]]
        rows.append({"answer": g["answer"].id, "style": g["answer"].style, "phase": g["answer"].phase,
                     "errors": len(wrong), "false_met": sorted(g["pred"] - gold)[:5],
                     "missed": sorted(gold - g["pred"])[:5], "reasons": why})
    return [r for r in sorted(rows, key=lambda r: -r["errors"]) if r["errors"]][:limit]
