"""Ingest on a full disk or a read-only data dir: a clear error and the old index intact.

The data dir lives on a small tmpfs that the test mounts (CI runs as root, like this machine).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.errors import SearchIndexError
from service.retrieval import generations
from service.retrieval.index import open_index
from service.retrieval.ingest import ingest
from service.retrieval.search import Retriever
from service.settings import Settings
from tests.conftest import copy_mini_corpus, make_settings

QUERY = "change data capture from the orders database"


def mount_tmpfs(where: Path, size_mb: int) -> None:
    where.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(where)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.strip()}")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    where = tmp_path / "disk"
    mount_tmpfs(where, 48)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def snapshot(settings: Settings) -> tuple[str, int, list[str]]:
    index = open_index(settings)
    hits = Retriever(index).search(QUERY, k=5)
    return settings.index_dir.name, index.collection.count(), [h.id for h in hits]


def changed_corpus(settings: Settings) -> None:
    note = settings.corpus_dir / "reference" / "patterns-cdc.md"
    note.write_text(note.read_text() + "\n\n## Extra section\n\n" + "A fresh paragraph about log tailing. " * 400)


def ingested(small_disk: Path, tmp_path: Path) -> Settings:
    corpus = copy_mini_corpus(tmp_path / "corpus")
    settings = make_settings(small_disk / "data", corpus)
    ingest(settings)
    return settings


def read_only_view(src: Path, view: Path) -> None:
    """A read-only bind mount of ``src`` (the rw mount itself stays busy with open files)."""
    view.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "--bind", str(src), str(view)], check=True)
    subprocess.run(["mount", "-o", "remount,bind,ro", str(view)], check=True)


def test_read_only_data_dir_gives_clear_error_and_keeps_index(small_disk: Path, tmp_path: Path) -> None:
    settings = ingested(small_disk, tmp_path)
    before = snapshot(settings)
    changed_corpus(settings)
    view = tmp_path / "ro-view"
    read_only_view(settings.data_dir, view)
    try:
        with pytest.raises(SearchIndexError, match=r"read-only.*existing index is unchanged"):
            ingest(settings.model_copy(update={"data_dir": view}))
    finally:
        subprocess.run(["umount", "-l", str(view)], check=False)
    assert snapshot(settings) == before
    assert [p.name for p in generations.generations(settings.data_dir)] == [before[0]]
    report = ingest(settings)  # recovery: where the dir is writable the change lands
    assert report.updated + report.added > 0 and snapshot(settings)[0] != before[0]


def fill(disk: Path, leave_bytes: int) -> None:
    import shutil

    free = shutil.disk_usage(disk).free
    with open(disk / "filler", "wb") as fh:
        fh.truncate(0)
        fh.write(b"\0" * max(0, free - leave_bytes))


def test_disk_full_is_refused_up_front(small_disk: Path, tmp_path: Path) -> None:
    settings = ingested(small_disk, tmp_path)
    before = snapshot(settings)
    changed_corpus(settings)
    fill(small_disk, 2_000_000)
    with pytest.raises(SearchIndexError, match=r"not enough free disk space.*unchanged"):
        ingest(settings)
    assert snapshot(settings) == before
    assert [p.name for p in generations.generations(settings.data_dir)] == [before[0]]


def test_disk_filling_mid_write_keeps_old_index(small_disk: Path, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    settings = ingested(small_disk, tmp_path)
    before = snapshot(settings)
    changed_corpus(settings)
    used = generations.dir_bytes(settings.index_dir)
    fill(small_disk, used + 200_000)  # the copy fits, the new chunks do not
    monkeypatch.setattr(generations, "check_space", lambda *a: None)  # skip the estimate: hit ENOSPC for real
    with pytest.raises(SearchIndexError, match=r"disk .* is full.*unchanged"):
        ingest(settings)
    assert snapshot(settings) == before
    assert [p.name for p in generations.generations(settings.data_dir)] == [before[0]]
    (small_disk / "filler").unlink()
    report = ingest(settings)  # recovers once space is back
    assert report.updated + report.added > 0 and snapshot(settings)[0] != before[0]
