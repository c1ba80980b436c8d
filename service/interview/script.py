"""Drive an interview from a script of candidate turns with a simulated clock.

A script is YAML, either ``{phases: {clarify: [...], high_level: [...], ...}}`` (the next
answer of the current phase is sent; an exhausted phase sends ``/move_on``) or
``{turns: [...]}`` / a plain text file with turns separated by lines of ``---``. Optional
``stress_answers: {stress-test id: answer}`` answers a stress test when it is asked.
Commands: ``/hint``, ``/move_on``, ``/end``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from service.errors import InvalidInputError
from service.interview.engine import Interview
from service.interview.state import Turn

COMMANDS = {"/hint": "hint", "/move_on": "move_on", "/end": "end"}
MAX_TURNS = 200


def speaking_seconds(text: str) -> float:
    """Simulated time a turn takes: thinking plus speaking at ~130 words a minute."""
    return 20.0 + len(text.split()) * 0.46


@dataclass
class Script:
    phases: dict[str, list[str]] = field(default_factory=dict)
    turns: list[str] = field(default_factory=list)
    stress_answers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> Script:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidInputError(f"{path}: cannot read script: {exc}") from exc
        if path.suffix.lower() in (".yaml", ".yml"):
            try:
                data = yaml.safe_load(text) or {}
            except yaml.YAMLError as exc:
                raise InvalidInputError(f"{path}: malformed YAML: {exc}") from exc
            return cls.from_data(data, path)
        return cls(turns=[t.strip() for t in text.split("\n---\n") if t.strip()])

    @classmethod
    def from_data(cls, data: object, where: object = "script") -> Script:
        if not isinstance(data, dict) or not ({"phases", "turns"} & data.keys()):
            raise InvalidInputError(f"{where}: a script needs 'phases' or 'turns'")
        phases = {str(k): [str(t) for t in v or []] for k, v in (data.get("phases") or {}).items()}
        stress = {str(k): str(v) for k, v in (data.get("stress_answers") or {}).items()}
        return cls(phases=phases, turns=[str(t) for t in data.get("turns") or []], stress_answers=stress)


def next_turn(script: Script, phase: str, cursor: dict[str, int], stress: str | None = None) -> str | None:
    if stress and stress in script.stress_answers and stress not in cursor:
        cursor[stress] = 1
        return script.stress_answers[stress]
    if script.phases:
        answers = script.phases.get(phase, [])
        n = cursor.get(phase, 0)
        cursor[phase] = n + 1
        return answers[n] if n < len(answers) else "/move_on"
    n = cursor.get("_", 0)
    cursor["_"] = n + 1
    return script.turns[n] if n < len(script.turns) else None


def run_script(interview: Interview, script: Script, start: float = 0.0) -> list[Turn]:
    """Run to the end (or until the script runs out, then end); returns all turns."""
    now = start
    if not interview.state.turns:
        opening = interview.open(now)
        now += speaking_seconds(opening.text) * 0.3
    cursor: dict[str, int] = {}
    for _ in range(MAX_TURNS):
        if interview.state.finished:
            break
        text = next_turn(script, interview.state.phase, cursor, interview.state.active_stress)
        action = "end" if text is None else COMMANDS.get(text.strip(), "answer")
        now += speaking_seconds(text or "")
        reply = interview.respond(action, "" if action != "answer" else text or "", now)
        now += speaking_seconds(reply.text) * 0.3
    if not interview.state.finished:
        interview.respond("end", "", now)
    return interview.state.turns
