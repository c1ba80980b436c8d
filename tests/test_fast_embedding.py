"""The int8 model file, composed sentence vectors, the per-process vector cache and exact dense search."""

from pathlib import Path

import numpy as np
import pytest

from service.errors import ConfigError
from service.retrieval import embeddings
from service.retrieval.composed import answer_vector, compose
from service.retrieval.dense import DenseMatrix
from service.retrieval.embeddings import embed_minilm, token_counts
from service.retrieval.quantize import model_file

UNITS = ["We land raw events in object storage so they can be replayed.",
         "Kafka is keyed by session id.",
         "A nightly job rebuilds the sessions table."]


def test_model_file_is_built_once_per_cache_and_named_by_its_inputs(tmp_path: Path) -> None:
    first = model_file.__wrapped__(tmp_path / "a")  # bypass the process-wide memo
    again = model_file.__wrapped__(tmp_path / "a")
    other = model_file.__wrapped__(tmp_path / "b")
    assert first == again and first.stat().st_size > 10_000_000
    assert first.name == other.name and first.read_bytes() == other.read_bytes()  # deterministic build
    assert not list((tmp_path / "a").glob(".building-*"))  # no temporary left behind


def test_unwritable_model_cache_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(ConfigError, match="MOCKROUND_MODEL_CACHE"):
        model_file.__wrapped__(blocker / "models")


def test_vectors_do_not_depend_on_the_other_texts_of_a_call() -> None:
    alone = [embed_minilm([u])[0] for u in UNITS]
    embeddings.RECENT.clear()
    together = embed_minilm([*UNITS, "an unrelated sentence about lunch menus"])
    for n, vector in enumerate(alone):
        assert np.array_equal(vector, together[n])


def test_recent_texts_are_not_embedded_again(monkeypatch: pytest.MonkeyPatch) -> None:
    embed_minilm(UNITS)
    calls: list[list[str]] = []
    real = embeddings._embed
    monkeypatch.setattr(embeddings, "_embed", lambda texts: calls.append(texts) or real(texts))
    embed_minilm(UNITS)
    embed_minilm([*UNITS[:1], "a sentence never seen before in this process"])
    assert calls == [["a sentence never seen before in this process"]]


def test_an_answer_vector_is_the_token_weighted_sum_of_its_units() -> None:
    vectors, counts = embed_minilm(UNITS), token_counts(UNITS)
    whole = answer_vector(UNITS)
    expected = (counts[:, None] * vectors).sum(axis=0)
    assert whole is not None and np.allclose(whole, expected / np.linalg.norm(expected), atol=1e-6)
    assert np.allclose(whole, compose(vectors, counts), atol=1e-6)
    assert answer_vector(["  "]) is None
    # composed, the answer still points where its own embedding does
    assert float(whole @ embed_minilm([" ".join(UNITS)])[0]) > 0.85


def test_the_grader_prefetches_what_it_will_embed() -> None:
    from service.grading.local import local_grader

    asked: list[list[str]] = []
    grader = local_grader()
    grader.ahead = asked.append
    grader.prefetch("We keep raw events. Kafka is keyed by session id.")
    units = ["We keep raw events.", "Kafka is keyed by session id."]
    assert asked == [[*units, "We keep raw events. Kafka is keyed by session id.", units[1]]]


def test_dense_matrix_is_exact_and_respects_the_mask() -> None:
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(200, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors[7] = vectors[3]  # a tie: the lower position comes first
    dense, query = DenseMatrix(vectors), vectors[3]
    mask = np.ones(200, dtype=bool)
    mask[::5] = False
    got = dense.top(query, mask, 10)
    scores = np.where(mask, vectors @ query, -np.inf)
    want = sorted(range(200), key=lambda n: (-scores[n], n))[:10]
    assert got == want and got[:2] == [3, 7]
    assert all(mask[p] for p in got)
    assert dense.top(query, np.zeros(200, dtype=bool), 5) == []


def test_exact_dense_search_agrees_with_chroma(mini_settings, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from service.retrieval import search
    from service.retrieval.index import open_index
    from service.retrieval.ingest import ingest

    ingest(mini_settings)
    exact = search.Retriever(open_index(mini_settings))
    monkeypatch.setattr(search, "EXACT_MAX", 0)
    hnsw = search.Retriever(open_index(mini_settings))
    assert exact.dense is not None and hnsw.dense is None
    for query in ("how late events are handled with watermarks", "what to ask about the peak event rate",
                  "change data capture from the orders database"):
        for filters in (None, search.Filters(kind=("rubric",))):
            assert [h.id for h in exact.search(query, k=5, filters=filters)] == \
                   [h.id for h in hnsw.search(query, k=5, filters=filters)]


def test_prefetched_texts_are_embedded_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    embeddings.RECENT.clear()
    calls: list[list[str]] = []
    gate = threading.Event()
    real = embeddings._embed

    def slow(texts: list[str]) -> np.ndarray:
        calls.append(texts)
        gate.wait(5)  # the background run is still going when the caller asks
        return real(texts)

    monkeypatch.setattr(embeddings, "_embed", slow)
    fresh = ["a prefetched sentence about watermarks", "and one about compaction"]
    embeddings.prefetch_minilm(fresh)
    threading.Timer(0.2, gate.set).start()
    got = embed_minilm(fresh)  # waits for the prefetch instead of embedding again
    assert calls == [fresh]
    monkeypatch.setattr(embeddings, "_embed", real)
    embeddings.RECENT.clear()
    assert np.array_equal(got, embed_minilm(fresh))


def test_int8_precision_is_opt_in_and_close_to_float32(tmp_path: Path) -> None:
    import json
    import os
    import subprocess
    import sys

    from service.retrieval.embeddings import minilm_model

    code = ("import json; from service.retrieval.embeddings import embed_minilm, minilm_model; "
            f"print(json.dumps([minilm_model(), embed_minilm({UNITS!r}).tolist()]))")
    env = {**os.environ, "MOCKROUND_EMBEDDING_PRECISION": "int8", "MOCKROUND_MODEL_CACHE": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120, check=True)
    name, vectors = json.loads(out.stdout)
    assert minilm_model() == "all-MiniLM-L6-v2-onnx-int8" and name == "all-MiniLM-L6-v2-onnx-dynamic-int8"
    assert list(tmp_path.glob("minilm-l6-*.onnx"))  # derived into the configured cache
    cosines = (np.asarray(vectors) * embed_minilm(UNITS)).sum(axis=1)
    assert cosines.min() > 0.97
