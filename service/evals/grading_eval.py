"""Item-level agreement of a grader with the labelled set (per split)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from service.corpus.loader import Corpus
from service.evals.calibrate import macro_f1
from service.evals.grading_data import LabelledAnswer, load_grading, scope
from service.interview.knowledge import Grader


def predictions(grader: Grader, corpus: Corpus, rows: list[tuple[str, LabelledAnswer]]) -> list[dict[str, Any]]:
    out = []
    for case, ans in rows:
        items = scope(corpus, case, ans.phase, ans.stress_test)
        result = grader.grade(ans.answer, items, {"phase": ans.phase}).by_id()
        for item in items:
            out.append({"answer": ans.id, "case": case, "phase": ans.phase, "item": item.id, "kind": item.kind,
                        "points": item.points, "pred": result[item.id].met, "gold": item.id in ans.met,
                        "band": ans.band, "style": ans.style})
    return out


def item_metrics(rows: list[dict[str, Any]]) -> dict[str, float]:
    pred, gold = [r["pred"] for r in rows], [r["gold"] for r in rows]
    tp = sum(p and g for p, g in zip(pred, gold, strict=True))
    fp = sum(p and not g for p, g in zip(pred, gold, strict=True))
    fn = sum(g and not p for p, g in zip(pred, gold, strict=True))
    n = max(1, len(rows))
    return {"macro_f1": round(macro_f1(pred, gold), 4),
            "precision_met": round(tp / max(1, tp + fp), 4), "recall_met": round(tp / max(1, tp + fn), 4),
            "met_rate_bias": round((sum(pred) - sum(gold)) / n, 4), "n": len(rows)}


def evaluate(grader: Grader, corpus: Corpus, root: Path, split: str) -> dict[str, Any]:
    rows = [(c, a) for c, a in load_grading(root, corpus) if a.split == split]
    preds = predictions(grader, corpus, rows)
    return {"split": split, "answers": len(rows), **item_metrics(preds)}
