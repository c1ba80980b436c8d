"""``mockround replay`` and ``mockround regrade`` over the stored sessions (an edge)."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.console import Console

from service.errors import MockroundError
from service.settings import get_settings

console = Console()


def _service():  # type: ignore[no-untyped-def]
    from service.interview.factory import runtime
    from service.interview.sessions import SessionService
    from service.store.db import make_engine, migrate, session_factory
    from service.store.repo import Repo

    settings = get_settings()
    engine = make_engine(settings.db_url)
    migrate(engine)
    kb, model = runtime(settings)
    return SessionService(kb, Repo(session_factory(engine)), model)


def replay_cmd(
    session: Annotated[str, typer.Argument(help="Session id")],
    fmt: Annotated[str, typer.Option("--format", help="md or json")] = "md",
) -> None:
    """Print a stored transcript with per-turn grades."""
    from service.cli import bootstrap, fail
    from service.interview.replay import export_markdown, transcript
    from service.interview.report import scorecard

    if fmt not in ("md", "json"):
        raise typer.BadParameter("--format must be md or json")
    try:
        bootstrap()
        service = _service()
        state, _, _ = service.load(session)
    except MockroundError as exc:
        raise fail(exc) from exc
    if fmt == "json":
        out = {"session_id": session, "turns": transcript(state),
               "scorecard": scorecard(state, service.kb).model_dump(mode="json")}
        sys.stdout.write(json.dumps(out, indent=2) + "\n")
    else:
        sys.stdout.write(export_markdown(state, service.kb))


def regrade_cmd(session: Annotated[str, typer.Argument(help="Session id")],
                as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False) -> None:
    """Grade a stored transcript again with the current rubric and grader; keeps every version."""
    from service.cli import bootstrap, fail

    try:
        bootstrap()
        result = _service().regrade(session)
    except MockroundError as exc:
        raise fail(exc) from exc
    if as_json:
        sys.stdout.write(json.dumps(result, indent=2) + "\n")
        return
    d = result["diff"]
    console.print(f"grading version {result['version']}: overall {d['overall']['before']} → "
                  f"{d['overall']['after']}, hire call {d['hire_call']['before']} → {d['hire_call']['after']}")
    for item in d["newly_met"]:
        console.print(f"  + {item}")
    for item in d["no_longer_met"]:
        console.print(f"  - {item}")


def eval_cmd(
    suite: Annotated[list[str] | None, typer.Option(
        "--suite", help="retrieval | grading | conversations | cost (repeatable; default all)")] = None,
    out: Annotated[str | None, typer.Option("--out", help="Write report.json, report.md and PNG charts here")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
    llm: Annotated[str, typer.Option("--llm", help="offline (deterministic engine) or openai (the configured "
                                     "OpenAI-compatible endpoint judges and phrases)")] = "offline",
    record: Annotated[bool, typer.Option("--record", help="With --llm openai: record each exchange")] = False,
    replay: Annotated[bool, typer.Option("--replay", help="With --llm openai: serve cassettes; a miss fails")] = False,
    cassettes: Annotated[str | None, typer.Option("--cassettes", help="Cassette dir (default evals/cassettes)")] = None,
    model: Annotated[str | None, typer.Option("--model", help="Model name (default MOCKROUND_LLM_MODEL)")] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="First N answers per grading split, N persona "
                                              "cases, N cost answers (keeps real-model runs short)")] = None,
) -> None:
    """Run the evaluation suites (labelled data in evals/); offline unless --llm openai."""
    from pathlib import Path

    from service.cli import bootstrap, fail
    from service.evals.llm_mode import check_flags, eval_llm
    from service.evals.runner import SUITES, markdown, run

    chosen = suite or list(SUITES)
    unknown = [s for s in chosen if s not in SUITES]
    if unknown:
        raise typer.BadParameter(f"unknown suite(s) {unknown}; choose from {', '.join(SUITES)}")
    try:
        check_flags(llm, record, replay)
        bootstrap()
        with eval_llm(get_settings(), llm, record, replay, Path(cassettes) if cassettes else None, model,
                      with_retriever=True) as (kb, setup):
            report = run(kb, chosen, Path(out) if out else None, llm=setup, limit=limit)
    except MockroundError as exc:
        raise fail(exc) from exc
    sys.stdout.write(json.dumps(report, indent=2) + "\n" if as_json else markdown(report))
