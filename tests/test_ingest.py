from pathlib import Path

import pytest

from service.errors import CorpusError, SearchIndexError
from service.retrieval.index import open_index
from service.retrieval.ingest import ingest
from service.settings import Settings

from .conftest import make_settings
from .pdfgen import write_pdf


def _ids(settings: Settings) -> list[str]:
    return sorted(open_index(settings).collection.get()["ids"])


def test_incremental_ingest(mini_settings: Settings, tmp_path: Path) -> None:
    first = ingest(mini_settings)
    assert first.added == first.chunks > 50 and first.updated == first.removed == 0
    again = ingest(mini_settings)
    assert again.added == again.updated == again.removed == 0
    assert again.skipped == first.chunks

    case = mini_settings.corpus_dir / "cases" / "clickstream-analytics.yaml"
    text = case.read_text()
    case.write_text(text.replace("title:", "title: Renamed -", 1))
    changed = ingest(mini_settings)
    assert changed.updated >= 1 and changed.added == 0 and changed.removed == 0

    note = tmp_path / "notes.md"
    note.write_text("# Runbook\n\nRestart the consumer group.\n\n## Lag\n\nScale partitions.")
    with_doc = ingest(mini_settings, [note])
    assert with_doc.added >= 1
    note.unlink()
    removed = ingest(mini_settings)
    assert removed.removed >= 1 and removed.added == 0

    (mini_settings.corpus_dir / "reference" / "patterns-cdc.md").unlink()
    gone = ingest(mini_settings)
    assert gone.removed > 3


def test_unknown_collection_model_is_refused(mini_settings: Settings) -> None:
    ingest(mini_settings)
    other = mini_settings.model_copy(update={"embedding_provider": "openai"})
    with pytest.raises(SearchIndexError, match="re-ingest"):
        open_index(other)


def test_missing_index_has_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SearchIndexError, match="mockround ingest"):
        open_index(make_settings(tmp_path / "empty"))


BAD_INPUTS = {
    "malformed": ("cases/clickstream-analytics.yaml", "id: [unclosed\n", "malformed YAML"),
    "unknown field": ("cases/clickstream-analytics.yaml", None, "Extra inputs are not permitted"),
    "empty": ("cases/clickstream-analytics.yaml", "", "empty"),
    "binary": ("reference/patterns-cdc.md", "\x00\x01\x02binary", "binary"),
    "no front matter": ("reference/patterns-cdc.md", "# Just a heading\n\ntext", "front matter"),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_corpus_file_names_file_and_keeps_index(mini_settings: Settings, name: str) -> None:
    ingest(mini_settings)
    before = _ids(mini_settings)
    rel, content, message = BAD_INPUTS[name]
    path = mini_settings.corpus_dir / rel
    if content is None:
        content = path.read_text() + "\nsurprise_field: 1\n"
    path.write_text(content)
    with pytest.raises(CorpusError) as info:
        ingest(mini_settings)
    assert path.name in str(info.value) and message in str(info.value)
    if name == "unknown field":
        assert "surprise_field" in str(info.value)
    assert _ids(mini_settings) == before


def test_duplicate_ids_are_rejected(mini_settings: Settings) -> None:
    cases = mini_settings.corpus_dir / "cases"
    src = cases / "clickstream-analytics.yaml"
    (cases / "copy.yaml").write_text(src.read_text().replace("id: clickstream-analytics",
                                                             "id: clickstream-copy", 1))
    with pytest.raises(CorpusError, match="duplicate ids"):
        ingest(mini_settings)


def test_bad_user_documents(mini_settings: Settings, tmp_path: Path) -> None:
    ingest(mini_settings)
    before = _ids(mini_settings)
    broken_pdf = tmp_path / "broken.pdf"
    broken_pdf.write_bytes(b"%PDF-1.4 this is not really a pdf")
    big = tmp_path / "big.txt"
    big.write_text("x" * 200)
    small = mini_settings.model_copy(update={"max_file_bytes": 100})
    cases = [
        (mini_settings, broken_pdf, "unreadable PDF"),
        (small, big, "limit"),
        (mini_settings, tmp_path / "missing.md", "no such file"),
        (mini_settings, tmp_path / "image.png", "unsupported"),
    ]
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    for settings, path, message in cases:
        with pytest.raises(CorpusError, match=message) as info:
            ingest(settings, [path])
        assert path.name in str(info.value)
    assert _ids(mini_settings) == before


def test_pdf_document_is_indexed(mini_settings: Settings, tmp_path: Path) -> None:
    pdf = write_pdf(tmp_path / "guide.pdf", ["1. Compaction", "", "Merge small files nightly."])
    report = ingest(mini_settings, [pdf])
    assert str(pdf.resolve()) in report.sources
