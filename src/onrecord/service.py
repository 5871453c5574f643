"""The one object the edges (CLI, HTTP API, UI) share: settings + embedder + index + searcher."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from . import embedding
from .config import Settings
from .embedding import Embedder
from .errors import BadQuery, IndexError_, IndexNotFound, TooLarge
from .ingest import IngestReport, compact_index, ingest_bytes, ingest_files, remove_transcripts
from .jobs import IngestJobs
from .models import SearchResult, TranscriptInfo
from .permalink import AnswerContext, answer_by_id
from .search import Searcher
from .store import Store, check_info, describe, open_store, stamp, store_kind
from .verify import QuoteChecker, Verification

SAMPLES = Path(__file__).parent / "samples"
log = logging.getLogger("onrecord")


def backend_for(settings: Settings) -> str:
    """The configured backend; `auto`: the existing index's, or the default for a new index."""
    if settings.backend != "auto":
        return settings.backend
    try:
        info = describe(settings.index)
    except IndexError_:  # reported when the index is opened
        info = None
    return info.backend if info else embedding.DEFAULT_BACKEND


def make_embedder(settings: Settings) -> Embedder:
    return embedding.make_embedder(settings.model, backend_for(settings), settings.threads, settings.model_cache)


class Onrecord:
    """Reads and writes one index (a folder, or Milvus). Thread-safe for many readers and one writer."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None):
        self.settings = settings
        self.embedder = embedder or make_embedder(settings)
        self._store: Store | None = None
        self._searcher: Searcher | None = None
        self._stamp: tuple | None = None
        self._jobs: IngestJobs | None = None
        self._lock = threading.Lock()
        # One search at a time in a process: a search is CPU-bound Python and numpy under the GIL
        # plus a 2-thread ONNX run, so concurrent searches only contend (measured with
        # benchmarks/load.py, 16 clients: 10 req/s concurrent vs 22 one at a time); more
        # throughput comes from processes (`serve --workers N`).
        self._search_gate = threading.Lock()

    @property
    def index(self) -> str:
        """The index's location: a folder, milvus://HOST:PORT/NAME or milvus-lite:///PATH.db."""
        return str(self.settings.index)

    @property
    def store_kind(self) -> str:
        return store_kind(self.index)

    def store(self) -> Store:
        """The index's current state: a new store (and searcher) when a writer, here or in
        another process, has published a newer one. Requests in flight keep the old one (see
        `using`); a store of a superseded generation is closed once nothing uses it."""
        with self._lock:
            self._refresh_locked()
            return self._store

    def searcher(self) -> Searcher:
        with self._lock:
            self._refresh_locked()
            return self._searcher

    @contextmanager
    def using(self) -> Iterator[Searcher]:
        """The current searcher, its reader held open until the block ends (for the edges: a
        request may outlive the generation it started on)."""
        with self._lock:
            self._refresh_locked()
            searcher = self._searcher
            searcher.store.acquire()
        try:
            yield searcher
        finally:
            searcher.store.release()

    def _refresh_locked(self) -> None:
        now = stamp(self.index)
        if self._store is not None and now == self._stamp:
            return  # nothing published since (one stat per request for a folder)
        try:
            info = describe(self.index)
            if info is None and self._store is None:
                raise IndexNotFound(f"no index at {self.index}: build one with 'onrecord ingest PATH --index {self.index}'")
            if info is not None and (self._store is None or info.generation != self._store.info.generation):
                check_info(info, self.embedder.name, self.embedder.backend, self.index)
                store = open_store(self.index)
                old, self._store = self._store, store
                self._searcher = Searcher(store, self.embedder, self.settings.weak_score)
                if old is not None:
                    old.retire()
        except IndexError_ as exc:
            if self._store is None:
                raise
            # the state already loaded is intact: keep answering from it, and say why
            log.warning("keeping generation %s of %s: %s", self._store.info.generation, self.index, exc)
        self._stamp = now

    def ask(self, question: str, top_k: int = 5, speaker: str | None = None, since: str | None = None,
            until: str | None = None, transcript: str | None = None) -> SearchResult:
        with self.using() as searcher, self._search_gate:
            return searcher.search(question, top_k=top_k, speaker=speaker, since=since, until=until, transcript=transcript)

    def verify(self, quote: str, speaker: str | None = None, since: str | None = None, until: str | None = None,
               transcript: str | None = None) -> Verification:
        """Is the quote on the record word for word, nearly, or not at all (see verify.py)."""
        with self.using() as searcher, self._search_gate:
            return QuoteChecker(searcher).verify(quote, speaker, since, until, transcript)

    def transcripts(self, limit: int | None = None, offset: int = 0, since: str | None = None, until: str | None = None,
                    title: str | None = None, speaker: str | None = None) -> tuple[list[TranscriptInfo], int]:
        """A page of the transcripts (by date) within the filters, and how many there are in all.

        Raises:
            BadQuery: dates out of order, a speaker who matches nobody.
        """
        with self.using() as searcher:
            if since and until and since > until:
                raise BadQuery(f"since ({since}) is after until ({until})")
            infos = searcher.store.transcripts()
            ids = None
            if speaker and speaker.strip():
                name = searcher.resolve_speaker(speaker.strip())
                ids = searcher.store.speaker_transcripts(name)
                if not ids:
                    raise BadQuery(f"no speaker matches '{speaker.strip()}'")
        wanted = (title or "").lower()
        kept = [i for i in infos if (not since or (i.date or "") >= since) and (not until or (i.date and i.date <= until))
                and wanted in i.title.lower() and (ids is None or i.id in ids)]
        return kept[offset: None if limit is None else offset + limit], len(kept)

    def answer(self, answer_id: str) -> AnswerContext:
        """An answer by its id (transcript id + span), with the exchange around it.

        Raises:
            NotFound: no such answer.
        """
        with self.using() as searcher:
            return answer_by_id(searcher, answer_id)


    def ingest_paths(self, paths: list[str], meta: dict | None = None, progress: bool = False) -> IngestReport:
        report = ingest_files(paths, self.index, self.embedder, meta=meta, progress=progress,
                              max_mb=self.settings.max_upload_mb)
        self._refresh()
        return report

    def check_uploads(self, items: list[tuple[str, bytes]]) -> None:
        """Uploaded files within the size limit.

        Raises:
            TooLarge: a file over ONRECORD_MAX_UPLOAD_MB.
        """
        limit = self.settings.max_upload_mb * 1024 * 1024
        for name, data in items:
            if len(data) > limit:
                raise TooLarge(f"{name} is larger than {self.settings.max_upload_mb:g} MB")

    def ingest_uploads(self, items: list[tuple[str, bytes]], meta: dict | None = None,
                       on_progress=None) -> IngestReport:
        report = ingest_bytes(items, self.index, self.embedder, meta=meta, on_progress=on_progress)
        self._refresh()
        return report

    @property
    def jobs(self) -> IngestJobs:
        """The server's writer: uploads (API and UI) run there, one at a time, off the event loop."""
        with self._lock:
            if self._jobs is None:
                self._jobs = IngestJobs(lambda items, progress: self.ingest_uploads(items, on_progress=progress))
            return self._jobs

    def remove(self, ids: list[str]) -> None:
        info = describe(self.index)
        if info is None:
            raise IndexNotFound(f"no index at {self.index}")
        remove_transcripts(ids, self.index, info.model, info.dim, info.backend)
        self._refresh()

    def compact(self) -> None:
        info = describe(self.index)
        if info is None:
            raise IndexNotFound(f"no index at {self.index}")
        compact_index(self.index, info.model, info.dim, info.backend)
        self._refresh()

    def ensure_index(self, progress: bool = True) -> IngestReport | None:
        """Build the index from the sample transcripts when there is none yet."""
        if describe(self.index) is not None:
            return None
        samples = self.settings.samples or SAMPLES
        return self.ingest_paths([str(samples)], progress=progress)

    def _refresh(self) -> None:
        if self._store is not None:
            try:
                self.store()
            except IndexError_:  # reported by the next request; the write itself succeeded
                pass


