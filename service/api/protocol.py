"""Websocket protocol: pydantic models in unions discriminated on ``type`` (docs/protocol.md)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

ClientId = Annotated[str, Field(min_length=1, max_length=80)]


class _Msg(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Answer(_Msg):
    type: Literal["answer"]
    client_id: ClientId
    text: Annotated[str, Field(min_length=1)]


class Hint(_Msg):
    type: Literal["hint"]
    client_id: ClientId


class MoveOn(_Msg):
    type: Literal["move_on"]
    client_id: ClientId


class End(_Msg):
    type: Literal["end"]
    client_id: ClientId


class Resume(_Msg):
    type: Literal["resume"]
    last_seq: int = Field(ge=0, le=2_000_000_000)


class Ping(_Msg):
    type: Literal["ping"]


ClientMessage = Annotated[Answer | Hint | MoveOn | End | Resume | Ping, Field(discriminator="type")]
CLIENT = TypeAdapter(ClientMessage)
CLIENT_TYPES = ("answer", "hint", "move_on", "end", "resume", "ping")


class _Event(BaseModel):
    seq: int | None = None


class Ack(_Event):
    type: Literal["ack"]
    client_id: str
    duplicate: bool


class InterviewerDelta(_Event):
    type: Literal["interviewer_delta"]
    turn: int
    offset: int
    text: str


class InterviewerDone(_Event):
    type: Literal["interviewer_done"]
    turn: int
    text: str
    move: str | None
    phase: str
    fallback: str | None = None


class PhaseInfo(BaseModel):
    id: str
    budget_s: int
    used_s: int
    left_s: int


class PhaseEvent(_Event):
    type: Literal["phase"]
    phase: str
    phases: list[PhaseInfo]
    finished: bool
    elapsed_s: int
    total_s: int


class GradeEvent(_Event):
    type: Literal["grade"]
    turn: int
    met: list[dict[str, Any]]
    mistakes: list[dict[str, Any]]
    in_scope: int
    flags: list[str]


class ScorecardEvent(_Event):
    type: Literal["scorecard"]
    scorecard: dict[str, Any]


class ErrorEvent(_Event):
    type: Literal["error"]
    code: str
    message: str


class Pong(_Event):
    type: Literal["pong"]


ServerEvent = Annotated[Ack | InterviewerDelta | InterviewerDone | PhaseEvent | GradeEvent | ScorecardEvent
                        | ErrorEvent | Pong, Field(discriminator="type")]
SERVER = TypeAdapter(ServerEvent)
