"""``mockround eval``: run the offline suites and write report.json + report.md."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import yaml

from service.evals.conversations import conversations_suite, cost_suite
from service.evals.grading_data import load_grading
from service.evals.grading_suite import (
    KeywordBaseline,
    band_stats,
    bootstrap,
    fit_cuts,
    grade_rows,
    human_agreement,
    item_stats,
    per_phase,
    worst,
)
from service.evals.retrieval_eval import Baseline, evaluate_baseline, evaluate_hybrid, load_queries
from service.interview.knowledge import Knowledge
from service.retrieval.embeddings import embed_minilm
from service.settings import PROJECT_ROOT

EVALS = PROJECT_ROOT / "evals"
SUITES = ("retrieval", "grading", "conversations", "cost")


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


def grading_suite(kb: Knowledge, root: Path = EVALS) -> dict[str, Any]:
    corpus = kb.corpus
    rows = load_grading(root / "grading", corpus)
    dev = [(c, a) for c, a in rows if a.split == "dev"]
    out: dict[str, Any] = {"answers": len(rows), "cases": len({c for c, _ in rows})}
    for name, grader in (("grader", kb.grader), ("baseline", KeywordBaseline())):
        dev_graded = grade_rows(grader, corpus, dev)
        cuts = fit_cuts([g["value"] for g in dev_graded], [g["answer"].band for g in dev_graded])
        result: dict[str, Any] = {"band_cuts": cuts}
        for split in ("dev", "test"):
            subset = [r for r in rows if r[1].split == split]
            graded = dev_graded if split == "dev" else grade_rows(grader, corpus, subset)
            result[split] = {**item_stats(graded), **band_stats(graded, cuts), **bootstrap(graded, cuts),
                             "per_phase": per_phase(graded), "n": len(graded)}
            if name == "grader" and split == "test":
                result["worst"] = worst(graded)
        out[name] = result
    out["human_agreement"] = human_agreement(rows, corpus)
    return out


def markdown(report: dict[str, Any]) -> str:
    lines = ["# mockround eval report", "", f"Generated in {report['seconds']:.0f}s.", ""]
    if "retrieval" in report:
        r = report["retrieval"]
        lines += ["## Retrieval", "", f"{r['queries']} labelled queries.", "",
                  "| split | system | recall@3 | recall@5 | recall@10 | MRR | nDCG@10 |",
                  "| --- | --- | --- | --- | --- | --- | --- |"]
        for split in ("dev", "test"):
            for system in ("hybrid", "baseline"):
                m = r[split][system]
                lines.append(f"| {split} | {system} | {m['recall@3']} | {m['recall@5']} | {m['recall@10']} | "
                             f"{m['mrr']} | {m['ndcg@10']} |")
        lines.append("")
    if "grading" in report:
        g = report["grading"]
        lines += ["## Grading", "", f"{g['answers']} labelled answers across {g['cases']} cases.", "",
                  "| split | grader | macro-F1 (95% CI) | P met | R met | bias | band QWK (95% CI) | Spearman |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- |"]
        for split in ("dev", "test"):
            for name in ("grader", "baseline"):
                m = g[name][split]
                f1_ci = f"{m['macro_f1_ci95'][0]}–{m['macro_f1_ci95'][1]}"
                lines.append(f"| {split} | {name} | {m['macro_f1']} ({f1_ci}) | "
                             f"{m['precision_met']} | {m['recall_met']} | {m['met_rate_bias']} | {m['band_qwk']} "
                             f"({m['band_qwk_ci95'][0]}–{m['band_qwk_ci95'][1]}) | {m['band_spearman']} |")
        lines += ["", "Per phase (test, grader macro-F1): " + ", ".join(
            f"{p} {v}" for p, v in g["grader"]["test"]["per_phase"].items()), ""]
        if g.get("human_agreement"):
            h = g["human_agreement"]
            lines += [f"Human–human agreement on {h['answers']} double-labelled answers: macro-F1 {h['macro_f1']}, "
                      f"band QWK {h['band_qwk']}.", ""]
        lines += ["Worst 10 test answers:", "", "| answer | style | phase | errors | false met | missed |",
                  "| --- | --- | --- | --- | --- | --- |"]
        lines += [f"| {w['answer']} | {w['style']} | {w['phase']} | {w['errors']} | {', '.join(w['false_met'])} | "
                  f"{', '.join(w['missed'])} |" for w in g["grader"]["worst"]]
    lines += conversation_lines(report)
    return "\n".join(lines) + "\n"


def conversation_lines(report: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    if "conversations" in report:
        c = report["conversations"]
        lines += ["", "## Conversations", "", "| case | persona | overall | hire call | checks failed |",
                  "| --- | --- | --- | --- | --- |"]
        for r in c["runs"]:
            bad = [k for k, ok in r["checks"].items() if not ok]
            failed = ", ".join(bad) or "—"
            lines.append(f"| {r['case']} | {r['persona']} | {r['overall']} | {r['hire_call']} | {failed} |")
        lines += ["", f"Hire ordering strong > average > weak: {c['hire_ordering']}",
                  f"Injection score delta (injected − honest): {c['injection_delta']}",
                  f"All checks passed: {c['passed']}" + ("" if c["passed"] else f" — {c['failed_checks']}")]
    if "cost" in report:
        k = report["cost"]
        lines += ["", "## Cost", "",
                  f"{k['turns']} answers: prompt tokens per turn grew ×{k['bounded_growth_5_to_last']} from turn 5 to "
                  f"the last (full-history baseline ×{k['full_growth_5_to_last']}); session prompt tokens "
                  f"{k['session_prompt_tokens']} vs {k['session_full_history_tokens']} with full history."]
    return lines


def run(kb: Knowledge, suites: list[str], out: Path | None) -> dict[str, Any]:
    started = time.perf_counter()
    report: dict[str, Any] = {}
    if "retrieval" in suites:
        report["retrieval"] = retrieval_suite(kb)
    if "grading" in suites:
        report["grading"] = grading_suite(kb)
    if "conversations" in suites:
        report["conversations"] = conversations_suite(kb, EVALS)
    if "cost" in suites:
        report["cost"] = cost_suite(kb)
    report["seconds"] = time.perf_counter() - started
    report = _round(report)
    if out:
        out.mkdir(parents=True, exist_ok=True)
        (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
        (out / "report.md").write_text(markdown(report))
    return report


def load_thresholds(path: Path = EVALS / "thresholds.yaml") -> dict[str, Any]:
    return yaml.safe_load(path.read_text()) if path.is_file() else {}
