"""REST request and response bodies."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class CaseSummary(BaseModel):
    id: str
    title: str
    summary: str
    levels: list[str]
    tags: list[str]


class CaseDetail(CaseSummary):
    prompt: str


class CreateSession(BaseModel):
    model_config = ConfigDict(extra="forbid")
    case_id: str = Field(min_length=1, max_length=120)
    level: Literal["mid", "senior", "staff", "principal"] = "senior"
    minutes: int = Field(45, ge=10, le=180)
    mode: Literal["practice", "exam"] = "practice"


class SessionCreated(BaseModel):
    session_id: str
    token: str
    ws_url: str


class SessionInfo(BaseModel):
    session_id: str
    case_id: str
    level: str
    minutes: int
    mode: str
    status: str
    phase: str
    turns: int
    last_seq: int
    created_at: str


class PostMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["answer", "hint", "move_on", "end"]
    client_id: str = Field(min_length=1, max_length=80)
    text: str = Field("", max_length=16_000)


class Events(BaseModel):
    events: list[dict[str, Any]]


class Regraded(BaseModel):
    version: int
    scorecard: dict[str, Any]
    diff: dict[str, Any]
