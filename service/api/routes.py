"""REST routes under /v1 (thin: translate HTTP to the session service)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse

from service.api.deps import AdminDep, ServiceDep, SessionDep
from service.api.schemas import (
    CaseDetail,
    CaseSummary,
    CreateSession,
    Events,
    PostMessage,
    Regraded,
    SessionCreated,
    SessionInfo,
)
from service.interview import replay
from service.interview.report import scorecard
from service.store.models import SessionRow

router = APIRouter(prefix="/v1")


def _case(service: ServiceDep, case_id: str) -> Any:
    case = service.kb.corpus.cases.get(case_id)
    if case is None:
        raise HTTPException(status_code=404, detail=f"unknown case {case_id!r}")
    return case


@router.get("/cases", response_model=list[CaseSummary], tags=["cases"])
def list_cases(service: ServiceDep) -> list[CaseSummary]:
    return [CaseSummary(id=c.id, title=c.title, summary=c.summary, levels=list(c.levels), tags=list(c.tags))
            for c in service.kb.corpus.cases.values()]


@router.get("/cases/{case_id}", response_model=CaseDetail, tags=["cases"])
def get_case(service: ServiceDep, case_id: str) -> CaseDetail:
    c = _case(service, case_id)
    return CaseDetail(id=c.id, title=c.title, summary=c.summary, levels=list(c.levels), tags=list(c.tags),
                      prompt=c.prompt)


@router.post("/sessions", response_model=SessionCreated, status_code=201, tags=["sessions"])
async def create_session(service: ServiceDep, body: CreateSession, request: Request) -> SessionCreated:
    _case(service, body.case_id)
    session_id, token = await run_in_threadpool(service.create, body.case_id, body.level, body.minutes, body.mode)
    request.app.state.runtime.metrics.inc("mockround_sessions_created_total")
    return SessionCreated(session_id=session_id, token=token, ws_url=f"/v1/sessions/{session_id}/ws")


def _info(service: ServiceDep, row: SessionRow) -> SessionInfo:
    state = row.state
    return SessionInfo(session_id=row.id, case_id=row.case_id, level=row.level, minutes=row.minutes,
                       mode=row.mode, status=row.status, phase=state.get("phase", "clarify"),
                       turns=len(state.get("turns", [])), last_seq=row.next_seq - 1,
                       created_at=row.created_at.isoformat())


@router.get("/sessions", response_model=list[SessionInfo], tags=["sessions"])
def list_sessions(service: ServiceDep, _: AdminDep, limit: Annotated[int, Query(ge=1, le=500)] = 100,
                  offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0) -> list[SessionInfo]:
    return [_info(service, row) for row in service.repo.list_sessions(limit, offset)]


@router.get("/sessions/{session_id}", response_model=SessionInfo, tags=["sessions"])
def get_session(service: ServiceDep, session_id: SessionDep) -> SessionInfo:
    return _info(service, service.repo.get(session_id))


@router.get("/sessions/{session_id}/events", response_model=Events, tags=["sessions"])
def get_events(service: ServiceDep, session_id: SessionDep,
               after: Annotated[int, Query(ge=0, le=2_000_000_000)] = 0) -> Events:
    return Events(events=service.repo.events_after(session_id, after))


@router.post("/sessions/{session_id}/messages", response_model=Events, tags=["sessions"])
async def post_message(service: ServiceDep, session_id: SessionDep, body: PostMessage) -> Events:
    """The non-streaming way to drive a session (the websocket streams the same events)."""
    if body.type == "answer" and not body.text.strip():
        raise HTTPException(status_code=422, detail="an answer needs some text")
    events = await run_in_threadpool(lambda: list(service.submit(session_id, body.type, body.client_id,
                                                                 body.text)))
    return Events(events=events)


@router.get("/sessions/{session_id}/transcript", tags=["sessions"])
def get_transcript(service: ServiceDep, session_id: SessionDep) -> dict[str, Any]:
    state, _, _ = service.load(session_id)
    return {"session_id": session_id, "case_id": state.case_id, "turns": replay.transcript(state)}


@router.get("/sessions/{session_id}/scorecard", tags=["sessions"])
def get_scorecard(service: ServiceDep, session_id: SessionDep) -> dict[str, Any]:
    state, _, mode = service.load(session_id)
    if mode == "exam" and not state.finished:
        raise HTTPException(status_code=409, detail="exam mode: the scorecard is shown when the interview ends")
    return scorecard(state, service.kb).model_dump(mode="json")


@router.get("/sessions/{session_id}/export", tags=["sessions"], response_model=None)
def export(service: ServiceDep, session_id: SessionDep,
           format: Annotated[str, Query(pattern="^(json|md)$")] = "json") -> Any:
    state, _, _ = service.load(session_id)
    if format == "md":
        return PlainTextResponse(replay.export_markdown(state, service.kb), media_type="text/markdown")
    gradings = [{"version": g.version, "grader": g.grader, "prompt_version": g.prompt_version,
                 "scorecard": g.scorecard, "created_at": g.created_at.isoformat()}
                for g in service.repo.gradings(session_id)]
    return {"session_id": session_id, "case_id": state.case_id, "level": state.level, "mode": state.mode,
            "turns": replay.transcript(state), "scorecard": scorecard(state, service.kb).model_dump(mode="json"),
            "gradings": gradings}


@router.delete("/sessions/{session_id}", status_code=204, tags=["sessions"])
def delete_session(service: ServiceDep, session_id: SessionDep) -> None:
    service.repo.delete_session(session_id)


@router.post("/sessions/{session_id}/regrade", response_model=Regraded, tags=["sessions"])
async def regrade(service: ServiceDep, session_id: SessionDep) -> Regraded:
    return Regraded(**await run_in_threadpool(service.regrade, session_id))


@router.get("/sessions/{session_id}/gradings", tags=["sessions"])
def gradings(service: ServiceDep, session_id: SessionDep) -> list[dict[str, Any]]:
    return [{"version": g.version, "grader": g.grader, "prompt_version": g.prompt_version,
             "overall": g.scorecard.get("overall"), "hire_call": g.scorecard.get("hire_call"),
             "created_at": g.created_at.isoformat()} for g in service.repo.gradings(session_id)]
