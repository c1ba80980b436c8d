"""The LLM judge: JSON-schema verdicts, retried once, then the offline verdicts (recorded)."""

from __future__ import annotations

from typing import Any

from service.corpus.models import RubricItem
from service.errors import ModelError
from service.grading.offline import OfflineGrader
from service.grading.verdicts import GradeResult, Verdict
from service.llm.base import ChatModel, Message, Usage
from service.llm.prompts import PromptLibrary

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["verdicts"],
    "properties": {
        "verdicts": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["id", "met", "evidence", "reason"],
                "properties": {
                    "id": {"type": "string"},
                    "met": {"type": "boolean"},
                    "evidence": {"type": "string"},
                    "reason": {"type": "string"},
                },
            },
        }
    },
}


def parse_verdicts(data: dict[str, Any], items: list[RubricItem], answer: str) -> list[Verdict]:
    """Validate the judge's JSON; evidence must be quoted from the answer."""
    rows = data.get("verdicts")
    if not isinstance(rows, list):
        raise ModelError("judge output has no 'verdicts' list")
    by_id: dict[str, Verdict] = {}
    for row in rows:
        if not isinstance(row, dict) or not isinstance(row.get("met"), bool):
            raise ModelError(f"judge verdict is malformed: {str(row)[:120]}")
        evidence = str(row.get("evidence") or "").strip().strip('"')
        met = row["met"] and bool(evidence) and evidence.lower() in answer.lower()
        by_id[str(row.get("id"))] = Verdict(item_id=str(row.get("id")), met=met,
                                            evidence=evidence[:300] if met else None,
                                            reason=str(row.get("reason", ""))[:200], source="llm")
    missing = [i.id for i in items if i.id not in by_id]
    if missing:
        raise ModelError(f"judge skipped items {missing[:5]}")
    return [by_id[i.id] for i in items]


class LLMJudge:
    """Grades with a ChatModel; any failure after one retry falls back to the offline grader."""

    def __init__(self, model: ChatModel, offline: OfflineGrader, prompts: PromptLibrary) -> None:
        self.model = model
        self.offline = offline
        self.prompts = prompts
        self.name = f"llm:{model.name}"
        self.usage = Usage()

    def messages(self, answer: str, items: list[RubricItem], context: dict[str, str]) -> list[Message]:
        listing = "\n".join(f"- {i.id}: {i.criterion}" for i in items)
        user = self.prompts.render("llm/judge_user", items=listing, answer=answer,
                                   phase=context.get("phase", ""),
                                   case_title=context.get("case_title", ""),
                                   question=context.get("question", ""))
        return [Message("system", self.prompts.render("llm/judge_system")), Message("user", user)]

    def grade(self, answer: str, items: list[RubricItem], context: dict[str, str] | None = None) -> GradeResult:
        if not items or not answer.strip():
            return self.offline.grade(answer, items)
        injection, stuffing = self.offline.flags(answer)  # the offline verdicts are needed only on fallback
        messages = self.messages(answer, items, context or {})
        errors: list[str] = []
        for _ in range(2):
            try:
                data = self.model.complete_json(messages, SCHEMA, schema_name="rubric_verdicts")
                self.usage.add(self.model.last_usage)
                verdicts = parse_verdicts(data, items, answer)
                return GradeResult(verdicts=verdicts, injection=injection, keyword_stuffing=stuffing,
                                   grader=self.name)
            except ModelError as exc:
                errors.append(str(exc)[:200])
        base = self.offline.grade(answer, items)
        fallback = [v.model_copy(update={"source": "llm_fallback"}) for v in base.verdicts]
        return GradeResult(verdicts=fallback, injection=base.injection,
                           keyword_stuffing=base.keyword_stuffing, grader=self.name,
                           fallback="; ".join(errors))
