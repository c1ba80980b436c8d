"""Serializable interview state: everything needed to continue, replay or re-grade."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from service.corpus.models import PHASES, Phase
from service.grading.verdicts import Verdict

MoveKind = Literal["opening", "answer_clarification", "probe_gap", "stress_test",
                   "challenge_mistake", "give_hint", "advance_phase", "wrap_up"]
Mode = Literal["practice", "exam"]


class Move(BaseModel):
    """A planner decision with its reason; ``target`` is an item, fact or stress-test id."""

    kind: MoveKind
    target: str | None = None
    reason: str
    phase: Phase
    facts: list[str] = Field(default_factory=list)


class Turn(BaseModel):
    index: int
    role: Literal["interviewer", "candidate"]
    phase: Phase
    text: str
    at: float
    action: Literal["answer", "hint", "move_on", "end", "say"] = "say"
    move: Move | None = None
    verdicts: list[Verdict] = Field(default_factory=list)
    scope: list[str] = Field(default_factory=list)
    retrieved: list[str] = Field(default_factory=list)
    flags: list[str] = Field(default_factory=list)
    model: str = "offline"
    prompt_version: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_ms: float = 0.0
    fallback: str | None = None


class ItemRecord(BaseModel):
    met: bool = False
    evidence: str | None = None
    turn: int | None = None
    source: str = "offline"


class InterviewState(BaseModel):
    case_id: str
    level: str = "senior"
    minutes: int = 45
    mode: Mode = "practice"
    phase: Phase = "clarify"
    started_at: float = 0.0
    phase_started_at: float = 0.0
    phase_used: dict[str, float] = Field(default_factory=lambda: {p: 0.0 for p in PHASES})
    reached: list[str] = Field(default_factory=lambda: ["clarify"])
    turns: list[Turn] = Field(default_factory=list)
    asked_stress: list[str] = Field(default_factory=list)
    stress_phase: dict[str, str] = Field(default_factory=dict)
    active_stress: str | None = None
    asked_targets: list[str] = Field(default_factory=list)
    challenged: list[str] = Field(default_factory=list)
    items: dict[str, ItemRecord] = Field(default_factory=dict)
    scope: dict[str, list[str]] = Field(default_factory=lambda: {p: [] for p in PHASES})
    hints: dict[str, int] = Field(default_factory=dict)
    last_target: str | None = None
    phase_turns: dict[str, int] = Field(default_factory=lambda: {p: 0 for p in PHASES})
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    finished: bool = False
    seed: int = 0

    def budget_seconds(self, phase: str, share: float) -> float:
        return self.minutes * 60.0 * share

    def candidate_turns(self, phase: str | None = None) -> list[Turn]:
        return [t for t in self.turns if t.role == "candidate" and (phase is None or t.phase == phase)]

    def last_interviewer(self) -> Turn | None:
        return next((t for t in reversed(self.turns) if t.role == "interviewer"), None)

    def stress_in(self, phase: str) -> int:
        return sum(1 for p in self.stress_phase.values() if p == phase)
