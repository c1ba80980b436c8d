"""FastAPI dependencies (Annotated): runtime, admin key, session token."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Path, Request

from service.api.runtime import Runtime
from service.errors import NotFoundError
from service.interview.sessions import SessionService


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_service(rt: RuntimeDep) -> SessionService:
    return rt.require()


ServiceDep = Annotated[SessionService, Depends(get_service)]


def _bearer(authorization: str | None) -> str:
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    return ""


def is_admin(rt: Runtime, key: str) -> bool:
    return bool(key) and any(secrets.compare_digest(key, k) for k in rt.settings.admin_api_keys)


def require_admin(rt: RuntimeDep, authorization: Annotated[str | None, Header()] = None,
                  x_api_key: Annotated[str | None, Header()] = None) -> None:
    if not is_admin(rt, x_api_key or _bearer(authorization)):
        raise HTTPException(status_code=401, detail="admin API key required")


def require_session(rt: RuntimeDep, session_id: Annotated[str, Path(max_length=40)],
                    authorization: Annotated[str | None, Header()] = None,
                    x_api_key: Annotated[str | None, Header()] = None) -> str:
    """The session's own bearer token (or an admin key) may read and drive it."""
    service = rt.require()
    key = x_api_key or _bearer(authorization)
    if is_admin(rt, key):
        service.repo.get(session_id)
        return session_id
    try:
        ok = service.repo.check_token(session_id, key)
    except NotFoundError:
        ok = False  # do not reveal which session ids exist to a caller without a valid token
    if not ok:
        raise HTTPException(status_code=401, detail="invalid or missing session token")
    return session_id


AdminDep = Annotated[None, Depends(require_admin)]
SessionDep = Annotated[str, Depends(require_session)]
