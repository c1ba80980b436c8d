"""Candidate answers for load: the labelled answers of ``evals/grading/`` (varied length and style)."""

from __future__ import annotations

import yaml

from service.settings import PROJECT_ROOT

GRADING = PROJECT_ROOT / "evals" / "grading"
SKIP_STYLES = {"empty"}


def answer_pool(case: str | None = None) -> list[str]:
    """Every labelled answer (optionally of one case) with some text, in file order."""
    out: list[str] = []
    for path in sorted(GRADING.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if case and data.get("case") != case:
            continue
        out += [a["answer"].strip() for a in data.get("answers", [])
                if a.get("style") not in SKIP_STYLES and a.get("answer", "").strip()]
    if not out:
        raise ValueError(f"no labelled answers found in {GRADING} for case {case!r}")
    return out
