"""Shared fixtures: a deterministic fake embedder, the real model (once), temp index dirs."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np
import pytest

from onrecord.config import Settings
from onrecord.service import Onrecord

DATA = Path(__file__).parent / "data"
SEED = DATA / "nato-2020-01-06-stoltenberg.txt"


class FakeEmbedder:
    """Bag of hashed words -> normalised vector: texts sharing words are close. Fast, deterministic."""

    name = "fake-hash-64"
    backend = "fake"
    dim = 64

    def __init__(self):
        self.calls = 0
        self.texts_embedded = 0

    def embed(self, texts, progress=None):
        self.calls += 1
        self.texts_embedded += len(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in re.findall(r"[a-z0-9]+", text.lower()):
                h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")
                out[i, h % self.dim] += 1.0 if (h >> 32) & 1 else -1.0
            norm = np.linalg.norm(out[i])
            out[i] = out[i] / norm if norm else out[i]
        if progress:
            progress(len(texts))
        return out

    def embed_query(self, text):
        return self.embed([text])[0]


@pytest.fixture
def fake_embedder():
    return FakeEmbedder()


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(index=tmp_path / "index", samples=DATA)


@pytest.fixture
def app(settings, fake_embedder) -> Onrecord:
    return Onrecord(settings, embedder=fake_embedder)


@pytest.fixture(scope="session")
def real_embedder():
    from onrecord.embedding import make_embedder

    return make_embedder(threads=2)  # the default backend


@pytest.fixture(scope="session")
def samples_app(tmp_path_factory, real_embedder) -> Onrecord:
    """The real model over the bundled samples: the index `make run` builds for a new user."""
    from onrecord.service import SAMPLES

    app = Onrecord(Settings(index=tmp_path_factory.mktemp("samples") / "index", samples=SAMPLES), embedder=real_embedder)
    assert app.ensure_index(progress=False).ok
    return app


@pytest.fixture(scope="session")
def real_app(tmp_path_factory, real_embedder) -> Onrecord:
    """The real model over the test transcripts (built once per session)."""
    settings = Settings(index=tmp_path_factory.mktemp("real") / "index", samples=DATA)
    app = Onrecord(settings, embedder=real_embedder)
    report = app.ingest_paths([str(DATA)])
    assert report.ok, report.summary()
    return app
