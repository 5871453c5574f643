"""Settings, read from ONRECORD_* environment variables (pydantic-settings)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .defaults import BACKENDS, DEFAULT_CACHE, WEAK_SCORE


class Settings(BaseSettings):
    """Every setting of onrecord. Each is the environment variable ONRECORD_<NAME>."""

    model_config = SettingsConfigDict(env_prefix="ONRECORD_", extra="ignore")

    index: str = Field(
        "indexes/default",
        description="Where the index is: a folder, milvus://HOST:PORT/NAME (a Milvus server; its token in "
        "ONRECORD_MILVUS_TOKEN) or milvus-lite:///PATH/FILE.db (Milvus Lite, in the process).",
    )
    milvus_token: str | None = Field(
        None, description="Credentials for a Milvus server (user:password or an API key); the Milvus store reads it.",
    )
    model: str = Field(
        "all-MiniLM-L6-v2",
        description="Embedding model: all-MiniLM-L6-v2 (bundled) or the path of a local sentence-transformers model.",
    )
    backend: str = Field(
        "auto",
        description="Embedding backend: onnx-int8, onnx or torch; auto = the existing index's, onnx-int8 for a new index.",
    )
    model_cache: Path = Field(DEFAULT_CACHE, description="Folder for the ONNX export of the model (made once, locally).")
    threads: int = Field(2, ge=1, le=64, description="CPU threads for the embedding model.")
    host: str = Field("127.0.0.1", description="Address `onrecord serve` listens on.")
    port: int = Field(7860, ge=1, le=65535, description="Port `onrecord serve` listens on.")
    workers: int = Field(
        1, ge=1, le=64,
        description="Server processes `onrecord serve` runs over the index; above 1 they serve the API only (the UI needs one process).",
    )
    api_key: str | None = Field(None, description="When set, writes (upload, delete) need `Authorization: Bearer KEY`.")
    read_key: str | None = Field(
        None, description="When set, reads (ask, transcripts, the UI) need this key or the API key; health stays open."
    )
    cors_origins: list[str] = Field(default_factory=list, description="Origins allowed by CORS (JSON list); none by default.")
    max_upload_mb: float = Field(20.0, gt=0, description="Largest transcript file accepted (ingest and upload), in MB.")
    weak_score: float = Field(
        WEAK_SCORE, ge=0, le=1, description="Answers whose ranking score (0-1) is below this are weak; a weak top answer = no answer."
    )
    samples: Path | None = Field(None, description="Folder of transcripts for the first-run default index (default: the bundled samples).")

    @field_validator("index", mode="before")
    @classmethod
    def _location(cls, v):
        return str(v) if isinstance(v, Path) else v

    @field_validator("backend")
    @classmethod
    def _known_backend(cls, v: str) -> str:
        if v not in ("auto", *BACKENDS):
            raise ValueError(f"one of auto, {', '.join(BACKENDS)}")
        return v

    @field_validator("api_key", "read_key")
    @classmethod
    def _blank_is_none(cls, v: str | None) -> str | None:
        return v or None


@lru_cache
def get_settings() -> Settings:
    return Settings()
