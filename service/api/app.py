"""FastAPI application factory (an edge: thin routes only)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import FileResponse, JSONResponse

from service.settings import Settings, get_settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(title="mockround", version="0.1.0",
                  description="Mock interviewer for data-engineering system design rounds.")
    app.state.settings = settings

    @app.get("/healthz", tags=["ops"])
    def healthz() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(settings.web_dir / "index.html")

    return app
