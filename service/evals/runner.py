"""``mockround eval``: run the suites and write report.json, report.md and PNG charts."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from service.evals.conversations import conversations_suite, cost_suite
from service.evals.grading_data import LabelledAnswer, load_grading
from service.evals.grading_suite import (
    KeywordBaseline,
    band_stats,
    bootstrap,
    fit_cuts,
    grade_rows,
    human_agreement,
    item_stats,
    per_phase,
    per_phase_ci,
    worst,
)
from service.evals.llm_mode import EvalLLM
from service.evals.report_md import markdown
from service.evals.retrieval_eval import Baseline, evaluate_baseline, evaluate_hybrid, load_queries
from service.interview.knowledge import Knowledge
from service.retrieval.embeddings import embed_minilm
from service.settings import PROJECT_ROOT

EVALS = PROJECT_ROOT / "evals"
SUITES = ("retrieval", "grading", "conversations", "cost")
COST_ANSWERS = 40

__all__ = ["SUITES", "grading_suite", "load_thresholds", "markdown", "retrieval_suite", "run"]


def _round(obj: Any) -> Any:
    if isinstance(obj, float):
        return round(obj, 4)
    if isinstance(obj, dict):
        return {k: _round(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_round(v) for v in obj]
    return obj


def retrieval_suite(kb: Knowledge, root: Path = EVALS) -> dict[str, Any]:
    assert kb.retriever is not None
    queries = load_queries(root / "retrieval" / "queries.yaml")
    baseline = Baseline.build(kb.retriever, embed_minilm)
    out: dict[str, Any] = {"queries": len(queries)}
    for split in ("dev", "test"):
        subset = [q for q in queries if q.split == split]
        out[split] = {"hybrid": evaluate_hybrid(kb.retriever, subset),
                      "baseline": evaluate_baseline(baseline, kb.retriever, subset, embed_minilm), "n": len(subset)}
    return out


def first_per_split(rows: list[tuple[str, LabelledAnswer]], limit: int | None) -> list[tuple[str, LabelledAnswer]]:
    """The first ``limit`` answers of each split, in file order (all of them without a limit)."""
    if limit is None:
        return rows
    return [r for split in ("dev", "test") for r in [r for r in rows if r[1].split == split][:limit]]


def grading_suite(kb: Knowledge, root: Path = EVALS, limit: int | None = None) -> dict[str, Any]:
    corpus = kb.corpus
    rows = first_per_split(load_grading(root / "grading", corpus), limit)
    dev = [(c, a) for c, a in rows if a.split == "dev"]
    out: dict[str, Any] = {"answers": len(rows), "cases": len({c for c, _ in rows}), "grader_name": kb.grader.name}
    for name, grader in (("grader", kb.grader), ("baseline", KeywordBaseline())):
        dev_graded = grade_rows(grader, corpus, dev)
        cuts = fit_cuts([g["value"] for g in dev_graded], [g["answer"].band for g in dev_graded])
        result: dict[str, Any] = {"band_cuts": cuts}
        for split in ("dev", "test"):
            subset = [r for r in rows if r[1].split == split]
            graded = dev_graded if split == "dev" else grade_rows(grader, corpus, subset)
            result[split] = {**item_stats(graded), **band_stats(graded, cuts), **bootstrap(graded, cuts),
                             "per_phase": per_phase(graded), "per_phase_ci95": per_phase_ci(graded),
                             "judge_fallbacks": sum(1 for g in graded if g["fallback"]), "n": len(graded)}
            if name == "grader" and split == "test":
                result["worst"] = worst(graded)
        out[name] = result
    out["human_agreement"] = human_agreement(rows, corpus)
    return out


def _suite(name: str, kb: Knowledge, llm: EvalLLM, limit: int | None) -> dict[str, Any]:
    if name == "retrieval":
        return retrieval_suite(kb)
    if name == "grading":
        return grading_suite(kb, limit=limit)
    if name == "conversations":
        return conversations_suite(kb, EVALS, llm.model, limit)
    return cost_suite(kb, llm.model, answers=limit or COST_ANSWERS)


def run(kb: Knowledge, suites: list[str], out: Path | None, *, llm: EvalLLM | None = None,
        limit: int | None = None, clock: Callable[[], float] = time.perf_counter) -> dict[str, Any]:
    """Run the chosen suites in a fixed order; with ``out`` write the report files and charts.

    ``limit`` keeps runs with a real model short: the first N answers of each grading split,
    the first N persona cases, N answers in the cost run. Replay misses fail after each suite.
    """
    llm = llm or EvalLLM()
    started = clock()
    report: dict[str, Any] = {}
    timing: dict[str, float] = {}
    for name in (s for s in SUITES if s in suites):
        t0 = clock()
        report[name] = _suite(name, kb, llm, limit)
        timing[name] = clock() - t0
        llm.check()
    report["suite_seconds"] = timing
    report["seconds"] = clock() - started
    report["llm"] = llm.describe()
    if limit is not None:
        report["limit"] = limit
    report = _round(report)
    llm.write_manifest([s for s in SUITES if s in suites], limit)
    if out:
        write(report, out)
    return report


def write(report: dict[str, Any], out: Path) -> None:
    from service.evals.charts import write_charts

    out.mkdir(parents=True, exist_ok=True)
    report["charts"] = write_charts(report, out)
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / "report.md").write_text(markdown(report))


def load_thresholds(path: Path = EVALS / "thresholds.yaml") -> dict[str, Any]:
    return yaml.safe_load(path.read_text()) if path.is_file() else {}
