"""Figures, percentiles and the result files (JSON + Markdown table)."""

from __future__ import annotations

import json
import math
import os
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass
class Figure:
    """One measured number with its target (None = informational) and same-run baseline."""

    name: str
    value: float | None
    unit: str
    target: str = ""
    passed: bool | None = None
    baseline: str = ""

    def shown(self) -> str:
        if self.value is None or math.isnan(self.value):
            return "n/a"
        if float(self.value).is_integer() and not self.unit:
            return f"{int(self.value):,}"
        digits = 0 if abs(self.value) >= 100 else 1 if abs(self.value) >= 10 else 2
        return f"{self.value:,.{digits}f} {self.unit}".strip()

    @property
    def verdict(self) -> str:
        return {True: "PASS", False: "FAIL", None: "-"}[self.passed]


@dataclass
class Result:
    """A benchmark's figures, the notes that define what was measured, and raw details."""

    name: str
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    error: str | None = None

    def add(self, name: str, value: float | None, unit: str, target: str = "", passed: bool | None = None,
            baseline: str = "") -> Figure:
        figure = Figure(name, value, unit, target, passed, baseline)
        self.figures.append(figure)
        return figure


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (p99 of fewer than 100 samples is their maximum)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def at_most(value: float, limit: float) -> bool:
    return bool(value <= limit)


def machine() -> dict[str, Any]:
    return {"cpus": os.cpu_count(), "load_avg_1m": round(os.getloadavg()[0], 2),
            "python": platform.python_version(), "platform": platform.platform()}


def row(bench: str, f: Figure) -> list[str]:
    return [bench, f.name, f.shown(), f.target or "-", f.verdict, f.baseline or "-"]


HEADER = ["benchmark", "figure", "measured", "target", "pass", "baseline (same run)"]


def text_table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [HEADER, *rows]) for i in range(len(HEADER))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in [HEADER, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown(results: list[Result], meta: dict[str, Any]) -> str:
    out = [f"# mockround benchmarks — {meta['started']}", "",
           f"Mode: {'quick' if meta['quick'] else 'full'}; {meta['machine']['cpus']} CPUs; load average "
           f"{meta['machine']['load_avg_1m']} at start, {meta['load_avg_end']} at end; "
           f"{meta['seconds']:.0f} s in total.", "",
           "| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    for res in results:
        for f in res.figures:
            out.append("| " + " | ".join(c.replace("|", "\\|") for c in row(res.name, f)) + " |")
        if res.error:
            out.append(f"| {res.name} | error | {res.error[:120]} | - | FAIL | - |")
    out.append("")
    for res in results:
        if res.notes:
            out += [f"## {res.name}", "", *[f"- {n}" for n in res.notes], ""]
    return "\n".join(out)


def write(results: list[Result], meta: dict[str, Any], folder: Path = RESULTS) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(meta["started_ts"]))
    data = {**meta, "results": [asdict(r) for r in results]}
    json_path = folder / f"{stamp}.json"
    json_path.write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")
    md_path = folder / "latest.md"
    md_path.write_text(markdown(results, meta), encoding="utf-8")
    return json_path, md_path
