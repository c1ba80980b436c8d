"""The small error hierarchy. Domain and adapters raise these; edges translate them."""

from __future__ import annotations


class MockroundError(Exception):
    """Base class for every error the product raises on purpose."""

    code = "error"


class ConfigError(MockroundError):
    code = "config_error"


class CorpusError(MockroundError):
    """A corpus or user document is invalid; the message names the file and field."""

    code = "corpus_error"


class SearchIndexError(MockroundError):
    """The search index is missing, stale, built with another model, or unwritable."""

    code = "index_error"


class NetworkBlockedError(MockroundError):
    code = "network_blocked"


class ModelError(MockroundError):
    """The language model failed (after retries) or returned something unusable."""

    code = "model_error"


class NotFoundError(MockroundError):
    code = "not_found"


class InvalidInputError(MockroundError):
    code = "invalid_input"


class ConflictError(MockroundError):
    code = "conflict"


class StoreError(MockroundError):
    code = "store_error"
