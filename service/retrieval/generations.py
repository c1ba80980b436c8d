"""Index generations on local disk: ingest writes a new generation, then switches atomically.

The active generation is named in ``<data_dir>/index.current``. A failed ingest (disk full,
read-only data dir, a crash) leaves that file and the generation it names untouched, so the
service keeps searching the old index.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import time
from pathlib import Path

from service.errors import SearchIndexError
from service.settings import INDEX_POINTER, Settings

GENERATION = re.compile(r"^index(?:\.g(\d+))?$")
BYTES_PER_CHUNK = 12_000  # measured: ~8 KB per chunk in Chroma (sqlite + HNSW) plus headroom
SLACK_BYTES = 4_000_000
PROBE = ".mockround-write-probe"


def generations(data_dir: Path) -> list[Path]:
    """Existing generation directories, oldest first."""
    if not data_dir.is_dir():
        return []
    found = [(int(m.group(1) or 0), p) for p in data_dir.iterdir()
             if p.is_dir() and (m := GENERATION.match(p.name))]
    return [p for _, p in sorted(found)]


def next_generation(data_dir: Path) -> str:
    """A name never used before (a discarded generation's name may still be cached by Chroma)."""
    numbers = [int(GENERATION.match(p.name).group(1) or 0) for p in generations(data_dir)]  # type: ignore[union-attr]
    return f"index.g{max(time.time_ns() // 1000, max(numbers, default=0) + 1)}"


def _explain(exc: OSError, where: Path) -> str:
    if exc.errno == errno.EROFS:
        return f"the data directory {where} is read-only"
    if exc.errno == errno.ENOSPC:
        return f"the disk holding {where} is full"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"no permission to write in {where}"
    return f"cannot write in {where}: {exc.strerror or exc}"


def check_writable(data_dir: Path) -> None:
    """Fail early, before anything is written, when the data dir cannot take a file."""
    probe = data_dir / PROBE
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        with open(probe, "wb") as fh:
            fh.write(b"0" * 4096)
            fh.flush()
            os.fsync(fh.fileno())
        probe.unlink()
    except OSError as exc:
        raise SearchIndexError(f"cannot ingest: {_explain(exc, data_dir)}; the existing index is unchanged") from exc


def dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else 0


def check_space(data_dir: Path, current: Path, new_chunks: int) -> None:
    """Refuse up front when the new generation clearly will not fit."""
    need = dir_bytes(current) + new_chunks * BYTES_PER_CHUNK + SLACK_BYTES
    free = shutil.disk_usage(data_dir).free
    if free < need:
        raise SearchIndexError(
            f"cannot ingest: not enough free disk space in {data_dir} (need about {need / 1e6:.1f} MB, "
            f"{free / 1e6:.1f} MB free); the existing index is unchanged")


def stage(settings: Settings, copy_current: bool) -> Settings:
    """Create the next generation (a copy of the active one, or empty); settings that open it."""
    name = next_generation(settings.data_dir)
    target = settings.data_dir / name
    current = settings.index_dir
    try:
        if copy_current and current.is_dir():
            shutil.copytree(current, target)
        else:
            target.mkdir(parents=True)
    except OSError as exc:
        shutil.rmtree(target, ignore_errors=True)
        raise SearchIndexError(f"cannot ingest: {_explain(exc, settings.data_dir)}; "
                               "the existing index is unchanged") from exc
    return settings.model_copy(update={"index_generation": name})


def failed(staged: Settings, exc: BaseException) -> SearchIndexError:
    """Discard the staged generation and say why the write failed, in plain words."""
    free = shutil.disk_usage(staged.data_dir).free if staged.data_dir.exists() else 0
    reason = str(exc).removeprefix("writing the index failed: ")
    if free < SLACK_BYTES:
        reason = f"the disk holding {staged.data_dir} is full ({free / 1e6:.1f} MB free; Chroma said: {reason})"
    discard(staged)
    return SearchIndexError(f"writing the index failed: {reason}; the existing index is unchanged")


def discard(staged: Settings) -> None:
    shutil.rmtree(staged.index_dir, ignore_errors=True)


def activate(staged: Settings, keep: int = 2) -> None:
    """Point ``index.current`` at the staged generation (atomic rename); prune old ones."""
    data_dir = staged.data_dir
    pointer, tmp = data_dir / INDEX_POINTER, data_dir / (INDEX_POINTER + ".tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(staged.index_dir.name + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, pointer)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        discard(staged)
        raise SearchIndexError(f"cannot ingest: {_explain(exc, data_dir)}; the existing index is unchanged") from exc
    # keep the newest ``keep`` generations: a running server may still read the previous one
    for old in generations(data_dir)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
