"""The local store: an index folder on this machine (SQLite tables, a Tantivy lexical index and
FAISS vectors, in generations).

    INDEX/manifest.json, INDEX/.lock     manifest.py
    INDEX/onrecord.sqlite                tables.py, versions.py (one database, rows tagged by generation)
    INDEX/gen-000007/lexical/            lexical.py (segments, linked from generation to generation)
    INDEX/gen-000007/vectors-*           vectors.py (segments, linked likewise)
    INDEX/recent-000000123456.f32        vectors.py (the recent passages' vectors, appended to)
    INDEX/recent-000000123456.rows       rowlog.py (the recent passages' rows, appended to)
    (in memory)                          recent.py (the recent passages' words), tables.py (their rows)

A write costs what it adds. A small one appends its rows to the rows file and its vectors to the
recent vectors' file, beside the generation's files, and leaves the database as it was (its
passages are "recent": searched in memory, recent.py); a larger one, a removal of a transcript the
database holds, or the one that takes the recent passages past their limit, writes their rows to
the database and a lexical and a vector segment holding them all, linked to the rest, in a new
generation folder.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..errors import IndexError_, IndexNotFound
from ..models import Occasion, Passage, RepeatPair, Transcript, TranscriptInfo
from ..registry import Speaker
from . import rowlog
from .contract import ANSWER, Filters, IndexInfo, PassageRecord
from .lexical import Lexical, LexicalWriter, day_of
from .lexical import exists as has_lexical
from .manifest import Lock, check_model, clear_stale, fsync, index_backend, publish, read_manifest, verify_files
from .recent import RECENT_MAX, Recent
from .tables import DB, WRITE_ERRORS, Tables, TablesWriter, shared
from .vectors import Vectors, VectorsWriter, append_recent, read_recent, recent_name


def info_of(manifest: dict) -> IndexInfo:
    return IndexInfo(store="local", model=manifest["model"], backend=index_backend(manifest), dim=manifest["dim"],
                     generation=manifest["generation"], transcripts=manifest.get("transcripts", 0),
                     passages=manifest.get("passages", 0))


class LocalStore:
    """One generation of an index folder (the current one when opened), read-only.

    A store never changes generation: a newer generation gets a new store, so a search in flight
    keeps a consistent view while the next request sees the new data.

    `lexical=False` opens no lexical index (a writer reading the previous generation's vectors);
    `records`: the generation's rows file read already (rowlog.py).

    Raises (on open):
        IndexNotFound: no index in the folder.
        IndexError_: the manifest or a file of the generation is damaged.
    """

    def __init__(self, index_dir: str | Path, manifest: dict | None = None, verify: bool = True, graph: bool = True,
                 lexical: bool = True, records: list[dict] | None = None):
        self.dir = Path(index_dir)
        manifest = manifest or read_manifest(self.dir)
        if manifest is None:
            raise IndexNotFound(f"no index at {self.dir}: build one with 'onrecord ingest PATH --index {self.dir}'")
        data = self.dir / manifest["data"]
        if verify:
            verify_files(data, manifest.get("checksums", {}))
        recent = recent_of(manifest)
        if records is None:  # (a writer reading the generation it writes after has them read already)
            records = rowlog.read(self.dir, recent.get("rows")) if recent else []
        self.tables = Tables(self.dir, manifest, records)
        self.recent: Recent | None = None
        try:
            rows = self.tables.recent_rows(recent["from"]) if recent else []
            vectors = recent_vectors(self.dir, recent, rows, manifest["dim"]) if rows else None
            self.vectors = Vectors(data, manifest["dim"], self.tables.n_passages, graph, vectors)
            # an index written before the lexical index searches its FTS5 table until its next write
            self.words = Lexical(data) if lexical and has_lexical(data) else None
            if rows and self.words is not None:
                self.recent = Recent(rows)
            self.tables.recent_tids = {r[6] for r in rows}
        except BaseException:
            self.tables.close()
            raise
        self.manifest, self.info = manifest, info_of(manifest)
        self._users, self._retired, self._closed, self._guard = 0, False, False, threading.Lock()
        self._registry: list[Speaker] | None = None
        self._names: list[str] | None = None
        self._passage_speakers: list[str] | None = None

    # A store of an older generation is closed (its files released: they were deleted when the
    # newer one was published) once no search holds it: acquire() before use, release() after.
    def acquire(self) -> None:
        with self._guard:
            if self._closed:
                raise IndexError_(f"the reader of {self.dir} is closed")
            self._users += 1

    def release(self) -> None:
        with self._guard:
            self._users -= 1
            if self._retired and self._users <= 0:
                self._close()

    def retire(self) -> None:
        """A newer generation took over: close now, or when the last search holding this ends."""
        with self._guard:
            self._retired = True
            if self._users <= 0:
                self._close()

    def close(self) -> None:
        with self._guard:
            self._close()

    def _close(self) -> None:
        if not self._closed:
            self._closed = True
            self.tables.close()
            self.vectors.close()
            self.words = None  # Tantivy's files are unmapped with its searcher

    # search
    def dense(self, vector: np.ndarray, filters: Filters, n: int) -> list[int]:
        return self.vectors.search(vector, n, self.tables.allowed_ids(filters))

    def exact_search(self, vector: np.ndarray, k: int) -> list[int]:
        return self.vectors.exact_search(vector, k)

    def lexical(self, terms: tuple[str, ...], phrases: tuple[str, ...], filters: Filters, n: int,
                side: str = ANSWER) -> list[tuple[int, float]]:
        if self.words is None:
            return self.tables.lexical(terms, phrases, filters, n, side)
        speakers = None
        if filters.speaker:  # part of a name, any case (as SQL's LIKE): the names it matches
            if self._passage_speakers is None:
                self._passage_speakers = self.tables.passage_speakers()
            wanted = filters.speaker.lower()
            speakers = [s for s in self._passage_speakers if wanted in s.lower()]
        found = self.words.search(terms, phrases, n, side, speakers, filters.since, filters.until, filters.transcript)
        if self.recent is not None:  # scored as the lexical index scores: one list
            found = sorted(found + self.recent.search(self.words, terms, phrases, n, side, speakers, filters.since,
                                                      filters.until, filters.transcript), key=lambda x: -x[1])[:n]
        return found

    def document_frequency(self, terms: list[str]) -> dict[str, int]:
        return self.tables.document_frequency(terms)

    # passages
    def passages(self, ids: list[int]) -> dict[int, PassageRecord]:
        return self.tables.passages(ids)

    def vectors_of(self, ids: list[int]) -> dict[int, np.ndarray]:
        return self.vectors.vectors_of(ids)

    def turn_shapes(self, turns: set[tuple[str, int]]) -> dict[tuple[str, int], tuple[int, int]]:
        return self.tables.turn_shapes(turns)

    def turn_passages(self, transcript_id: str, turn_index: int) -> list[PassageRecord]:
        return self.tables.turn_passages(transcript_id, turn_index)

    def exchange_passages(self, transcript_id: str, asked: str) -> list[PassageRecord]:
        return self.tables.exchange_passages(transcript_id, asked)

    def iter_passages(self) -> Iterator[tuple[PassageRecord, np.ndarray]]:
        batch: list[PassageRecord] = []
        for record in self.tables.iter_records():
            batch.append(record)
            if len(batch) == 4096:
                yield from self._with_vectors(batch)
                batch = []
        yield from self._with_vectors(batch)

    def _with_vectors(self, records: list[PassageRecord]) -> Iterator[tuple[PassageRecord, np.ndarray]]:
        vectors = self.vectors.vectors_of([r.id for r in records])
        for r in records:
            yield r, vectors[r.id]

    # transcripts and speakers
    def transcripts(self, limit: int | None = None, offset: int = 0) -> list[TranscriptInfo]:
        return self.tables.transcripts(limit, offset)

    def transcript_info(self, tid: str) -> TranscriptInfo:
        return self.tables.transcript_info(tid)

    def transcript(self, tid: str) -> Transcript:
        return self.tables.transcript(tid)

    def text_span(self, tid: str, start: int, end: int) -> str:
        return self.tables.text_span(tid, start, end)

    def cues_of(self, tids: list[str]) -> dict[str, tuple]:
        return self.tables.cues_of(tids)

    def speaker_names(self) -> list[str]:
        if self._names is None:
            names = self.tables.speaker_names()
            self._names = names if names is not None else [s.name for s in self.speaker_registry()]
        return self._names

    def speaker_transcripts(self, speaker: str) -> set[str]:
        return self.tables.speaker_transcripts(speaker)

    def speaker_registry(self) -> list[Speaker]:
        if self._registry is None:
            self._registry = self.tables.speaker_registry(self.manifest)
        return self._registry

    def asked_questions(self, limit: int) -> list[tuple[str, str]]:
        return self.tables.asked_questions(limit)

    def repeats(self, keys: list[tuple[str, int]]) -> dict[tuple[str, int], list[tuple[Occasion, float]]]:
        return self.tables.repeats(keys)


class LocalWriter:
    """The one writer of an index folder. Use as a context manager; `commit()` publishes a new
    generation; leaving without a commit leaves the previous one as it was.

    Raises (on open):
        IndexLocked: another process holds the lock.
        ModelMismatch: the index was built with another model.
        IndexError_: the folder cannot be written.
    """

    def __init__(self, index_dir: str | Path, model: str, dim: int, backend: str):
        self.dir = Path(index_dir)
        self.model, self.dim, self.backend = model, dim, backend
        self.committed = False
        self._base: LocalStore | None = None  # the previous generation, read for `similar`
        try:
            self._lock = Lock(self.dir)
        except OSError as exc:
            raise write_error(self.dir, exc) from exc
        try:
            self._open()
        except BaseException as exc:
            if hasattr(self, "tables"):
                self.tables.close()
            if hasattr(self, "tmp"):
                shutil.rmtree(self.tmp, ignore_errors=True)
            self._lock.release()
            if isinstance(exc, WRITE_ERRORS):
                raise write_error(self.dir, exc) from exc
            raise

    def _open(self) -> None:
        self.manifest = read_manifest(self.dir)
        recent = recent_of(self.manifest) or {}
        clear_stale(self.dir, (self.manifest or {}).get("data"), [recent.get("file"), (recent.get("rows") or {}).get("file")])
        if self.manifest:
            check_model(self.manifest, self.model, self.backend, self.dir)
        self.generation = self.manifest["generation"] + 1 if self.manifest else 1
        self.tmp = self.dir / f"gen-{self.generation:06d}.tmp"
        self.previous = self.dir / self.manifest["data"] if self.manifest else None
        self.tables = TablesWriter(self.dir, self.manifest, self.generation)
        self.vectors = VectorsWriter(self.dim, self.previous)
        # the lexical index and the generation folder are opened when this write needs files (_files)
        self.words: LexicalWriter | None = None
        self._docs: list[tuple] = []  # this write's lexical documents until then
        self._removed: list[str] = []
        self._records = rowlog.read(self.dir, recent.get("rows")) if recent else []
        if recent:  # the rows of the recent generations' small writes, which this write sees
            self.tables.recent_from = recent["from"]
            self.tables.take_recent(self._records)
        self.first_new = self.tables.next_id()  # this write's passages have ids from here
        self.recent = recent or new_recent(self.first_new)
        self.recent_from = self.tables.recent_from = self.recent["from"]
        if self.previous is None or not has_lexical(self.previous) or not shared(self.manifest):
            self._files()  # a new index, or one from before the lexical index or the shared database

    def _files(self) -> None:
        """Write this generation's lexical and vector files: open its folder and lexical index, and
        give it what this write has done so far (the recent passages join at commit)."""
        if self.words is not None:
            return
        self.tmp.mkdir()
        self.words = LexicalWriter(self.tmp, self.previous)
        if self.words.fresh and self.previous is not None:  # written before the lexical index: built now, once
            for pid, text, topic, asked, speaker, date, tid in self.tables.lexical_rows():
                self.words.add(pid, text, topic, asked, speaker, day_of(date), tid)
            return
        for tid in self._removed:
            self.words.remove(tid)
        for doc in self._docs:
            self.words.add(*doc)
        self._docs = []

    def _fits(self, recent: int) -> bool:
        """Whether a generation may keep this many passages recent: up to RECENT_MAX, and no more
        than its lexical index holds (whose statistics score them)."""
        return recent <= RECENT_MAX and recent <= self.tables.n_p - recent

    def known_speakers(self) -> list[str]:
        """The names the index already gives its spokespeople (for one name per person)."""
        return self.tables.known_speakers()

    def same_occasion(self, t: Transcript) -> str | None:
        """An indexed transcript with another text but the same title and date: perhaps another
        version of the same briefing (a page and its PDF, an edit)."""
        return self.tables.same_occasion(t)

    def has(self, tid: str) -> bool:
        return self.tables.has(tid)

    def add(self, transcript: Transcript, passages: list[Passage], vectors: np.ndarray) -> None:
        """Add a transcript and its passages with their vectors (rows parallel to passages)."""
        if len(passages) != len(vectors):
            raise ValueError("one vector per passage")
        vectors = np.asarray(vectors, dtype=np.float32)
        if self.words is None and len(self._docs) + len(passages) > RECENT_MAX:
            self._files()  # too many to keep recent, whatever else the index holds
        ids = self.tables.add(transcript, passages)
        if len(ids):
            self.vectors.add(ids, vectors)
        day = day_of(transcript.date)
        docs = [(int(pid), p.text, p.topic, p.asked, p.speaker, day, transcript.id) for pid, p in zip(ids, passages)]
        if self.words is None:
            self._docs.extend(docs)
        else:
            for doc in docs:
                self.words.add(*doc)

    def similar(self, vector: np.ndarray, speaker: str, n: int) -> list[Passage]:
        """The n passages of the previous generation by a speaker nearest a vector."""
        if not self.manifest:
            return []
        if self._base is None:
            # the published generation, read for neighbours only: its files' checksums (seconds
            # at a million passages) are the readers' to check, and its graph is not needed (the
            # search is filtered on the speaker, so exact)
            self._base, self._speaker_ids = LocalStore(self.dir, self.manifest, verify=False, graph=False,
                                                       lexical=False, records=self._records), {}
        if speaker not in self._speaker_ids:  # one look-up per speaker, not per passage
            self._speaker_ids[speaker] = self._base.tables.speaker_ids(speaker)
        ids = self._base.vectors.search(vector, n, self._speaker_ids[speaker])
        return [r.passage() for r in self._base.passages(ids).values()]

    def add_repeats(self, pairs: list[RepeatPair]) -> None:
        self.tables.add_repeats(pairs)

    def remove(self, tid: str) -> None:
        """Delete a transcript and its passages everywhere (tables, full-text index, vectors).

        Raises:
            NotFound: no such transcript.
        """
        stored = self.tables.in_database(tid)
        ids = self.tables.remove(tid)
        if len(ids):
            self.vectors.remove(ids)
        self._docs = [d for d in self._docs if d[6] != tid]  # added by this write: never indexed
        self._removed.append(tid)
        if self.words is not None:
            self.words.remove(tid)
        elif stored:
            self._files()  # in the files and the database (or recent in the database: before rowlog.py)

    def compact(self) -> None:
        """Make this generation's vectors one segment (its graph rebuilt, removed vectors dropped), its
        word counts and registry new base tables (`onrecord compact`). Tantivy merges its own segments."""
        self.vectors.force_merge = True
        self.tables.fold = True
        self._files()

    def commit(self) -> IndexInfo:
        """Publish the new generation atomically: files on disk, rows committed, then the manifest."""
        self._close_base()
        # the recent files hold the removed recent passages too: those written count against the limit
        written = self.tables.recent_written + len(self._docs)
        if self.words is None and (not self._fits(self.tables.recent_count(self.recent_from)) or written > RECENT_MAX
                                   or self.tables.needs_fold()):
            self._files()
        if self.words is None:  # rows appended to the rows file, vectors to the recent vectors' file
            record, n_t, n_p = self.tables.finish_recent()
            ids, vecs = self.vectors.pending()
            recent = append_recent(self.dir, self.recent, ids, vecs) if len(ids) else self.recent
            recent = {**recent, "rows": rowlog.append(self.dir, self.recent.get("rows") or rowlog.empty(self.recent_from),
                                                      record)}
            return self._publish(None, [], [], recent, (n_t, n_p))
        # the recent passages of earlier writes join the files; this write's own are there already
        rows = [r for r in self.tables.recent_rows(self.recent_from) if r[0] < self.first_new]
        for pid, text, topic, asked, speaker, date, tid in rows:
            self.words.add(pid, text, topic, asked, speaker, day_of(date), tid)
        if rows:
            self.vectors.add(*recent_vectors(self.dir, self.recent, rows, self.dim))
        self.tables.mirror(self.recent_from)  # their repeats, and this write's, stored both ways now
        self.words.finish()
        # on disk before publishing: what Tantivy's commit wrote it synced itself (each file), the
        # copied .json files are ours to sync when it did not commit; then the folder, which holds
        # the new names and the links to the rest (a linked file's data is on disk already)
        if not self.words.committed:
            for f in (self.tmp / "lexical").iterdir():
                if f.name.endswith(".json"):
                    fsync(f)
        fsync(self.tmp / "lexical")
        written, linked = self.vectors.write(self.tmp, self.generation)
        return self._publish(self.tmp, written, linked, new_recent(self.tables.next_id()))

    def _publish(self, folder: Path | None, written: list[str], linked: list[str], recent: dict,
                 counts: tuple[int, int] | None = None) -> IndexInfo:
        # after this the rows are there, unseen until the manifest names them
        n_t, n_p = counts or self.tables.finish()
        manifest = {"model": self.model, "backend": self.backend, "dim": self.dim, "transcripts": n_t, "passages": n_p,
                    "tables": DB, "bases": self.tables.bases, "folded": self.tables.folded, "recent": recent}
        self.manifest = publish(self.dir, folder, self.generation, manifest, written, linked)
        self.committed = True
        return info_of(self.manifest)

    def _close_base(self) -> None:
        if self._base is not None:
            self._base.close()
            self._base = None

    def abort(self) -> None:
        self._close_base()
        if self.words is not None:
            self.words.abort()
        self.tables.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> LocalWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if not self.committed:
                self.abort()
        finally:
            self._lock.release()
        if isinstance(exc, WRITE_ERRORS):
            raise write_error(self.dir, exc) from exc


def new_recent(first: int) -> dict:
    """A generation's recent passages (recent.py) when it has none: those from id `first` on."""
    return {"from": first, "file": recent_name(first), "bytes": 0, "crc32": "00000000"}


def recent_of(manifest: dict | None) -> dict | None:
    """Where a generation's recent passages begin and their vectors are, if it keeps any apart."""
    value = (manifest or {}).get("recent")
    ok = isinstance(value, dict) and isinstance(value.get("from"), int) and isinstance(value.get("bytes"), int) \
        and isinstance(value.get("crc32"), str) and value.get("file") == recent_name(value["from"])
    rows = value.get("rows") if ok else None
    if rows is not None and not (isinstance(rows, dict) and rows.get("file") == rowlog.rows_name(value["from"])
                                 and isinstance(rows.get("bytes"), int) and isinstance(rows.get("crc32"), str)):
        raise IndexError_("the manifest of the index names no valid rows file: "
                          "rebuild the index with 'onrecord ingest'")
    return value if ok else None


def recent_vectors(index_dir: Path, recent: dict, rows: list[tuple], dim: int) -> tuple[np.ndarray, np.ndarray]:
    """The vectors of some recent rows, from the recent file: (ids, vectors).

    Raises:
        IndexError_: the file lacks one of them, or is damaged.
    """
    found = read_recent(index_dir, recent, dim)
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    missing = [i for i in ids.tolist() if i not in found]
    if missing:
        raise IndexError_(f"index file {index_dir / recent['file']} lacks the vectors of {len(missing)} passages: "
                          "rebuild the index with 'onrecord ingest'")
    return ids, np.stack([found[i] for i in ids.tolist()]).astype(np.float32)


def write_error(index_dir: Path, exc: BaseException) -> IndexError_:
    reason = str(exc).strip() or type(exc).__name__
    return IndexError_(f"could not write the index at {index_dir} ({reason}); the previous index is unchanged")
