"""Verdict types shared by the offline grader, the LLM judge and scoring."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

VerdictSource = Literal["offline", "llm", "llm_fallback"]


class Verdict(BaseModel):
    item_id: str
    met: bool
    evidence: str | None = None
    reason: str = ""
    confidence: float = 0.0
    source: VerdictSource = "offline"


class GradeResult(BaseModel):
    """All verdicts for one answer, plus answer-level flags."""

    verdicts: list[Verdict] = Field(default_factory=list)
    injection: bool = False
    keyword_stuffing: bool = False
    grader: str = "offline"
    fallback: str | None = None

    def met_ids(self) -> set[str]:
        return {v.item_id for v in self.verdicts if v.met}

    def by_id(self) -> dict[str, Verdict]:
        return {v.item_id: v for v in self.verdicts}
