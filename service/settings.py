"""The one Settings object (pydantic-settings, env prefix ``MOCKROUND_``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[1]
INDEX_POINTER = "index.current"

DEFAULT_PRICES: dict[str, tuple[float, float]] = {
    # USD per 1M tokens (prompt, completion); extend with MOCKROUND_PRICES as JSON
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1-mini": (0.40, 1.60),
}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MOCKROUND_", env_file=".env", extra="ignore")

    data_dir: Path = Path(".mockround")
    corpus_dir: Path = PROJECT_ROOT / "corpus"
    prompts_dir: Path = PROJECT_ROOT / "prompts"
    web_dir: Path = PROJECT_ROOT / "web"

    # retrieval
    embedding_provider: Literal["local", "openai"] = "local"
    openai_embedding_model: str = "text-embedding-3-small"
    openai_embedding_dim: int = 1536
    chroma_url: str | None = None
    # float32: the shipped MiniLM as it is (the default: the grader is calibrated and gated on it);
    # int8: a dynamically quantised copy derived once into model_cache, ~2.5x faster embedding
    # (docs/performance.md has both precisions' quality numbers). Switching needs a re-ingest.
    embedding_precision: Literal["float32", "int8"] = "float32"
    model_cache: Path = Path.home() / ".cache" / "mockround" / "models"
    collection: str = "mockround"
    chunk_tokens: int = Field(300, ge=50, le=2000)
    chunk_overlap: int = Field(40, ge=0, le=500)
    max_file_bytes: int = 5_000_000

    # language model
    llm: Literal["offline", "openai"] = "offline"
    llm_model: str = "gpt-4o-mini"
    llm_timeout: float = 30.0
    llm_max_retries: int = 2
    llm_backoff: float = 0.5
    openai_api_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("MOCKROUND_OPENAI_API_KEY", "OPENAI_API_KEY")
    )
    openai_base_url: str | None = Field(
        None, validation_alias=AliasChoices("MOCKROUND_OPENAI_BASE_URL", "OPENAI_BASE_URL")
    )
    prices: dict[str, tuple[float, float]] = Field(default_factory=lambda: dict(DEFAULT_PRICES))
    summary_budget_tokens: int = 600

    # service
    host: str = "127.0.0.1"
    port: int = 8000
    database_url: str | None = None
    admin_api_keys: list[str] = Field(default_factory=list)
    cors_origins: list[str] = Field(default_factory=list)
    ws_max_message_bytes: int = 16_000
    ws_max_messages_per_second: float = 5.0
    # at start, embed every rubric item in a background thread, then take the start-up heap out
    # of the garbage collector's way (gc.freeze), so no turn pays for either
    warm_start: bool = True
    # threads for blocking work (database, model streams); a streaming turn holds one while it
    # waits for the model's next chunk, so this bounds the turns that can stream at once
    worker_threads: int = Field(256, ge=8, le=4096)

    # the index generation to open; unset = the one named in <data_dir>/index.current
    index_generation: str | None = None

    @property
    def index_dir(self) -> Path:
        """The active index directory (ingest writes a new generation and then switches)."""
        if self.index_generation:
            return self.data_dir / self.index_generation
        pointer = self.data_dir / INDEX_POINTER
        if pointer.is_file():
            name = pointer.read_text(encoding="utf-8").strip()
            if name:
                return self.data_dir / name
        return self.data_dir / "index"

    @property
    def tiktoken_dir(self) -> Path:
        return self.data_dir / "tiktoken"

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'mockround.db').resolve()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
