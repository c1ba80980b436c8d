from pathlib import Path

from service.corpus.loader import load_corpus
from service.retrieval.chunking import (
    KINDS,
    corpus_chunks,
    document_chunks,
    plain_to_markdown,
    split_markdown,
)
from service.retrieval.ingest import read_pdf

from .conftest import CORPUS
from .pdfgen import write_pdf

REQUIRED_META = {"kind", "source", "section", "scenario", "phase", "item_id", "level"}


def test_every_corpus_chunk_has_full_metadata() -> None:
    groups = corpus_chunks(load_corpus(CORPUS), 300, 40)
    chunks = [c for cs in groups.values() for c in cs]
    assert len(chunks) > 500
    ids = [c.id for c in chunks]
    assert len(ids) == len(set(ids)), "chunk ids must be unique"
    for chunk in chunks:
        assert REQUIRED_META <= chunk.metadata.keys()
        assert chunk.metadata["kind"] in KINDS
        assert chunk.metadata["source"].startswith("corpus/")
    kinds = {c.metadata["kind"] for c in chunks}
    assert kinds == set(KINDS) - {"document"}


def test_chunk_ids_are_deterministic_and_content_hash_tracks_text() -> None:
    a = corpus_chunks(load_corpus(CORPUS), 300, 40)
    b = corpus_chunks(load_corpus(CORPUS), 300, 40)
    assert [c.id for cs in a.values() for c in cs] == [c.id for cs in b.values() for c in cs]
    first = next(iter(a.values()))[0]
    changed = type(first)(first.source, first.key, first.text + " more", first.metadata)
    assert changed.id == first.id and changed.content_hash != first.content_hash


def test_model_outline_is_never_indexed() -> None:
    corpus = load_corpus(CORPUS)
    texts = " ".join(c.text for cs in corpus_chunks(corpus, 300, 40).values() for c in cs)
    for case in corpus.cases.values():
        assert case.model_outline[:120] not in texts


def test_markdown_split_keeps_section_paths_and_token_size() -> None:
    body = "# Top\n\nintro text\n\n## Child\n\n" + ("word " * 900) + "\n\n## Other\n\nshort"
    pieces = split_markdown(body, 200, 20)
    sections = [s for s, _ in pieces]
    assert sections[0] == "Top" and "Top / Child" in sections and sections[-1] == "Top / Other"
    from service.llm.tokens import count_tokens

    assert max(count_tokens(t) for _, t in pieces) <= 200


def test_plain_text_heading_detection() -> None:
    text = "1. Ingestion\n\nWe read from Kafka.\n\n1.1 Partitioning\n\nBy user id.\n\nSTORAGE LAYER\n\nParquet files."
    md = plain_to_markdown(text)
    assert "# 1. Ingestion" in md and "## 1.1 Partitioning" in md and "# STORAGE LAYER" in md
    chunks = document_chunks("/x/notes.txt", text, False, 300, 40)
    assert {c.metadata["section"] for c in chunks} >= {"1. Ingestion / 1.1 Partitioning"}
    assert all(c.metadata["kind"] == "document" for c in chunks)


def test_pdf_text_is_extracted_and_sectioned(tmp_path: Path) -> None:
    pdf = write_pdf(tmp_path / "doc.pdf", ["1. Backfills", "", "Replay from the raw zone.",
                                            "", "2. Retries", "", "Use exponential backoff."])
    text = read_pdf(pdf, 1_000_000)
    assert "Replay from the raw zone." in text
    chunks = document_chunks(str(pdf), text, False, 300, 40)
    assert any("Backfills" in c.metadata["section"] for c in chunks)
