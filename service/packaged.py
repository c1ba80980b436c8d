"""Locate data files shipped inside installed distributions (without importing them)."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

from service.errors import ConfigError


def package_file(dist: str, rel: str) -> Path:
    """The path of ``rel`` inside the installed distribution ``dist``."""
    try:
        path = Path(str(importlib.metadata.distribution(dist).locate_file(rel)))
    except importlib.metadata.PackageNotFoundError as exc:
        raise ConfigError(f"package {dist!r} is not installed; run `make install`") from exc
    if not path.is_file():
        raise ConfigError(f"{dist} does not ship {rel}")
    return path
