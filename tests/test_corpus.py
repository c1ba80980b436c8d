"""The case bank meets its bar: schema, counts, unique ids, coverage, retrievable stress tests."""

from pathlib import Path

import pytest
import yaml

from service.corpus.checks import REQUIRED_FACT_TOPICS, check_corpus, counts
from service.corpus.loader import load_corpus
from service.corpus.models import PHASES
from service.retrieval.search import Filters, Retriever

from .conftest import CORPUS

REQUIRED_CASES = {
    "ride-sharing-trips", "customer-360", "realtime-fraud-detection", "recommendation-features",
    "clickstream-analytics", "ad-to-purchase-attribution", "marketing-cdp-performance",
    "marketing-analytics-journeys", "pipeline-platform", "gdpr-lakehouse", "realtime-feature-store",
    "warehouse-cloud-migration",
}
REFERENCE_TOPICS = ["lambda", "kappa", "medallion", "event-driven", "cdc", "upserts", "tradeoff-managed",
                    "tradeoff-batch-stream", "tradeoff-sql-framework", "tradeoff-warehouse-lake",
                    "tradeoff-formats", "stream-partitioning", "backpressure", "skew", "state", "exactly-once",
                    "autoscaling", "contracts", "orchestration", "cost-tiers", "compaction", "cost-compute",
                    "stream-cost", "cap", "formats-internals", "spark-tuning", "dq-frameworks",
                    "feature-stores-concepts", "migrations"]
PARAPHRASES = Path(__file__).resolve().parents[1] / "evals" / "paraphrases"


@pytest.fixture(scope="module")
def corpus():  # type: ignore[no-untyped-def]
    return load_corpus(CORPUS)


def test_every_file_validates_and_meets_the_counts(corpus) -> None:  # type: ignore[no-untyped-def]
    assert check_corpus(corpus) == []
    assert REQUIRED_CASES <= set(corpus.cases)
    assert [p.id for p in corpus.phases] == list(PHASES)


def test_framework_time_shares(corpus) -> None:  # type: ignore[no-untyped-def]
    shares = {p.id: p.time_share for p in corpus.phases}
    assert shares["clarify"] == (0.10, 0.15) and shares["high_level"] == (0.20, 0.25)
    assert shares["deep_dive"] == (0.40, 0.50) and shares["cross_cutting"] == (0.10, 0.15)


def test_reference_notes_cover_the_required_topics(corpus) -> None:  # type: ignore[no-untyped-def]
    have = set(corpus.references)
    missing = [t for t in REFERENCE_TOPICS if f"ref.{t}" not in have]
    assert not missing
    for note in corpus.references.values():
        assert note.meta.rubric, f"{note.meta.id} has no rubric items"


def test_cases_answer_the_common_questions(corpus) -> None:  # type: ignore[no-untyped-def]
    for case in corpus.cases.values():
        topics = {f.topic for f in case.clarifications}
        assert set(REQUIRED_FACT_TOPICS) <= topics, case.id
        for test in case.stress_tests:
            kinds = [i.kind for i in test.rubric]
            assert kinds.count("key_point") >= 3 and kinds.count("common_mistake") >= 2
            assert kinds.count("strong_signal") >= 1 and len(test.hints) == 3


def test_levels_and_platform_thinking(corpus) -> None:  # type: ignore[no-untyped-def]
    items = corpus.rubric_items().values()
    levels = {i.min_level for i in items}
    assert levels == {"mid", "senior", "staff", "principal"}
    platform = corpus.cases["pipeline-platform"]
    assert sum(1 for i in platform.rubric if i.min_level in ("staff", "principal")) >= 5


def test_counts_report_has_every_case(corpus) -> None:  # type: ignore[no-untyped-def]
    rows = {r["case"]: r for r in counts(corpus)}
    assert REQUIRED_CASES <= set(rows)
    assert all(r["stress_tests"] >= 6 and r["facts"] >= 8 for r in rows.values())


def _paraphrases() -> list[tuple[str, str]]:
    out = []
    for path in sorted(PARAPHRASES.glob("*.yaml")):
        data = yaml.safe_load(path.read_text())
        out += [(p["stress_test"], p["text"]) for p in data["paraphrases"]]
    return out


def test_stress_tests_are_found_by_paraphrase(full_retriever: Retriever) -> None:
    pairs = _paraphrases()
    assert len(pairs) >= 30
    found = 0
    misses = []
    for test_id, text in pairs:
        hits = full_retriever.search(text, k=5, filters=Filters(kind=("stress_test",)))
        if test_id in {h.item_id for h in hits}:
            found += 1
        else:
            misses.append(test_id)
    recall = found / len(pairs)
    assert recall >= 0.9, f"recall@5 {recall:.2f}; misses: {misses[:10]}"
