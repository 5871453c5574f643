"""The index: one contract (contract.py), two stores.

    a folder                      local.py: SQLite + Tantivy + FAISS in generations (manifest.py, tables.py,
                                  versions.py, lexical.py, vectors.py; recent.py and rowlog.py: small writes)
    milvus://HOST:PORT/NAME       milvus/: a Milvus server or cluster
    milvus-lite:///PATH/FILE.db   milvus/: Milvus Lite, in this process

Everything outside this package opens an index here, by its location (the `--index` /
ONRECORD_INDEX setting), and uses only the contract.
"""

from __future__ import annotations

from pathlib import Path

from .contract import ANSWER, QUESTION, Filters, IndexInfo, PassageRecord, Store, StoreWriter
from .local import LocalStore, LocalWriter, info_of
from .manifest import DB, MANIFEST, check_model, manifest_stamp, read_manifest
from .tables import CORRUPTION_ERRORS, transcript_from_row
from .vectors import HNSW, REMOVED, VECTORS

__all__ = [
    "ANSWER", "QUESTION", "CORRUPTION_ERRORS", "DB", "HNSW", "MANIFEST", "REMOVED", "VECTORS", "Filters", "IndexInfo",
    "LocalStore", "LocalWriter", "PassageRecord", "Store", "StoreWriter", "check_model", "describe", "is_remote",
    "open_store", "open_writer", "read_manifest", "stamp", "store_kind", "transcript_from_row",
]


def store_kind(index: str | Path) -> str:
    """"local", "milvus" or "milvus-lite", by the form of the location."""
    text = str(index)
    if text.startswith("milvus-lite://"):
        return "milvus-lite"
    if text.startswith("milvus://"):
        return "milvus"
    return "local"


def is_remote(index: str | Path) -> bool:
    return store_kind(index) != "local"


def describe(index: str | Path) -> IndexInfo | None:
    """What the index at a location says of itself, or None when there is no index there yet.

    Raises:
        IndexError_: the index is damaged or cannot be reached.
    """
    if is_remote(index):
        from . import milvus

        return milvus.describe(str(index))
    manifest = read_manifest(Path(index))
    return info_of(manifest) if manifest else None


def stamp(index: str | Path) -> tuple | None:
    """What changes whenever a writer publishes: cheap enough to ask on every request."""
    if is_remote(index):
        info = describe(index)
        return info and (info.generation,)
    return manifest_stamp(Path(index))


def open_store(index: str | Path) -> Store:
    """The index's current state, read-only.

    Raises:
        IndexNotFound: no index there.
        IndexError_: damaged, or cannot be reached.
    """
    if is_remote(index):
        from .milvus import MilvusStore

        return MilvusStore(str(index))
    return LocalStore(Path(index))


def open_writer(index: str | Path, model: str, dim: int, backend: str) -> StoreWriter:
    """The index's writer (the local store allows one at a time: IndexLocked).

    Raises:
        IndexLocked, ModelMismatch, IndexError_.
    """
    if is_remote(index):
        from .milvus import MilvusWriter

        return MilvusWriter(str(index), model, dim, backend)
    return LocalWriter(Path(index), model, dim, backend)


def check_info(info: IndexInfo, model: str, backend: str, index: str | Path) -> None:
    """An index's vectors all come from one model and backend: refuse another (ModelMismatch)."""
    check_model({"model": info.model, "backend": info.backend, "dim": info.dim}, model, backend, Path(str(index)))
