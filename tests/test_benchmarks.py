"""Benchmarks stay runnable (quick mode of cheap ones), and the turn-path optimisations change no result."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import openai
import pytest
from rank_bm25 import BM25Okapi

from benchmarks import run as bench_run
from benchmarks.report import Figure, Result, markdown, percentile
from benchmarks.servers import fake_model
from benchmarks.synthetic import HashEmbedding, case_ids, chunk
from benchmarks.ttft import direct_ttft
from service.corpus.loader import load_corpus
from service.evals.grading_data import load_grading, scope
from service.grading import text as tx
from service.grading.local import local_grader
from service.grading.offline import OfflineGrader
from service.retrieval import embeddings
from service.retrieval.embeddings import embed_minilm, shared_embeddings
from service.retrieval.search import Filters, tokenize
from service.settings import PROJECT_ROOT, Settings


def test_percentile_is_nearest_rank_and_figures_render() -> None:
    assert percentile([5.0, 1.0, 3.0, 2.0, 4.0], 50) == 3.0
    assert percentile([float(n) for n in range(1, 51)], 99) == 50.0  # under 100 samples: the maximum
    res = Result("x", [Figure("latency p50", 12.345, "ms", "≤ 20 ms", True, "base 10 ms"),
                       Figure("errors", 0, "", "0", True)])
    table = markdown([res], {"started": "now", "quick": True, "machine": {"cpus": 2, "load_avg_1m": 0.5},
                             "load_avg_end": 0.6, "seconds": 3.0})
    assert "| x | latency p50 | 12.3 ms | ≤ 20 ms | PASS | base 10 ms |" in table
    assert "| x | errors | 0 | 0 | PASS | - |" in table


def test_quick_prompt_growth_through_the_cli(full_settings: Settings, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOCKROUND_BENCH_DATA_DIR", str(full_settings.data_dir))
    assert bench_run.main(["--only", "prompt_growth", "--quick", "--out", str(tmp_path)]) == 0
    data = json.loads(next(tmp_path.glob("*.json")).read_text())
    figures = {f["name"]: f for f in data["results"][0]["figures"]}
    growth = figures["prompt growth turn 5 → 12"]
    assert growth["target"] == "≤ 1.2×" and growth["passed"] == (growth["value"] <= 1.2)
    assert "full history" in growth["baseline"] and figures["answers driven"]["value"] == 12
    assert "prompt growth turn 5 → 12" in (tmp_path / "latest.md").read_text()


@pytest.mark.allow_model_requests
def test_fake_model_process_and_direct_ttft() -> None:
    with fake_model(ttft=0.05, chunks_per_second=200) as url:
        client = openai.OpenAI(base_url=url, api_key="test", max_retries=0)
        first, total = direct_ttft(client)
    assert 0.05 <= first < total < 5


def test_synthetic_chunks_and_hash_embedder_are_deterministic() -> None:
    cases = case_ids()
    assert chunk(7, cases) == chunk(7, cases) and chunk(7, cases) != chunk(8, cases)
    vectors = HashEmbedding().embed([chunk(n, cases)[1] for n in range(5)])
    assert vectors.shape == (5, 384) and np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(vectors, HashEmbedding().embed([chunk(n, cases)[1] for n in range(5)]))


# ---- the optimisations must not change results ---------------------------------------

def test_fast_bm25_scores_are_bit_identical_to_rank_bm25(full_retriever) -> None:  # type: ignore[no-untyped-def]
    reference = BM25Okapi([tokenize(t) for t in full_retriever.texts])
    assert reference.idf == full_retriever.bm25.idf
    for query in ["late events from phones", "hot key during a flash sale with skewed partitions",
                  "GDPR erasure request for a user across the lakehouse", "zzz unknownword", "the the and"]:
        terms = tokenize(query)
        assert np.array_equal(reference.get_scores(terms), full_retriever.bm25.get_scores(terms)), query


def test_filter_masks_equal_filters_matches(full_retriever) -> None:  # type: ignore[no-untyped-def]
    for f in [Filters(), Filters(kind=("rubric",), phase=("deep_dive",), level="senior"),
              Filters(kind=("stress_test",), exclude_ids=frozenset({"click.st.flash-sale", "no.such"})),
              Filters(scenario=("customer-360",), level="mid"), Filters(kind=("no-such-kind",))]:
        expected = [f.matches(m, str(m.get("item_id"))) for m in full_retriever.metas]
        assert full_retriever.columns.mask(f).tolist() == expected, f


def test_vectors_do_not_depend_on_batching_and_are_shared_within_a_turn(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = ["We key Kafka by visitor id.", "Late events go to a side output and a nightly job repairs the totals.",
             "x " * 300]
    alone = np.stack([embed_minilm([t])[0] for t in texts])
    assert np.array_equal(alone, embed_minilm(texts)) and np.array_equal(alone, embed_minilm(texts[::-1])[::-1])
    calls: list[list[str]] = []
    real = embeddings._embed
    monkeypatch.setattr(embeddings, "_embed", lambda batch: calls.append(batch) or real(batch))
    embeddings.RECENT.clear()
    with shared_embeddings():
        first = embed_minilm([texts[0], texts[1], texts[0]])
        second = embed_minilm([texts[1]])
    embed_minilm([texts[1]])  # outside the block the per-process cache of recent texts serves it
    assert calls == [[texts[0], texts[1]]]
    assert np.array_equal(first[0], first[2]) and np.array_equal(second[0], alone[1])


def _scan(grader: OfflineGrader, prep, items) -> list[tuple[int, np.ndarray, list[str]]]:  # type: ignore[no-untyped-def]
    """The grader's matching written as the plain window-by-window loop (the pre-optimisation code)."""
    n_units = len(prep.units)
    sims = np.einsum("ikd,sd->iks", grader._item_vectors(items), prep.vectors)
    sims = np.maximum(sims[:, :, :n_units], sims[:, :, n_units:])
    out = []
    for k, item in enumerate(items):
        crit = tx.stems(item.criterion + " " + " ".join(item.cues))
        best, best_p = (0, np.zeros(7), []), -1.0
        for u in range(n_units):
            wstems = tx.stems(prep.windows[u])
            cues = tx.cue_hits(prep.windows[u], item.cues, wstems)
            feats = np.array([sims[k, 0, u], sims[k, 1, u], sims[k, 2, u],
                              min(1.0, len(cues) / 2) if item.cues else 0.0,
                              min(1.0, len(wstems & crit) / max(1, min(10, len(crit)))),
                              1.0 if tx.has_reason(prep.windows[u]) else 0.0,
                              1.0 if tx.is_bare_list(prep.units[u]) else 0.0], dtype=np.float64)
            p = grader.cal.probability(feats)
            if p > best_p:
                best, best_p = (u, feats, cues), p
        out.append(best)
    return out


def test_vectorised_matching_equals_the_window_by_window_scan() -> None:
    corpus = load_corpus(PROJECT_ROOT / "corpus")
    grader = local_grader()
    rows = [r for r in load_grading(PROJECT_ROOT / "evals" / "grading", corpus)
            if r[0] == "clickstream-analytics"][:12]
    for case, ans in rows:
        items = scope(corpus, case, ans.phase, ans.stress_test)
        prep = grader.prepare(ans.answer)
        if not prep.units:
            continue
        for match, (u, feats, cues) in zip(grader.matches(prep, items), _scan(grader, prep, items), strict=True):
            assert match.evidence == prep.units[u] and match.window == prep.windows[u] and match.cues == cues, ans.id
            assert np.array_equal(match.features, feats), ans.id


def test_event_append_cost_and_scaleout_only_when_named(tmp_path: Path) -> None:
    """The scale-out benchmark's SQLite half runs here; the benchmark itself starts only with --only."""
    from benchmarks.scaleout import APPENDS, append_cost

    times = append_cost(f"sqlite:///{tmp_path / 'append.db'}")
    assert len(times) == APPENDS and all(t > 0 for t in times)
    assert "scaleout" not in bench_run.selected(None) and "concurrency" in bench_run.selected(None)
    assert bench_run.selected(["scaleout", "corpus"]) == ["corpus", "scaleout"]
