"""The ``mockround`` command line (an edge: it translates errors into exit codes)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from service.errors import MockroundError
from service.settings import get_settings

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="mockround: a mock interviewer for data-engineering system design.")
console = Console()
err = Console(stderr=True)


def fail(exc: MockroundError) -> typer.Exit:
    err.print(f"[bold red]error[/] ({exc.code}): {exc}", highlight=False, markup=True)
    return typer.Exit(code=2)


def bootstrap() -> None:
    """Prepare offline resources (tiktoken cache) under the data dir."""
    from service.llm.tokens import seed_tiktoken_cache

    seed_tiktoken_cache(get_settings().tiktoken_dir)


@app.command()
def ingest(
    paths: Annotated[list[Path] | None, typer.Argument(help="Extra .md/.txt/.pdf files or dirs")] = None,
    rebuild: Annotated[bool, typer.Option(help="Drop and rebuild the index")] = False,
) -> None:
    """Index the bundled corpus plus any user documents (incremental)."""
    from service.retrieval.ingest import ingest as run_ingest

    try:
        bootstrap()
        with Progress(TextColumn("embedding"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=err, transient=True) as bar:
            task = bar.add_task("embed", total=None)
            report = run_ingest(get_settings(), paths or [], rebuild=rebuild,
                                progress=lambda done, total: bar.update(task, completed=done, total=total))
    except MockroundError as exc:
        raise fail(exc) from exc
    console.print(f"ingest: {report.summary()}")


@app.command()
def search(
    query: str,
    kind: Annotated[list[str] | None, typer.Option(help="Filter by kind (repeatable)")] = None,
    scenario: Annotated[str | None, typer.Option(help="Filter by case id")] = None,
    phase: Annotated[str | None, typer.Option(help="Filter by phase")] = None,
    level: Annotated[str | None, typer.Option(help="Only items expected at or below this level")] = None,
    k: Annotated[int, typer.Option("-k", help="How many results")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Search the index (dense + BM25, fused)."""
    from service.retrieval.index import open_index
    from service.retrieval.search import Filters, Retriever

    try:
        bootstrap()
        retriever = Retriever(open_index(get_settings()))
        filters = Filters(kind=tuple(kind or ()), scenario=(scenario,) if scenario else (),
                          phase=(phase,) if phase else (), level=level)
        hits = retriever.search(query, k=k, filters=filters)
    except MockroundError as exc:
        raise fail(exc) from exc
    if as_json:
        rows = [{"rank": n + 1, "score": round(h.score, 5), "id": h.id, "item_id": h.item_id,
                 "kind": h.metadata.get("kind"), "source": h.metadata.get("source"),
                 "section": h.metadata.get("section"), "text": h.text} for n, h in enumerate(hits)]
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    table = Table("#", "score", "kind", "item / id", "source · section", "text")
    for n, h in enumerate(hits):
        table.add_row(str(n + 1), f"{h.score:.4f}", str(h.metadata.get("kind")),
                      h.item_id or h.id, f"{h.metadata.get('source')} · {h.metadata.get('section')}",
                      h.text[:160])
    console.print(table)


@app.command()
def scenarios(as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False) -> None:
    """List the interview cases in the corpus."""
    from service.corpus.loader import load_corpus

    try:
        corpus = load_corpus(get_settings().corpus_dir)
    except MockroundError as exc:
        raise fail(exc) from exc
    rows = [{"id": c.id, "title": c.title, "levels": list(c.levels), "summary": c.summary}
            for c in corpus.cases.values()]
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    table = Table("id", "title", "levels", "summary")
    for row in rows:
        table.add_row(row["id"], row["title"], ", ".join(row["levels"]), row["summary"])
    console.print(table)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address")] = None,
    port: Annotated[int | None, typer.Option(help="Port")] = None,
) -> None:
    """Run the web service with uvicorn."""
    import uvicorn

    settings = get_settings()
    bootstrap()
    uvicorn.run("service.api.app:create_app", factory=True, host=host or settings.host,
                port=port or settings.port, log_level="info")


def _register() -> None:
    from service.cli_interview import grade_cmd, interview_cmd
    from service.cli_sessions import eval_cmd, regrade_cmd, replay_cmd

    app.command("interview")(interview_cmd)
    app.command("grade")(grade_cmd)
    app.command("replay")(replay_cmd)
    app.command("regrade")(regrade_cmd)
    app.command("eval")(eval_cmd)


_register()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
