"""PNG charts for the eval report (matplotlib, Agg backend: no display needed).

Each chart is drawn only when its suite is in the report; ``write_charts`` returns the file
names it wrote (relative to the output dir, as report.md links them).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

RETRIEVAL_METRICS = ("recall@3", "recall@5", "recall@10", "mrr", "ndcg@10")
PERSONA_ORDER = ("strong", "average", "weak", "rambling", "silent", "move_on_early")
OURS, BASE = "#2b6cb0", "#a0aec0"


def _save(fig: Figure, path: Path) -> str:
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path.name


def retrieval_chart(r: dict[str, Any], path: Path) -> str:
    fig, ax = plt.subplots(figsize=(7, 4))
    xs = range(len(RETRIEVAL_METRICS))
    for offset, system, color in ((-0.2, "hybrid", OURS), (0.2, "baseline", BASE)):
        ax.bar([x + offset for x in xs], [r["test"][system][m] for m in RETRIEVAL_METRICS], 0.4,
               label=system, color=color)
    ax.set_xticks(list(xs), RETRIEVAL_METRICS)
    ax.set_ylim(0, 1.05)
    ax.set_title(f"Retrieval, test split ({r['test']['n']} queries)")
    ax.legend(loc="lower right")
    return _save(fig, path)


def grading_chart(g: dict[str, Any], path: Path) -> str:
    fig, ax = plt.subplots(figsize=(7, 4))
    phases = list(g["grader"]["test"]["per_phase"])
    xs = range(len(phases))
    for offset, name, color in ((-0.2, "grader", OURS), (0.2, "baseline", BASE)):
        test = g[name]["test"]
        values = [test["per_phase"][p] for p in phases]
        cis = [test.get("per_phase_ci95", {}).get(p, [v, v]) for p, v in zip(phases, values, strict=True)]
        err = [[max(0.0, v - lo) for v, (lo, _) in zip(values, cis, strict=True)],
               [max(0.0, hi - v) for v, (_, hi) in zip(values, cis, strict=True)]]
        label = "ours" if name == "grader" else "keyword baseline"
        ax.bar([x + offset for x in xs], values, 0.4, yerr=err, capsize=4, label=label, color=color)
    ax.set_xticks(list(xs), phases)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("item macro-F1")
    ax.set_title("Grading per phase, test split (95% bootstrap CI)")
    ax.legend(loc="lower right")
    return _save(fig, path)


def persona_chart(c: dict[str, Any], path: Path) -> str:
    fig, ax = plt.subplots(figsize=(8, 4))
    cases = list(c["cases"])
    scores = {(r["case"], r["persona"]): r["overall"] for r in c["runs"]}
    personas = [p for p in PERSONA_ORDER if any((case, p) in scores for case in cases)]
    width = 0.8 / max(1, len(cases))
    for n, case in enumerate(cases):
        xs = [i + (n - (len(cases) - 1) / 2) * width for i in range(len(personas))]
        ax.bar(xs, [scores.get((case, p), 0.0) for p in personas], width, label=case)
    ax.set_xticks(range(len(personas)), personas)
    ax.set_ylim(0, 100)
    ax.set_ylabel("overall score (hire call cut-offs 30/45/55/65/80)")
    ax.set_title("Scripted personas, senior level")
    ax.legend(fontsize=8)
    return _save(fig, path)


def cost_chart(k: dict[str, Any], path: Path) -> str:
    fig, ax = plt.subplots(figsize=(7, 4))
    turns = range(1, len(k["prompt_tokens_per_turn"]) + 1)
    ax.plot(turns, k["prompt_tokens_per_turn"], label="bounded running summary", color=OURS)
    ax.plot(turns, k["full_history_per_turn"], label="full history (baseline)", color=BASE, linestyle="--")
    ax.set_xlabel("candidate answer")
    ax.set_ylabel("prompt tokens sent")
    ax.set_title("Prompt tokens per turn")
    ax.legend()
    return _save(fig, path)


def write_charts(report: dict[str, Any], out: Path) -> list[str]:
    written = []
    if "retrieval" in report:
        written.append(retrieval_chart(report["retrieval"], out / "retrieval.png"))
    if "grading" in report:
        written.append(grading_chart(report["grading"], out / "grading_phases.png"))
    if report.get("conversations", {}).get("runs"):
        written.append(persona_chart(report["conversations"], out / "personas.png"))
    if report.get("cost", {}).get("prompt_tokens_per_turn"):
        written.append(cost_chart(report["cost"], out / "cost.png"))
    return written
