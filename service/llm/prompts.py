"""Prompt templates from ``prompts/``, rendered strictly (a missing variable fails).

Templates use ``$name`` placeholders (string.Template). A file may hold several variants
separated by a line containing only ``---``; the caller picks one deterministically.
"""

from __future__ import annotations

import hashlib
import string
from functools import lru_cache
from pathlib import Path

from service.errors import ConfigError
from service.settings import get_settings


class PromptLibrary:
    def __init__(self, root: Path) -> None:
        self.root = root

    @lru_cache(maxsize=128)  # noqa: B019 - one library per process, a handful of files
    def variants(self, name: str) -> tuple[str, ...]:
        path = self.root / f"{name}.txt"
        if not path.is_file():
            raise ConfigError(f"prompt template {path} not found")
        parts = [p.strip("\n") for p in path.read_text(encoding="utf-8").split("\n---\n")]
        return tuple(p for p in parts if p.strip())

    def names(self) -> list[str]:
        return sorted(p.relative_to(self.root).with_suffix("").as_posix()
                      for p in self.root.rglob("*.txt"))

    def placeholders(self, name: str) -> set[str]:
        found: set[str] = set()
        for variant in self.variants(name):
            for _, named, braced, _ in string.Template.pattern.findall(variant):
                found.add(named or braced)
        return found - {""}

    def render(self, name: str, variant: int = 0, **values: object) -> str:
        options = self.variants(name)
        template = string.Template(options[variant % len(options)])
        try:
            return template.substitute({k: str(v) for k, v in values.items()}).strip()
        except KeyError as exc:
            raise ConfigError(f"prompt {name!r} needs variable {exc.args[0]!r}") from exc
        except ValueError as exc:
            raise ConfigError(f"prompt {name!r} is malformed: {exc}") from exc

    def version(self) -> str:
        digest = hashlib.sha256()
        for name in self.names():
            digest.update(name.encode() + b"\0" + (self.root / f"{name}.txt").read_bytes())
        return digest.hexdigest()[:12]


@lru_cache(maxsize=4)
def library(root: Path | None = None) -> PromptLibrary:
    return PromptLibrary(root or get_settings().prompts_dir)
