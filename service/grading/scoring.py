"""Scores computed by our code from verdicts and points (never taken from a model)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from service.corpus.models import DIMENSIONS, PHASES, RubricItem, level_rank

PHASE_WEIGHTS = {"clarify": 0.125, "high_level": 0.225, "deep_dive": 0.45, "cross_cutting": 0.125,
                 "summary": 0.075}
HIRE_CALLS = ("strong no hire", "no hire", "lean no hire", "lean hire", "hire", "strong hire")
CUTOFFS = (30.0, 45.0, 55.0, 65.0, 80.0)
STRONG_WEIGHT = 0.5
# Full marks for a phase at this share of its available key-point value: no candidate covers
# every rubric item in 45 minutes, and interviewers do not expect it.
FULL_MARKS_COVERAGE = 0.8


class ItemOutcome(BaseModel):
    item_id: str
    phase: str
    kind: str
    dimension: str
    points: float
    met: bool
    earned: float
    evidence: str | None = None
    hints: int = 0
    origin: str = ""
    source: str = ""
    section: str = ""


class Scorecard(BaseModel):
    level: str
    overall: float
    hire_call: str
    phases: dict[str, float]
    dimensions: dict[str, float]
    met: list[ItemOutcome] = Field(default_factory=list)
    missed: list[ItemOutcome] = Field(default_factory=list)
    mistakes: list[ItemOutcome] = Field(default_factory=list)
    stress_tests: list[dict[str, object]] = Field(default_factory=list)
    study: list[dict[str, str]] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


def hint_discount(hints: int) -> float:
    return max(0.4, 1.0 - 0.3 * hints)


def outcome(item: RubricItem, met: bool, evidence: str | None, hints: int, origin: str,
            source: str = "", section: str = "") -> ItemOutcome:
    if item.kind == "common_mistake":
        earned = item.points if met else 0.0
    else:
        earned = item.points * hint_discount(hints) if met else 0.0
    return ItemOutcome(item_id=item.id, phase=item.phase, kind=item.kind,
                       dimension=item.effective_dimension, points=item.points, met=met,
                       earned=round(earned, 3), evidence=evidence, hints=hints, origin=origin,
                       source=source, section=section)


def ratio(outcomes: list[ItemOutcome]) -> float | None:
    possible = sum(o.points for o in outcomes if o.kind == "key_point")
    possible += STRONG_WEIGHT * sum(o.points for o in outcomes if o.kind == "strong_signal")
    if possible <= 0:
        return None
    earned = sum(o.earned for o in outcomes)
    return round(max(0.0, min(100.0, 100.0 * earned / (FULL_MARKS_COVERAGE * possible))), 1)


def hire_call(overall: float, level: str, strong_met: int) -> str:
    call = sum(1 for cut in CUTOFFS if overall >= cut)
    if level_rank(level) >= level_rank("staff") and strong_met == 0:
        call = min(call, HIRE_CALLS.index("lean hire"))
    return HIRE_CALLS[call]


def build_scorecard(outcomes: list[ItemOutcome], level: str, reached: list[str]) -> Scorecard:
    phases = {p: (ratio([o for o in outcomes if o.phase == p]) or 0.0) if p in reached else 0.0
              for p in PHASES}
    dims = {d: ratio([o for o in outcomes if o.dimension == d and o.phase in reached]) or 0.0
            for d in DIMENSIONS}
    overall = round(sum(PHASE_WEIGHTS[p] * phases[p] for p in PHASES), 1)
    strong_met = sum(1 for o in outcomes if o.kind == "strong_signal" and o.met)
    ordered = sorted(outcomes, key=lambda o: (PHASES.index(o.phase), -abs(o.points), o.item_id))
    return Scorecard(
        level=level, overall=overall, hire_call=hire_call(overall, level, strong_met),
        phases=phases, dimensions=dims,
        met=[o for o in ordered if o.met and o.kind != "common_mistake"],
        missed=[o for o in ordered if not o.met and o.kind == "key_point"],
        mistakes=[o for o in ordered if o.met and o.kind == "common_mistake"],
    )
