"""Fit the offline grader's weights and thresholds on the ``dev`` split only.

Three steps: the window model (logistic regression over the seven window features, shrunk
towards the prior weights) picks each item's evidence window; the item model (a ridge
logistic regression over the window features plus the answer-level ones, fitted
separately for positive items and for common mistakes) decides met; a threshold search
then maximises item-level macro-F1 on dev (F0.5 for mistakes). This module never reads the
``test`` split: ``load_dev`` filters it out before anything else sees the data.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from service.corpus.loader import Corpus, load_corpus
from service.evals.grading_data import LabelledAnswer, load_grading, scope
from service.grading.local import local_grader
from service.grading.offline import CALIBRATION_FILE, FEATURES, ITEM_FEATURES, Calibration, OfflineGrader

MISTAKE_ONLY = ("answer_strength",)  # answer-level features the positive item model does not use


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
    """Per (answer, item): match, item, gold label."""
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


def fit_ridge(x: np.ndarray, y: np.ndarray, l2: float, steps: int = 30) -> tuple[np.ndarray, float]:
    """Logistic regression with an L2 penalty on standardised features, by Newton steps.

    Standardising makes one ``l2`` mean the same shrinkage for cosines, shares and flags;
    the weights are returned on the raw feature scale, ready for ``Calibration``.
    """
    mu, sd = x.mean(axis=0), x.std(axis=0)
    sd = np.where(sd > 1e-9, sd, 1.0)
    xs = np.column_stack([np.ones(len(x)), (x - mu) / sd])
    penalty = l2 * np.eye(xs.shape[1])
    penalty[0, 0] = 0.0  # the intercept is not shrunk
    w = np.zeros(xs.shape[1])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-np.clip(xs @ w, -30, 30)))
        hessian = (xs * (p * (1 - p))[:, None]).T @ xs + penalty
        step = np.linalg.solve(hessian, xs.T @ (p - y) + penalty @ w)
        w -= step
        if float(np.abs(step).max()) < 1e-10:
            break
    raw = w[1:] / sd
    return raw, float(w[0] - raw @ mu)


def item_models(data: list, l2: float = 3.0, l2_mistakes: float = 10.0) -> dict[str, dict[str, object]]:  # type: ignore[type-arg]
    """The item model's weights, fitted separately on positive items and on common mistakes.

    Mistakes are rare (about one label in sixteen on dev) and shrunk harder. The positive
    model leaves out ``answer_strength`` (weight 0): as a prior on positive items it would
    hold back short, focused answers that address one item well.
    """
    out: dict[str, dict[str, object]] = {}
    for name, mistakes, penalty in (("item_model", False, l2), ("mistake_model", True, l2_mistakes)):
        used = np.array([mistakes or f not in MISTAKE_ONLY for f in ITEM_FEATURES])
        subset = [(m, g) for m, i, g in data if (i.kind == "common_mistake") == mistakes]
        x = np.array([m.item_features for m, _ in subset])
        y = np.array([1.0 if g else 0.0 for _, g in subset])
        w, b = fit_ridge(x[:, used], y, penalty)
        weights = np.zeros(len(ITEM_FEATURES))
        weights[used] = w
        out[name] = {"weights": [round(float(v), 4) for v in weights], "bias": round(b, 4), "l2": penalty,
                     "labels": len(subset), "met": int(y.sum())}
    return out


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


def fit(rows: list[tuple[str, LabelledAnswer]], corpus: Corpus, l2: float = 0.05) -> dict[str, object]:
    """Fit the window model, then the item models on the windows it picks, then the thresholds."""
    grader = local_grader(Calibration())
    data = collect(grader, rows, corpus)
    x = np.array([m.features for m, _, _ in data])
    y = np.array([1.0 if g else 0.0 for _, _, g in data])
    w, b = fit_logistic(x, y, Calibration(), l2=l2)
    fitted = f"dev split: {len(rows)} answers, {len(data)} item labels"
    window = Calibration(weights=tuple(round(float(v), 4) for v in w), bias=round(b, 4), fitted_on=fitted)
    grader.cal = window
    data = collect(grader, rows, corpus)  # evidence windows as the fitted window model picks them
    models = item_models(data)
    grader.cal = Calibration.from_dict({**_window_dict(window), **models, "threshold": 0.5, "mistake_threshold": 0.5})
    threshold = best_threshold(grader, data, mistakes=False)
    return {**_window_dict(window), "threshold": threshold,
            "mistake_threshold": best_threshold(grader, data, mistakes=True, floor=threshold),
            "item_features": list(ITEM_FEATURES), **models}


def calibrate(corpus_dir: Path, grading_dir: Path, out: Path = CALIBRATION_FILE) -> dict[str, object]:
    """Fit on the dev split and write ``calibration.json``."""
    corpus = load_corpus(corpus_dir)
    result = fit(load_dev(grading_dir, corpus), corpus)
    out.write_text(json.dumps(result, indent=2) + "\n")
    return result


def cross_validate(corpus_dir: Path, grading_dir: Path, folds: int = 4) -> float:
    """Item-level macro-F1 of k-fold cross-validation over the dev answers (answer i in fold i % k)."""
    from service.evals.grading_suite import grade_rows, item_stats  # it imports this module

    corpus = load_corpus(corpus_dir)
    rows = load_dev(grading_dir, corpus)
    graded: list[dict[str, Any]] = []
    for k in range(folds):
        grader = local_grader(Calibration.from_dict(fit([r for n, r in enumerate(rows) if n % folds != k], corpus)))
        graded += grade_rows(grader, corpus, [r for n, r in enumerate(rows) if n % folds == k])
    return float(item_stats(graded)["macro_f1"])


def _window_dict(cal: Calibration) -> dict[str, object]:
    return {"weights": list(cal.weights), "bias": cal.bias, "features": list(FEATURES),
            "min_words": cal.min_words, "fitted_on": cal.fitted_on}


if __name__ == "__main__":
    if sys.argv[1:] == ["--cv"]:  # dev only: how well the recipe generalises to dev answers it did not see
        score = cross_validate(Path("corpus"), Path("evals/grading"))
        print(f"4-fold cross-validation over dev, item macro-F1: {score:.4f}")
        sys.exit(0)
    print(json.dumps(calibrate(Path("corpus"), Path("evals/grading")), indent=2))
    sys.exit(0)
