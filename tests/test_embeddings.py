import numpy as np
from chromadb.utils.embedding_functions import known_embedding_functions

from service.retrieval.embeddings import (
    MINILM_DIM,
    MINILM_NAME,
    MiniLMOnnxEmbedding,
    embed_minilm,
)

TEXTS = [
    "Use event time and watermarks to handle late data.",
    "Partition the topic by user id so sessions stay on one consumer.",
    "The cafeteria serves soup on Tuesdays.",
]


def test_shape_and_unit_norm() -> None:
    vectors = embed_minilm(TEXTS)
    assert vectors.shape == (3, MINILM_DIM)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_deterministic_and_batch_equals_single() -> None:
    batch = embed_minilm(TEXTS)
    again = embed_minilm(TEXTS)
    assert np.array_equal(batch, again)
    for n, text in enumerate(TEXTS):
        single = embed_minilm([text])[0]
        assert float(single @ batch[n]) > 0.9999


def test_semantics_are_sensible() -> None:
    a, b, c = embed_minilm([
        "late events are handled with watermarks",
        "use watermarks for data that arrives late",
        "quarterly marketing budget for billboards",
    ])
    assert a @ b > 0.7 > a @ c


def test_truncates_long_input() -> None:
    long = "kafka partition " * 2000
    assert embed_minilm([long]).shape == (1, MINILM_DIM)


def test_registered_with_chroma_and_rebuilds_from_config() -> None:
    assert known_embedding_functions[MINILM_NAME] is MiniLMOnnxEmbedding
    fn = MiniLMOnnxEmbedding.build_from_config(MiniLMOnnxEmbedding().get_config())
    out = fn(["hello"])
    assert len(out) == 1 and len(out[0]) == MINILM_DIM
