"""Turn the structured corpus and user documents into chunks with metadata.

Structured items (rubric items, facts, stress tests, cases, phases) become one chunk each;
reference bodies and user documents are split by headings (Markdown headers, or headings
detected in plain text and PDFs) and then by size in tokens.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from langchain_text_splitters import MarkdownHeaderTextSplitter, RecursiveCharacterTextSplitter

from service.corpus.loader import Corpus
from service.corpus.models import Case, FrameworkPhase, ReferenceNote, RubricItem, StressTest
from service.llm.tokens import count_tokens

KINDS = ("framework", "scenario", "clarification", "rubric", "stress_test", "reference",
         "document")
_HEADERS = [("#", "h1"), ("##", "h2"), ("###", "h3")]


@dataclass(frozen=True)
class Chunk:
    """A unit of retrieval. ``key`` is stable per source; ``id`` derives from it."""

    source: str
    key: str
    text: str
    metadata: dict[str, str | int] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return "c" + hashlib.sha256(f"{self.source}|{self.key}".encode()).hexdigest()[:23]

    @property
    def content_hash(self) -> str:
        meta = "|".join(f"{k}={self.metadata[k]}" for k in sorted(self.metadata))
        return hashlib.sha256(f"{self.text}\x00{meta}".encode()).hexdigest()[:32]


def _meta(kind: str, source: str, section: str, *, scenario: str = "", phase: str = "",
          item_id: str = "", level: str = "mid", owner: str = "") -> dict[str, str | int]:
    from service.corpus.models import level_rank

    return {"kind": kind, "source": source, "section": section, "scenario": scenario,
            "phase": phase, "item_id": item_id, "level": level,
            "level_rank": level_rank(level), "owner": owner}


def rubric_text(item: RubricItem) -> str:
    cues = f" Related terms: {', '.join(item.cues)}." if item.cues else ""
    return f"{item.criterion}{cues}"


def item_chunk(item: RubricItem, source: str, section: str, owner: str,
               scenario: str = "") -> Chunk:
    meta = _meta("rubric", source, section, scenario=scenario, phase=item.phase,
                 item_id=item.id, level=item.min_level, owner=owner)
    meta["item_kind"] = item.kind
    return Chunk(source, f"item:{item.id}", rubric_text(item), meta)


def stress_chunks(test: StressTest, source: str, owner: str, scenario: str = "") -> list[Chunk]:
    text = f"{test.title}. {test.question} Topics: {', '.join(test.triggers)}."
    meta = _meta("stress_test", source, f"stress test: {test.title}", scenario=scenario,
                 phase=test.phase, item_id=test.id, level=test.min_level, owner=owner)
    chunks = [Chunk(source, f"stress:{test.id}", text, meta)]
    section = f"stress test: {test.title} / rubric"
    chunks += [item_chunk(i, source, section, owner, scenario) for i in test.rubric]
    return chunks


def case_chunks(case: Case, source: str) -> list[Chunk]:
    level = min(case.levels, key=lambda lv: ("mid", "senior", "staff", "principal").index(lv))
    head = f"{case.title}. {case.prompt} Tags: {', '.join(case.tags)}."
    chunks = [Chunk(source, f"case:{case.id}", head,
                    _meta("scenario", source, case.title, scenario=case.id, item_id=case.id,
                          level=level, owner=case.id))]
    for fact in case.clarifications:
        text = " ".join(fact.questions) + f" Answer: {fact.answer}"
        meta = _meta("clarification", source, f"clarification: {fact.topic}",
                     scenario=case.id, phase="clarify", item_id=fact.id, owner=case.id)
        chunks.append(Chunk(source, f"fact:{fact.id}", text, meta))
    chunks += [item_chunk(i, source, f"rubric: {i.phase}", case.id, case.id)
               for i in case.rubric]
    for test in case.stress_tests:
        chunks += stress_chunks(test, source, case.id, case.id)
    return chunks


def phase_chunks(phase: FrameworkPhase, source: str) -> list[Chunk]:
    text = f"{phase.title}. {phase.goal} Looks for: " + "; ".join(phase.looks_for)
    meta = _meta("framework", source, phase.title, phase=phase.id, item_id=f"fw.{phase.id}",
                 owner="framework")
    chunks = [Chunk(source, f"phase:{phase.id}", text, meta)]
    chunks += [item_chunk(i, source, f"{phase.title} / rubric", "framework")
               for i in phase.rubric]
    return chunks


def text_splitter(chunk_tokens: int, overlap: int) -> RecursiveCharacterTextSplitter:
    return RecursiveCharacterTextSplitter(chunk_size=chunk_tokens, chunk_overlap=overlap,
                                          length_function=count_tokens)


def split_markdown(body: str, chunk_tokens: int, overlap: int) -> list[tuple[str, str]]:
    """Split Markdown by headers, then by token size; returns (section path, text) pairs."""
    splitter = MarkdownHeaderTextSplitter(_HEADERS, strip_headers=False)
    sizer = text_splitter(chunk_tokens, overlap)
    out: list[tuple[str, str]] = []
    for doc in splitter.split_text(body):
        section = " / ".join(doc.metadata[h] for _, h in _HEADERS if h in doc.metadata)
        for piece in sizer.split_text(doc.page_content):
            if piece.strip():
                out.append((section or "(untitled)", piece.strip()))
    return out


def reference_chunks(note: ReferenceNote, source: str, chunk_tokens: int,
                     overlap: int) -> list[Chunk]:
    chunks: list[Chunk] = []
    for n, (section, text) in enumerate(split_markdown(note.body, chunk_tokens, overlap)):
        meta = _meta("reference", source, section, item_id=note.meta.id, owner=note.meta.id)
        chunks.append(Chunk(source, f"ref:{n}", text, meta))
    chunks += [item_chunk(i, source, f"{note.meta.title} / rubric", note.meta.id)
               for i in note.meta.rubric]
    for test in note.meta.stress_tests:
        chunks += stress_chunks(test, source, note.meta.id)
    return chunks


def corpus_chunks(corpus: Corpus, chunk_tokens: int, overlap: int) -> dict[str, list[Chunk]]:
    """Chunks of the whole corpus grouped by source file (relative to the corpus root)."""
    def rel(owner: str) -> str:
        return f"corpus/{corpus.sources[owner].relative_to(corpus.root).as_posix()}"

    groups: dict[str, list[Chunk]] = {}
    for phase in corpus.phases:
        groups[rel(phase.id)] = phase_chunks(phase, rel(phase.id))
    for case in corpus.cases.values():
        groups[rel(case.id)] = case_chunks(case, rel(case.id))
    for note in corpus.references.values():
        src = rel(note.meta.id)
        groups[src] = reference_chunks(note, src, chunk_tokens, overlap)
    return groups


_NUMBERED = re.compile(r"^(\d+(\.\d+)*\.?|[IVX]+\.|chapter \d+|section \d+)\s+\S", re.I)


def _heading_level(line: str, next_blank: bool) -> int:
    """Detect headings in plain text: numbered lines, ALL CAPS lines, short title lines."""
    text = line.strip()
    if not text or len(text) > 90 or (text.endswith((".", ",", ";", ":")) and not _NUMBERED.match(text)):
        return 0
    match = _NUMBERED.match(text)
    if match:
        return min(3, 1 + match.group(1).rstrip(".").count("."))
    letters = [c for c in text if c.isalpha()]
    if len(letters) >= 4 and all(c.isupper() for c in letters):
        return 1
    if next_blank and len(text.split()) <= 8 and text[0].isupper() and not text.endswith("."):
        return 2
    return 0


def plain_to_markdown(text: str) -> str:
    """Mark detected headings with '#' so plain text and PDFs split like Markdown."""
    lines = text.splitlines()
    out = []
    for n, line in enumerate(lines):
        next_blank = n + 1 >= len(lines) or not lines[n + 1].strip()
        prev_blank = n == 0 or not lines[n - 1].strip()
        level = _heading_level(line, next_blank) if prev_blank else 0
        out.append(f"{'#' * level} {line.strip()}" if level else line)
    return "\n".join(out)


def document_chunks(source: str, text: str, markdown: bool, chunk_tokens: int,
                    overlap: int) -> list[Chunk]:
    body = text if markdown else plain_to_markdown(text)
    chunks = []
    for n, (section, piece) in enumerate(split_markdown(body, chunk_tokens, overlap)):
        meta = _meta("document", source, section, item_id=Path(source).stem, owner=source)
        chunks.append(Chunk(source, f"doc:{n}", piece, meta))
    return chunks
