"""Open the Chroma collection (local or server) and guard its embedding model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import chromadb
from chromadb.api.types import EmbeddingFunction

from service.errors import SearchIndexError
from service.retrieval.embeddings import MiniLMOnnxEmbedding, OpenAIEmbedding
from service.settings import Settings

SCHEMA_VERSION = 1


@dataclass
class Index:
    """A handle on the collection plus the embedding function it was built with."""

    client: Any
    collection: Any
    embedder: EmbeddingFunction
    model: str
    dim: int


def make_embedder(settings: Settings, client: Any = None) -> EmbeddingFunction:
    if settings.embedding_provider == "openai":
        return OpenAIEmbedding(settings.openai_embedding_model, settings.openai_embedding_dim,
                               client=client)
    return MiniLMOnnxEmbedding()


def make_client(settings: Settings) -> Any:
    chroma_settings = chromadb.Settings(anonymized_telemetry=False, allow_reset=False)
    try:
        if settings.chroma_url:
            url = urlparse(settings.chroma_url)
            return chromadb.HttpClient(host=url.hostname or "127.0.0.1", port=url.port or 8000,
                                       ssl=url.scheme == "https", settings=chroma_settings)
        settings.index_dir.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(settings.index_dir), settings=chroma_settings)
    except SearchIndexError:
        raise
    except Exception as exc:  # chroma raises many types; normalise at the adapter boundary
        where = settings.chroma_url or settings.index_dir
        raise SearchIndexError(f"cannot open the search index at {where}: {exc}") from exc


def _check_model(meta: dict[str, Any], model: str, dim: int, name: str) -> None:
    built = meta.get("embedding_model")
    built_dim = meta.get("embedding_dim")
    if built != model or built_dim != dim:
        raise SearchIndexError(
            f"index {name!r} was built with embedding model {built!r} (dim {built_dim}) but "
            f"the current setting is {model!r} (dim {dim}); re-ingest with "
            "`mockround ingest --rebuild`"
        )


def open_index(settings: Settings, create: bool = False, embed_client: Any = None) -> Index:
    """Open (or create) the collection; refuse one built with another embedding model."""
    embedder = make_embedder(settings, embed_client)
    model, dim = embedder.model_name, embedder.dimension  # type: ignore[attr-defined]
    client = make_client(settings)
    try:
        names = {c if isinstance(c, str) else c.name for c in client.list_collections()}
        if settings.collection in names:
            meta = client.get_collection(settings.collection).metadata or {}
            _check_model(meta, model, dim, settings.collection)
            collection = client.get_collection(settings.collection, embedding_function=embedder)
        elif create:
            meta = {"hnsw:space": "cosine", "embedding_model": model, "embedding_dim": dim,
                    "schema_version": SCHEMA_VERSION}
            collection = client.create_collection(settings.collection, metadata=meta,
                                                  embedding_function=embedder)
        else:
            raise SearchIndexError(
                f"no search index at {settings.chroma_url or settings.index_dir}; "
                "run `mockround ingest` first"
            )
    except SearchIndexError:
        raise
    except Exception as exc:
        raise SearchIndexError(f"search index unavailable: {exc}") from exc
    return Index(client, collection, embedder, model, dim)


def drop_index(settings: Settings) -> None:
    client = make_client(settings)
    names = {c if isinstance(c, str) else c.name for c in client.list_collections()}
    if settings.collection in names:
        client.delete_collection(settings.collection)
