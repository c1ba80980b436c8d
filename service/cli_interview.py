"""``mockround interview`` and ``mockround grade`` (edges over the engine)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markdown import Markdown
from rich.table import Table

from service.corpus.models import PHASES
from service.errors import MockroundError
from service.grading.scoring import Scorecard
from service.settings import get_settings

console = Console()
COMMANDS = {"/hint": "hint", "/move_on": "move_on", "/next": "move_on", "/end": "end"}


def print_scorecard(card: Scorecard) -> None:
    console.rule("[bold]Scorecard")
    console.print(f"Overall [bold]{card.overall:.0f}[/]/100 — [bold]{card.hire_call}[/] for {card.level}")
    table = Table("phase", "score")
    for phase, score in card.phases.items():
        table.add_row(phase, f"{score:.0f}")
    dims = Table("dimension", "score")
    for dim, score in card.dimensions.items():
        dims.add_row(dim, f"{score:.0f}")
    console.print(table, dims)
    for row in card.met[:12]:
        console.print(f"[green]✓[/] {row.item_id}: “{(row.evidence or '')[:100]}”", highlight=False)
    for row in card.mistakes:
        console.print(f"[red]✗ mistake[/] {row.item_id}: “{(row.evidence or '')[:100]}”", highlight=False)
    for row in card.missed[:12]:
        console.print(f"[yellow]·[/] missed {row.item_id}", highlight=False)
    for pointer in card.study:
        console.print(f"study: {pointer['source']} — {pointer['section']}", highlight=False)


def run_interactive(interview) -> None:  # type: ignore[no-untyped-def]
    console.print(Markdown(interview.open().text))
    console.print("[dim]Commands: /hint, /move_on, /end. Finish an answer with an empty line.[/]")
    while not interview.state.finished:
        lines: list[str] = []
        while True:
            try:
                line = input("you> " if not lines else "...> ")
            except EOFError:
                line = "/end" if not lines else ""
            if line.strip() in COMMANDS and not lines:
                lines = [line.strip()]
                break
            if not line.strip() and lines:
                break
            if line.strip():
                lines.append(line)
        text = "\n".join(lines)
        action = COMMANDS.get(text.strip(), "answer")
        try:
            reply = interview.respond(action, "" if action != "answer" else text)
        except MockroundError as exc:
            console.print(f"[red]{exc}[/]")
            continue
        console.print(f"[dim]({reply.phase})[/]")
        console.print(Markdown(reply.text))


def interview_cmd(
    case: Annotated[str, typer.Option("--case", help="Case id (see `mockround scenarios`)")],
    level: Annotated[str, typer.Option(help="mid | senior | staff | principal")] = "senior",
    minutes: Annotated[int, typer.Option(help="Interview length")] = 45,
    script: Annotated[Path | None, typer.Option(help="Feed candidate turns from a file")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print transcript + scorecard as JSON")] = False,
) -> None:
    """Run a mock interview in the terminal (offline by default)."""
    from service.cli import bootstrap, fail
    from service.interview.engine import Interview
    from service.interview.factory import runtime
    from service.interview.report import scorecard
    from service.interview.script import Script, run_script

    try:
        bootstrap()
        kb, model = runtime(get_settings())
        if level not in ("mid", "senior", "staff", "principal"):
            raise typer.BadParameter("level must be mid, senior, staff or principal")
        interview = Interview.new(kb, case, level, minutes, model=model)
        if script:
            run_script(interview, Script.load(script))
        else:
            run_interactive(interview)
        card = scorecard(interview.state, kb)
    except MockroundError as exc:
        raise fail(exc) from exc
    if as_json:
        out = {"state": interview.state.model_dump(mode="json"), "scorecard": card.model_dump(mode="json")}
        sys.stdout.write(json.dumps(out, indent=2) + "\n")
        return
    if script:
        for turn in interview.state.turns:
            who = "interviewer" if turn.role == "interviewer" else "candidate"
            console.print(f"[bold]{who}[/] [dim]({turn.phase})[/]: {turn.text}", highlight=False)
    print_scorecard(card)


def grade_cmd(
    case: Annotated[str, typer.Option("--case", help="Case id")],
    answer_file: Annotated[Path, typer.Option("--answer-file", help="File with the answer text")],
    phase: Annotated[str | None, typer.Option(help="Grade against one phase (default: all)")] = None,
    level: Annotated[str, typer.Option(help="Level for scope and hire call")] = "senior",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Grade one answer against the case's rubric and print verdicts, scores and hire call."""
    from service.cli import bootstrap, fail
    from service.corpus.loader import read_text
    from service.grading.scoring import build_scorecard, hire_call, outcome
    from service.interview.factory import runtime

    try:
        bootstrap()
        if phase is not None and phase not in PHASES:
            raise typer.BadParameter(f"phase must be one of {', '.join(PHASES)}")
        kb, _ = runtime(get_settings(), with_retriever=False)
        text = read_text(answer_file)
        phases = [phase] if phase else list(PHASES)
        rows, verdicts = [], []
        for p in phases:
            items = kb.phase_items(case, p, level)
            result = kb.grader.grade(text, items, {"phase": p})
            verdicts += result.verdicts
            by_id = result.by_id()
            rows += [outcome(i, by_id[i.id].met, by_id[i.id].evidence, 0, "") for i in items]
        card = build_scorecard(rows, level, phases)
        if phase:
            strong = sum(1 for r in rows if r.kind == "strong_signal" and r.met)
            card.overall = card.phases[phase]
            card.hire_call = hire_call(card.overall, level, strong)
    except MockroundError as exc:
        raise fail(exc) from exc
    if as_json:
        out = {"verdicts": [v.model_dump() for v in verdicts], "scorecard": card.model_dump(mode="json")}
        sys.stdout.write(json.dumps(out, indent=2) + "\n")
        return
    table = Table("item", "met", "evidence")
    for v in verdicts:
        table.add_row(v.item_id, "yes" if v.met else "no", (v.evidence or "")[:90])
    console.print(table)
    print_scorecard(card)
