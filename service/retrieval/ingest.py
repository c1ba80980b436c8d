"""Incremental ingestion of the corpus and user documents into the index.

Everything is read, validated and chunked before the index is touched, so a bad file
leaves the existing index exactly as it was.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from service.corpus.loader import load_corpus, read_text
from service.errors import CorpusError, SearchIndexError
from service.retrieval import generations
from service.retrieval.chunking import Chunk, corpus_chunks, document_chunks
from service.retrieval.index import Index, drop_index, open_index
from service.settings import Settings

DOC_SUFFIXES = {".md", ".markdown", ".txt", ".pdf"}
UPSERT_BATCH = 64
Progress = Callable[[int, int], None]


@dataclass
class IngestReport:
    files: int = 0
    chunks: int = 0
    added: int = 0
    updated: int = 0
    removed: int = 0
    skipped: int = 0
    seconds: float = 0.0
    sources: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{self.files} files, {self.chunks} chunks: {self.added} added, "
                f"{self.updated} updated, {self.removed} removed, {self.skipped} unchanged "
                f"in {self.seconds:.2f}s")


def read_pdf(path: Path, limit: int) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    if path.stat().st_size > limit:
        raise CorpusError(f"{path}: file is over the {limit:,}-byte limit")
    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted:
            raise CorpusError(f"{path}: PDF is encrypted")
        text = "\n\n".join(page.extract_text() or "" for page in reader.pages)
    except CorpusError:
        raise
    except (PdfReadError, OSError, ValueError, KeyError, TypeError) as exc:
        raise CorpusError(f"{path}: unreadable PDF: {exc}") from exc
    if not text.strip():
        raise CorpusError(f"{path}: PDF has no extractable text")
    return text


def expand_paths(paths: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.suffix.lower() in DOC_SUFFIXES)
        elif not path.exists():
            raise CorpusError(f"{path}: no such file or directory")
        elif path.suffix.lower() not in DOC_SUFFIXES:
            raise CorpusError(f"{path}: unsupported file type (use .md, .txt or .pdf)")
        else:
            files.append(path)
    return files


def load_documents(paths: Iterable[Path], settings: Settings) -> dict[str, list[Chunk]]:
    groups: dict[str, list[Chunk]] = {}
    for path in expand_paths(paths):
        source = str(path.resolve())
        if path.suffix.lower() == ".pdf":
            text, markdown = read_pdf(path, settings.max_file_bytes), False
        else:
            text = read_text(path, settings.max_file_bytes)
            markdown = path.suffix.lower() in {".md", ".markdown"}
        chunks = document_chunks(source, text, markdown, settings.chunk_tokens,
                                 settings.chunk_overlap)
        if not chunks:
            raise CorpusError(f"{path}: no text to index")
        groups[source] = chunks
    return groups


def build_groups(settings: Settings, paths: Iterable[Path]) -> dict[str, list[Chunk]]:
    """Read and chunk everything; raises CorpusError before anything is written."""
    corpus = load_corpus(settings.corpus_dir)
    groups = corpus_chunks(corpus, settings.chunk_tokens, settings.chunk_overlap)
    groups.update(load_documents(paths, settings))
    return groups


def _stale_sources(existing: dict[str, tuple[str, str]], groups: dict[str, list[Chunk]]) -> set[str]:
    stale = set()
    for source, _ in existing.values():
        if source in groups:
            continue
        if source.startswith("corpus/") or not Path(source).exists():
            stale.add(source)
    return stale


def plan(existing: dict[str, tuple[str, str]], groups: dict[str, list[Chunk]],
         report: IngestReport) -> tuple[list[Chunk], list[str]]:
    """Decide what to upsert and what to delete; counts go into ``report``."""
    upserts: list[Chunk] = []
    wanted: set[str] = set()
    for chunks in groups.values():
        for chunk in chunks:
            wanted.add(chunk.id)
            old = existing.get(chunk.id)
            if old is None:
                report.added += 1
                upserts.append(chunk)
            elif old[1] != chunk.content_hash:
                report.updated += 1
                upserts.append(chunk)
            else:
                report.skipped += 1
    stale = _stale_sources(existing, groups)
    deletes = [cid for cid, (src, _) in existing.items()
               if cid not in wanted and (src in groups or src in stale)]
    report.removed = len(deletes)
    return upserts, deletes


def _existing(index: Index) -> dict[str, tuple[str, str]]:
    got = index.collection.get(include=["metadatas"])
    return {cid: (str(m.get("source", "")), str(m.get("content_hash", "")))
            for cid, m in zip(got["ids"], got["metadatas"] or [], strict=False)}


def _write(index: Index, upserts: list[Chunk], deletes: list[str], progress: Progress | None) -> None:
    if deletes:
        index.collection.delete(ids=deletes)
    for start in range(0, len(upserts), UPSERT_BATCH):
        batch = upserts[start : start + UPSERT_BATCH]
        index.collection.upsert(
            ids=[c.id for c in batch],
            documents=[c.text for c in batch],
            metadatas=[{**c.metadata, "content_hash": c.content_hash} for c in batch],
        )
        if progress:
            progress(min(start + UPSERT_BATCH, len(upserts)), len(upserts))


def ingest(settings: Settings, paths: Iterable[Path] = (), *, rebuild: bool = False,
           progress: Progress | None = None) -> IngestReport:
    """Index the corpus plus ``paths``; unchanged chunks are skipped.

    On local disk the changes go into a new index generation that becomes active only when
    complete, so a failure (disk full, read-only, crash) leaves the old index searchable.
    """
    started = time.perf_counter()
    groups = build_groups(settings, list(paths))
    report = IngestReport(files=len(groups), chunks=sum(len(c) for c in groups.values()),
                          sources=sorted(groups))
    if settings.chroma_url:
        _ingest_server(settings, groups, report, rebuild, progress)
    else:
        _ingest_local(settings, groups, report, rebuild, progress)
    report.seconds = time.perf_counter() - started
    return report


Changes = tuple[list[Chunk], list[str]]


def _apply(index: Index, groups: dict[str, list[Chunk]], report: IngestReport,
           progress: Progress | None, changes: Changes | None = None) -> None:
    """Write ``changes`` (planned against ``index`` here when not given) into ``index``."""
    try:
        upserts, deletes = changes or plan(_existing(index), groups, report)
        _write(index, upserts, deletes, progress)
    except SearchIndexError:
        raise
    except Exception as exc:
        raise SearchIndexError(f"writing the index failed: {exc}") from exc


def _ingest_server(settings: Settings, groups: dict[str, list[Chunk]], report: IngestReport,
                   rebuild: bool, progress: Progress | None) -> None:
    if rebuild:
        drop_index(settings)
    _apply(open_index(settings, create=True), groups, report, progress)


def _current_plan(settings: Settings, groups: dict[str, list[Chunk]], report: IngestReport) -> Changes | None:
    """What to change in the active generation (counted in ``report``); None when there is none to copy."""
    if not settings.index_dir.is_dir():
        return None
    try:
        index = open_index(settings)
    except SearchIndexError:
        return None  # missing collection or another embedding model: build a fresh generation
    try:
        return plan(_existing(index), groups, report)
    except Exception as exc:
        raise SearchIndexError(f"reading the index failed: {exc}") from exc


def _ingest_local(settings: Settings, groups: dict[str, list[Chunk]], report: IngestReport,
                  rebuild: bool, progress: Progress | None) -> None:
    changes = None if rebuild else _current_plan(settings, groups, report)
    if changes is not None and not (changes[0] or changes[1]):
        return  # unchanged: nothing is written
    generations.check_writable(settings.data_dir)
    total = sum(len(c) for c in groups.values())
    needed = total if changes is None else len(changes[0]) + len(changes[1])
    generations.check_space(settings.data_dir, settings.index_dir, needed)
    staged = generations.stage(settings, copy_current=changes is not None)  # the copy equals the plan's base
    try:
        _apply(open_index(staged, create=True), groups, report, progress, changes)
    except Exception as exc:
        raise generations.failed(staged, exc) from exc
    except BaseException:  # interrupted: leave nothing half-built behind
        generations.discard(staged)
        raise
    generations.activate(staged)
