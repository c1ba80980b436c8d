"""Verdict types shared by the offline grader, the LLM judge and scoring."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from service.corpus.models import RubricItem

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


def stance(items: list[RubricItem], verdicts: list[Verdict]) -> list[Verdict]:
    """A 'mistake' whose evidence also proves a met positive item describes the right approach."""
    kinds = {i.id: i.kind for i in items}
    positive = {v.evidence for v in verdicts if v.met and v.evidence and kinds[v.item_id] != "common_mistake"}
    out = []
    for v in verdicts:
        if v.met and kinds[v.item_id] == "common_mistake" and v.evidence in positive:
            v = v.model_copy(update={"met": False, "evidence": None,
                                     "reason": "the same words meet a positive item"})
        out.append(v)
    return out
