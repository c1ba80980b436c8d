"""Pydantic models for the structured corpus: framework phases, cases, reference notes.

Every model forbids unknown fields so a typo in a corpus file is an error that names the
file and the field instead of silently dropped content.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Phase = Literal["clarify", "high_level", "deep_dive", "cross_cutting", "summary"]
PHASES: tuple[Phase, ...] = ("clarify", "high_level", "deep_dive", "cross_cutting", "summary")
Level = Literal["mid", "senior", "staff", "principal"]
LEVELS: tuple[Level, ...] = ("mid", "senior", "staff", "principal")
ItemKind = Literal["key_point", "common_mistake", "strong_signal"]
Dimension = Literal[
    "requirements", "architecture", "depth_tradeoffs", "operations", "cost_scale", "communication"
]
DIMENSIONS: tuple[Dimension, ...] = (
    "requirements", "architecture", "depth_tradeoffs", "operations", "cost_scale", "communication"
)
FactTopic = Literal[
    "volume", "latency", "consumers", "sources", "retention", "stack", "quality",
    "security", "scale", "cost", "scope", "other",
]
PHASE_DIMENSION: dict[str, Dimension] = {
    "clarify": "requirements",
    "high_level": "architecture",
    "deep_dive": "depth_tradeoffs",
    "cross_cutting": "operations",
    "summary": "communication",
}

_ID = r"^[a-z0-9][a-z0-9_.-]*[a-z0-9]$"
ItemId = Annotated[str, Field(pattern=_ID, min_length=3, max_length=120)]
Text = Annotated[str, Field(min_length=3, max_length=4000)]
_BACKREF = re.compile(r"\b(see above|as above|see below|mentioned above|the above)\b", re.I)


def level_rank(level: str) -> int:
    """Return the ordinal of a level (mid=0 … principal=3)."""
    return LEVELS.index(level)  # type: ignore[arg-type]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class RubricItem(Strict):
    """One gradable criterion: a key point, a common mistake or a strong signal."""

    id: ItemId
    phase: Phase
    kind: ItemKind
    criterion: Annotated[str, Field(min_length=15, max_length=600)]
    points: float
    min_level: Level = "mid"
    dimension: Dimension | None = None
    needs_reason: bool = False
    cues: list[Annotated[str, Field(min_length=2, max_length=80)]] = Field(default_factory=list)
    probe: Text | None = None
    hints: list[Text] = Field(default_factory=list, max_length=3)

    @field_validator("criterion")
    @classmethod
    def _self_contained(cls, value: str) -> str:
        if _BACKREF.search(value):
            raise ValueError("criterion must be self-contained (no 'see above' style references)")
        return value

    @model_validator(mode="after")
    def _points_sign(self) -> RubricItem:
        if self.kind == "common_mistake" and self.points >= 0:
            raise ValueError("a common_mistake must have negative points")
        if self.kind != "common_mistake" and self.points <= 0:
            raise ValueError(f"a {self.kind} must have positive points")
        return self

    @property
    def effective_dimension(self) -> Dimension:
        return self.dimension or PHASE_DIMENSION[self.phase]


class StressTest(Strict):
    """A scenario twist thrown at the candidate's design, with its own rubric."""

    id: ItemId
    phase: Phase
    title: Annotated[str, Field(min_length=3, max_length=160)]
    triggers: list[Annotated[str, Field(min_length=2, max_length=80)]] = Field(min_length=1)
    question: Text
    min_level: Level = "mid"
    rubric: list[RubricItem] = Field(min_length=1)
    hints: list[Text] = Field(min_length=3, max_length=3)

    @model_validator(mode="after")
    def _rubric_shape(self) -> StressTest:
        for item in self.rubric:
            if item.phase != self.phase:
                raise ValueError(f"rubric item {item.id} phase {item.phase} != stress test phase")
        kinds = [item.kind for item in self.rubric]
        if kinds.count("key_point") < 3:
            raise ValueError("a stress test needs at least 3 key_point items")
        if kinds.count("common_mistake") < 2:
            raise ValueError("a stress test needs at least 2 common_mistake items")
        if kinds.count("strong_signal") < 1:
            raise ValueError("a stress test needs at least 1 strong_signal item")
        return self


class ClarificationFact(Strict):
    """A fact the interviewer reveals when the candidate asks about its topic."""

    id: ItemId
    topic: FactTopic
    questions: list[Text] = Field(min_length=1)
    answer: Text


class Case(Strict):
    """An interview case: prompt, facts, rubric, stress tests and a private model outline."""

    id: ItemId
    title: Annotated[str, Field(min_length=3, max_length=160)]
    prompt: Text
    summary: Annotated[str, Field(min_length=10, max_length=400)]
    levels: list[Level] = Field(min_length=1)
    tags: list[str] = Field(default_factory=list)
    clarifications: list[ClarificationFact] = Field(min_length=1)
    rubric: list[RubricItem] = Field(min_length=1)
    stress_tests: list[StressTest] = Field(default_factory=list)
    model_outline: Text


class FrameworkPhase(Strict):
    """One step of the five-step framework with its generic rubric."""

    id: Phase
    order: int = Field(ge=1, le=5)
    title: Annotated[str, Field(min_length=3, max_length=120)]
    time_share: tuple[float, float]
    goal: Text
    looks_for: list[Text] = Field(min_length=3)
    opening: Text
    transition: Text
    rubric: list[RubricItem] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> FrameworkPhase:
        low, high = self.time_share
        if not 0 < low <= high <= 1:
            raise ValueError("time_share must be two fractions 0 < low <= high <= 1")
        for item in self.rubric:
            if item.phase != self.id:
                raise ValueError(f"rubric item {item.id} has phase {item.phase}, not {self.id}")
        return self


class ReferenceMeta(Strict):
    """Front matter of a reference note (the Markdown body follows it)."""

    id: ItemId
    title: Annotated[str, Field(min_length=3, max_length=160)]
    topics: list[Annotated[str, Field(min_length=2, max_length=80)]] = Field(min_length=1)
    rubric: list[RubricItem] = Field(default_factory=list)
    stress_tests: list[StressTest] = Field(default_factory=list)


class ReferenceNote(Strict):
    meta: ReferenceMeta
    body: Annotated[str, Field(min_length=50)]
