"""Synthetic chunks for corpus-scale runs, and a cheap deterministic embedder for 100k of them.

The chunks are short data-engineering paragraphs assembled from word lists (deterministic
for a given index), with metadata shaped like the real index (kind, scenario, phase,
level rank, item id), so filters and BM25 behave as they would on a grown corpus.
"""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings

from service.corpus.models import PHASES
from service.retrieval.search import tokenize
from service.settings import PROJECT_ROOT

SUBJECTS = ["the ingestion service", "a streaming job", "the nightly batch", "the feature store", "the warehouse",
            "a compaction task", "the orchestrator", "the schema registry", "a CDC connector", "the serving API",
            "the lakehouse table", "a dedup stage", "the fraud scorer", "the session builder", "the backfill"]
VERBS = ["partitions", "replays", "deduplicates", "aggregates", "validates", "compacts", "joins", "buffers",
         "checkpoints", "shards", "throttles", "versions", "reconciles", "enriches", "expires"]
OBJECTS = ["late events", "click streams", "payment records", "user profiles", "trip updates", "ad impressions",
           "feature vectors", "raw files", "change logs", "hot keys", "watermarks", "consent flags",
           "small files", "daily snapshots", "retry storms"]
WHY = ["because ordering per key matters", "so replays stay idempotent", "to keep the dashboards fresh",
       "since storage is cheaper than recompute", "which bounds state size", "so a bad deploy can be rolled back",
       "to survive a regional outage", "because auditors need lineage", "so costs scale with usage",
       "which avoids a second source of truth"]
KINDS = ("rubric", "reference", "stress_test", "clarification", "rubric", "reference")


def case_ids() -> list[str]:
    return sorted(p.stem for p in (PROJECT_ROOT / "corpus" / "cases").glob("*.yaml"))


def chunk(n: int, cases: list[str]) -> tuple[str, str, dict[str, Any]]:
    """(id, text, metadata) of synthetic chunk ``n``; about 24 words."""
    rng = np.random.default_rng(n)
    words = []
    for _ in range(2):
        parts = (SUBJECTS, VERBS, OBJECTS, WHY)
        words.append(" ".join(str(p[int(rng.integers(len(p)))]) for p in parts).capitalize() + ".")
    meta = {"kind": KINDS[n % len(KINDS)], "scenario": cases[n % len(cases)], "phase": PHASES[(n // 7) % len(PHASES)],
            "level_rank": int(n % 4), "item_id": f"syn.{n // 3}", "owner": f"syn.{n // 60}",
            "source": f"synthetic/doc-{n // 60}.md", "content_hash": f"{n:x}"}
    return f"syn-{n}", " ".join(words), meta


class HashEmbedding(EmbeddingFunction[Documents]):
    """CHEAP DETERMINISTIC STAND-IN, not MiniLM: hashed bag of word stems, 384-d, L2-normalised.

    Only for measuring the store and search side at 100k chunks, where embedding them with
    MiniLM would take far longer than the whole benchmark budget.
    """

    dimension = 384
    model_name = "benchmark-hash-384"

    def __init__(self) -> None:
        pass

    def __call__(self, input: Documents) -> Embeddings:
        return list(self.embed(list(input)))

    def embed(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for stem in tokenize(text):
                h = zlib.crc32(stem.encode())
                out[row, h % self.dimension] += 1.0 if h & 0x8000 else -1.0
        out /= np.clip(np.linalg.norm(out, axis=1, keepdims=True), 1e-12, None)
        return out

    @staticmethod
    def name() -> str:
        return "benchmark-hash"

    def get_config(self) -> dict[str, Any]:
        return {}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> HashEmbedding:
        return HashEmbedding()
