"""Pick the chat model and grader from settings (offline unless an LLM is configured)."""

from __future__ import annotations

from typing import Any

from service.llm.base import ChatModel
from service.settings import Settings


def chat_model(settings: Settings, client: Any = None) -> ChatModel | None:
    """The configured model, or None for the deterministic offline engine."""
    if settings.llm == "offline":
        return None
    from service.llm.openai_compat import from_settings

    return from_settings(settings, client)
