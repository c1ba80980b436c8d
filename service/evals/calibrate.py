"""Fit the offline grader's weights and thresholds on the ``dev`` split only.

A class-balanced, L2-regularised logistic regression over the grader's features, then a
threshold search (separately for common mistakes) maximising item-level macro-F1 on dev.
This module never reads the ``test`` split: ``load_dev`` filters it out before anything
else sees the data.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from service.corpus.loader import Corpus, load_corpus
from service.evals.grading_data import LabelledAnswer, load_grading, scope
from service.grading.local import local_grader
from service.grading.offline import CALIBRATION_FILE, FEATURES, Calibration, OfflineGrader


def load_dev(root: Path, corpus: Corpus) -> list[tuple[str, LabelledAnswer]]:
    return [(case, a) for case, a in load_grading(root, corpus) if a.split == "dev"]


def macro_f1(pred: list[bool], gold: list[bool]) -> float:
    scores = []
    for cls in (True, False):
        tp = sum(1 for p, g in zip(pred, gold, strict=True) if p == cls and g == cls)
        fp = sum(1 for p, g in zip(pred, gold, strict=True) if p == cls and g != cls)
        fn = sum(1 for p, g in zip(pred, gold, strict=True) if p != cls and g == cls)
        denom = 2 * tp + fp + fn
        scores.append(2 * tp / denom if denom else 1.0)
    return float(np.mean(scores))


def collect(grader: OfflineGrader, rows: list[tuple[str, LabelledAnswer]], corpus: Corpus):  # type: ignore[no-untyped-def]
    """Per (answer, item): features, match, item, gold label."""
    out = []
    for case, ans in rows:
        items = scope(corpus, case, ans.phase, ans.stress_test)
        prep = grader.prepare(ans.answer)
        matches = grader.matches(prep, items) if prep.units else []
        for n, item in enumerate(items):
            if prep.words < grader.cal.min_words or not matches:
                continue
            out.append((matches[n], item, item.id in ans.met))
    return out


def fit_logistic(x: np.ndarray, y: np.ndarray, prior: Calibration, l2: float = 0.05,
                 steps: int = 4000) -> tuple[np.ndarray, float]:
    """Logistic regression shrunk towards the prior weights (small labelled sets overfit)."""
    w0 = np.asarray(prior.weights, dtype=np.float64)
    w, b, lr = w0.copy(), float(prior.bias), 0.5
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(x @ w + b)))
        g = p - y
        w -= lr * (x.T @ g / len(y) + l2 * (w - w0))
        b -= lr * float(g.mean())
    return w, b


def f_beta(pred: list[bool], gold: list[bool], beta: float) -> float:
    tp = sum(p and g for p, g in zip(pred, gold, strict=True))
    fp = sum(p and not g for p, g in zip(pred, gold, strict=True))
    fn = sum(g and not p for p, g in zip(pred, gold, strict=True))
    b2 = beta * beta
    denom = (1 + b2) * tp + b2 * fn + fp
    return (1 + b2) * tp / denom if denom else 0.0


def best_threshold(grader: OfflineGrader, data: list, mistakes: bool, floor: float = 0.2) -> float:  # type: ignore[type-arg]
    """Macro-F1 for met items; for mistakes F0.5 (a false accusation costs more than a miss)."""
    subset = [(m, i, g) for m, i, g in data if (i.kind == "common_mistake") == mistakes]
    if not subset:
        return max(floor, 0.5)
    best, best_t = -1.0, max(floor, 0.5)
    for t in np.arange(floor, 0.96, 0.02):
        cal = replace(grader.cal, threshold=float(t), mistake_threshold=float(t))
        trial = OfflineGrader(grader.embed, cal)
        pred = [trial.verdict(i, m).met for m, i, _ in subset]
        gold = [g for _, _, g in subset]
        score = f_beta(pred, gold, 0.5) if mistakes else macro_f1(pred, gold)
        if score > best + 1e-9:
            best, best_t = score, float(t)
    return round(best_t, 2)


def calibrate(corpus_dir: Path, grading_dir: Path, out: Path = CALIBRATION_FILE, l2: float = 0.05) -> dict[str, object]:
    corpus = load_corpus(corpus_dir)
    rows = load_dev(grading_dir, corpus)
    grader = local_grader(Calibration())
    data = collect(grader, rows, corpus)
    x = np.array([m.features for m, _, _ in data])
    y = np.array([1.0 if g else 0.0 for _, _, g in data])
    w, b = fit_logistic(x, y, Calibration(), l2=l2)
    grader.cal = Calibration(weights=tuple(round(float(v), 4) for v in w), bias=round(b, 4),
                             fitted_on=f"dev split: {len(rows)} answers, {len(data)} item labels")
    threshold = best_threshold(grader, data, mistakes=False)
    result = {"weights": list(grader.cal.weights), "bias": grader.cal.bias, "features": list(FEATURES),
              "threshold": threshold,
              "mistake_threshold": best_threshold(grader, data, mistakes=True, floor=threshold),
              "min_words": grader.cal.min_words, "fitted_on": grader.cal.fitted_on}
    out.write_text(json.dumps(result, indent=2) + "\n")
    return result




if __name__ == "__main__":
    print(json.dumps(calibrate(Path("corpus"), Path("evals/grading")), indent=2))
    sys.exit(0)
