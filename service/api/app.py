"""FastAPI application factory (an edge: thin routes only)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse
from fastapi.staticfiles import StaticFiles

from service.api import routes, ws
from service.api.runtime import Runtime
from service.errors import (
    ConflictError,
    CorpusError,
    InvalidInputError,
    MockroundError,
    NotFoundError,
    SearchIndexError,
    StoreError,
)
from service.settings import Settings, get_settings

STATUS = {NotFoundError: 404, InvalidInputError: 422, ConflictError: 409, CorpusError: 400,
          SearchIndexError: 503, StoreError: 503}


def _status(exc: MockroundError) -> int:
    return next((code for cls, code in STATUS.items() if isinstance(exc, cls)), 500)


def create_app(settings: Settings | None = None, llm_client: Any = None) -> FastAPI:
    settings = settings or get_settings()
    rt = Runtime(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.worker_threads
        rt.start(llm_client)
        yield
        rt.stop()

    app = FastAPI(title="mockround", version="0.1.0", lifespan=lifespan,
                  description="Mock interviewer for data-engineering system design rounds.")
    app.state.runtime = rt
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["*"],
                           allow_headers=["*"])

    @app.exception_handler(MockroundError)
    async def mockround_error(_: Request, exc: MockroundError) -> JSONResponse:
        rt.metrics.inc("mockround_errors_total", type=exc.code)
        return JSONResponse({"detail": str(exc), "code": exc.code}, status_code=_status(exc))

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["ops"])
    def readyz() -> JSONResponse:
        checks = rt.readiness()
        ready = all(v == "ok" for v in checks.values())
        return JSONResponse({"ready": ready, "checks": checks, "warm": rt.warm},  # warm: information only
                            status_code=200 if ready else 503)

    @app.get("/metrics", tags=["ops"], response_class=PlainTextResponse)
    def metrics() -> str:
        return rt.metrics.render()

    app.include_router(routes.router)
    app.include_router(ws.router)

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(settings.web_dir / "index.html")

    if (settings.web_dir / "static").is_dir():
        app.mount("/static", StaticFiles(directory=settings.web_dir / "static"), name="static")
    return app
