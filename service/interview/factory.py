"""Assemble an interview runtime (knowledge + grader + model) from settings."""

from __future__ import annotations

from typing import Any

from service.grading.judge import LLMJudge
from service.grading.local import local_grader
from service.interview.knowledge import Knowledge, build_knowledge
from service.llm.base import ChatModel
from service.llm.factory import chat_model
from service.settings import Settings


def runtime(settings: Settings, client: Any = None, with_retriever: bool = True) -> tuple[Knowledge, ChatModel | None]:
    model = chat_model(settings, client)
    kb = build_knowledge(settings, with_retriever=with_retriever)
    if model is not None:
        kb.grader = LLMJudge(model, local_grader(), kb.prompts)
    return kb, model
