from service.retrieval.search import Filters, Retriever, tokenize


def test_tokenize_drops_stopwords_and_stems() -> None:
    assert tokenize("How are the partitions handling events?") == ["partition", "handl", "event"]


def test_kind_scenario_phase_filters(full_retriever: Retriever) -> None:
    hits = full_retriever.search("late arriving mobile events", k=8,
                                 filters=Filters(kind=("stress_test",)))
    assert hits and all(h.metadata["kind"] == "stress_test" for h in hits)
    hits = full_retriever.search("how many events per day", k=5,
                                 filters=Filters(kind=("clarification",),
                                                 scenario=("customer-360",)))
    assert hits and all(h.metadata["scenario"] == "customer-360" for h in hits)
    hits = full_retriever.search("monitoring and alerting", k=10,
                                 filters=Filters(kind=("rubric",), phase=("cross_cutting",)))
    assert hits and all(h.metadata["phase"] == "cross_cutting" for h in hits)


def test_level_filter_excludes_higher_levels(full_retriever: Retriever) -> None:
    hits = full_retriever.search("platform multi-tenancy cost attribution", k=20,
                                 filters=Filters(kind=("rubric",), level="mid"))
    assert hits and all(h.metadata["level"] == "mid" for h in hits)


def test_exclusion_and_fusion_ranks(full_retriever: Retriever) -> None:
    hits = full_retriever.search("change data capture from the orders database", k=5)
    assert hits and any(h.dense_rank for h in hits) and any(h.bm25_rank for h in hits)
    top = hits[0].item_id
    again = full_retriever.search("change data capture from the orders database", k=5,
                                  filters=Filters(exclude_ids=frozenset({top})))
    assert top not in {h.item_id for h in again}


def test_fusion_beats_either_alone_on_lexical_and_semantic_queries(full_retriever: Retriever) -> None:
    # an exact rare term is found by BM25; a paraphrase with no shared words by the dense side
    lexical = full_retriever.search("crypto-shredding", k=5)
    assert any("shred" in h.text.lower() for h in lexical)
    semantic = full_retriever.search("the events show up hours after they happened", k=10)
    assert any(h.dense_rank for h in semantic)


def test_empty_query_returns_nothing(full_retriever: Retriever) -> None:
    assert full_retriever.search("   ") == []
