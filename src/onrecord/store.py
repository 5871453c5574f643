"""The index directory: SQLite (transcripts, passages, FTS5) + FAISS vectors + a manifest.

    INDEX/manifest.json            format, model, dimension, counts, generation, data folder
    INDEX/gen-000007/onrecord.sqlite
    INDEX/gen-000007/vectors.faiss   (FAISS ids = passage row ids)
    INDEX/.lock                    held by the one writer

A writer copies the current generation into a new temporary folder, changes it there, and
publishes it by renaming the folder and then replacing manifest.json (an atomic rename). A
reader follows manifest.json, so it sees either the old generation or the new one, never a
half-written index; a crashed writer leaves only a temporary folder, removed by the next one.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import shutil
import sqlite3
import threading
import time
import zlib
from dataclasses import asdict
from pathlib import Path

import numpy as np

from .errors import IndexError_, IndexLocked, IndexNotFound, ModelMismatch, NotFound
from .models import SPOKESPERSON, Exchange, Passage, Transcript, TranscriptInfo, Turn
from .registry import Speaker, is_generic
from .terms import terms_of

FORMAT = 2
MANIFEST = "manifest.json"
DB = "onrecord.sqlite"
VECTORS = "vectors.faiss"
HNSW = "vectors.hnsw"
REMOVED = "vectors.hnsw.removed.npy"  # ids removed since the graph was built: skipped by searches
# From this many passages a graph index (HNSW, fp16 vectors) answers dense queries; exact flat
# search stays the source of truth. Measured (benchmarks/dense_threshold.py, README): one exact
# query costs ~3 ms at 50k, ~7 ms at 100k, ~14 ms at 200k on 2 cores, the graph ~1 ms with
# recall@10 >= 0.998, but building it costs ~25 s per 100k passages (once; later ingests add to
# it). Below 100k exact search is cheap enough to need no graph.
HNSW_THRESHOLD = 100_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 200  # 40 (FAISS's default) gave recall@10 0.96 at 1M; 200: 0.995 at efSearch 512
HNSW_EF_SEARCH = 512
# A graph cannot drop a vector, and rebuilding it costs ~25 s per 100k passages: a removal only
# records the ids (searches skip them) until they are this share of the graph, then it is rebuilt.
HNSW_MAX_REMOVED = 0.10

SCHEMA = """
CREATE TABLE IF NOT EXISTS transcripts (
    id TEXT PRIMARY KEY, title TEXT NOT NULL, date TEXT, source_url TEXT, file TEXT NOT NULL,
    organisation TEXT, speakers TEXT NOT NULL, text TEXT NOT NULL, turns TEXT NOT NULL,
    exchanges TEXT NOT NULL, added TEXT NOT NULL, cues TEXT
);
CREATE TABLE IF NOT EXISTS passages (
    id INTEGER PRIMARY KEY AUTOINCREMENT, transcript_id TEXT NOT NULL REFERENCES transcripts(id),
    turn_index INTEGER NOT NULL, start INTEGER NOT NULL, end INTEGER NOT NULL,
    speaker TEXT NOT NULL, role TEXT NOT NULL, label TEXT NOT NULL, asked TEXT, asked_by TEXT, topic TEXT,
    text TEXT NOT NULL, vector BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS passages_turn ON passages(transcript_id, turn_index);
CREATE TABLE IF NOT EXISTS terms (term TEXT PRIMARY KEY, df INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS speakers (
    name TEXT PRIMARY KEY, passages INTEGER NOT NULL, transcripts INTEGER NOT NULL DEFAULT 0, aliases TEXT
) WITHOUT ROWID;
CREATE VIRTUAL TABLE IF NOT EXISTS passages_fts USING fts5(
    text, asked, speaker, topic, content='passages', content_rowid='id', tokenize='porter unicode61'
);
"""


def _faiss():
    import faiss

    return faiss


def new_graph(dim: int):
    """An empty HNSW graph over fp16 vectors, with onrecord's parameters."""
    graph = _faiss().IndexHNSWSQ(dim, _faiss().ScalarQuantizer.QT_fp16, HNSW_M)
    graph.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    graph.hnsw.efSearch = HNSW_EF_SEARCH
    return graph


def read_removed(data: Path) -> np.ndarray:
    """The ids a generation's graph still holds but that were removed (see HNSW_MAX_REMOVED)."""
    return np.load(data / REMOVED) if (data / REMOVED).is_file() else np.zeros(0, dtype=np.int64)


log = logging.getLogger("onrecord")
# A database file up to this size is checked against its checksum when a generation is opened
# (crc32 reads ~1.3 GB/s here: 0.4 s); a larger one by its size, and SQLite finds damage to the
# pages it reads. Vector files are always checked: damage there gives silently wrong answers.
VERIFY_DB_BYTES = 512 * 1024 * 1024
_GENERATION_DIR = re.compile(r"gen-\d{6}")
_REQUIRED = {"model": str, "dim": int, "generation": int, "data": str}


def read_manifest(index_dir: Path) -> dict | None:
    """The manifest of an index directory, or None when there is no index there.

    Raises:
        IndexError_: the manifest is unreadable, of another format, or not a whole manifest.
    """
    path = Path(index_dir) / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise IndexError_(f"{path} is unreadable ({exc}); rebuild the index with 'onrecord ingest'") from None
    if not isinstance(manifest, dict):
        raise IndexError_(f"{path} is not an index manifest (a JSON object); rebuild the index with 'onrecord ingest'")
    if manifest.get("format") != FORMAT:
        raise IndexError_(f"{path} has format {manifest.get('format')!r}, this onrecord reads {FORMAT}: rebuild the index")
    for key, kind in _REQUIRED.items():
        if not isinstance(manifest.get(key), kind) or isinstance(manifest.get(key), bool):
            raise IndexError_(f"{path} is damaged: '{key}' is missing or not a {kind.__name__}; "
                              "rebuild the index with 'onrecord ingest'")
    if not _GENERATION_DIR.fullmatch(manifest["data"]) or manifest["dim"] <= 0:
        raise IndexError_(f"{path} is damaged (data folder {manifest['data']!r}, dimension {manifest['dim']}); "
                          "rebuild the index with 'onrecord ingest'")
    if not isinstance(manifest.get("checksums", {}), dict) or not isinstance(manifest.get("backend", ""), str):
        raise IndexError_(f"{path} is damaged (checksums or backend); rebuild the index with 'onrecord ingest'")
    return manifest


def manifest_stamp(index_dir: Path) -> tuple | None:
    """What changes whenever a writer publishes (the manifest is replaced by a rename): cheap to
    ask on every request, unlike reading the manifest."""
    try:
        st = os.stat(Path(index_dir) / MANIFEST)
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


def file_checksum(path: Path) -> str:
    """crc32 of a file, read in 16 MB blocks ("crc32:SIZE:HEX")."""
    crc, size = 0, 0
    with open(path, "rb") as fh:
        while block := fh.read(1 << 24):
            crc, size = zlib.crc32(block, crc), size + len(block)
    return f"crc32:{size}:{crc:08x}"


def verify_files(data: Path, checksums: dict) -> None:
    """Check a generation's files against the checksums its manifest recorded (see VERIFY_DB_BYTES).

    Raises:
        IndexError_: a file is damaged.
    """
    for name, expected in checksums.items():
        path = data / name
        if not isinstance(expected, str) or "/" in name or not path.is_file():
            continue  # a missing file is reported where it is needed
        parts = expected.split(":")
        size = int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else -1
        actual_size = path.stat().st_size
        if name == DB and actual_size > VERIFY_DB_BYTES and actual_size == size:
            continue
        if actual_size != size or file_checksum(path) != expected:
            raise IndexError_(f"index file {path} is corrupt (its checksum does not match the manifest): "
                              "rebuild the index with 'onrecord ingest'")


def index_backend(manifest: dict) -> str:
    """The embedding backend an index's vectors came from (indexes before backends: torch)."""
    return manifest.get("backend", "torch")


def check_model(manifest: dict, model: str, backend: str, index_dir: Path) -> None:
    """An index's vectors all come from one model and backend: refuse another."""
    if manifest.get("model") != model:
        raise ModelMismatch(
            f"the index at {index_dir} was built with embedding model '{manifest.get('model')}' "
            f"(dimension {manifest.get('dim')}), but the configured model is '{model}': set "
            f"ONRECORD_MODEL={manifest.get('model')} or rebuild the index into a new directory"
        )
    if index_backend(manifest) != backend:
        raise ModelMismatch(
            f"the index at {index_dir} was built with the '{index_backend(manifest)}' embedding backend, but the "
            f"configured backend is '{backend}': set ONRECORD_BACKEND={index_backend(manifest)} (or auto) "
            "or rebuild the index into a new directory"
        )


def _row_to_info(row) -> TranscriptInfo:
    return TranscriptInfo(
        id=row["id"], title=row["title"], date=row["date"], source_url=row["source_url"],
        file=row["file"], organisation=row["organisation"],
    )


class IndexReader:
    """Read access to one generation of an index directory (the current one when opened).

    A reader never changes generation: a newer generation gets a new reader, so a search in
    flight keeps a consistent view while the next request sees the new data."""

    def __init__(self, index_dir: str | Path, manifest: dict | None = None):
        self.dir = Path(index_dir)
        self.manifest: dict = {}
        self.db: sqlite3.Connection | None = None
        self.vectors = None  # exact (flat) vectors, ids = passage row ids
        self.search_index = None
        self._users, self._retired, self._guard = 0, False, threading.Lock()
        self._registry: list[Speaker] | None = None
        self._names: list[str] | None = None

        self._load(manifest)

    # A reader of an older generation is closed (its files released: they were deleted when the
    # newer one was published) once no search holds it: acquire() before use, release() after.
    def acquire(self) -> None:
        with self._guard:
            if self.db is None:
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

    def exact_search(self, query: np.ndarray, k: int) -> list[int]:
        """Exact top-k passage ids (to measure an approximate index against)."""
        _, ids = self.vectors.search(np.asarray(query, dtype=np.float32).reshape(1, -1), k)
        return [int(i) for i in ids[0] if i >= 0]

    def _load(self, manifest: dict | None) -> None:
        manifest = manifest or read_manifest(self.dir)
        if manifest is None:
            raise IndexNotFound(f"no index at {self.dir}: build one with 'onrecord ingest PATH --index {self.dir}'")
        data = self.dir / manifest["data"]
        db_path, vec_path = data / DB, data / VECTORS
        for path in (db_path, vec_path):
            if not path.is_file():
                raise IndexError_(f"index file {path} is missing: rebuild the index with 'onrecord ingest'")
        verify_files(data, manifest.get("checksums", {}))
        try:
            db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, check_same_thread=False)
            db.row_factory = sqlite3.Row
            n_passages = db.execute("SELECT count(*) FROM passages").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise IndexError_(f"index file {db_path} is corrupt ({exc}): rebuild the index with 'onrecord ingest'") from None
        faiss = _faiss()
        try:  # mapped, not read: opening is instant and only pages that searches touch are loaded
            vectors = faiss.read_index(str(vec_path), faiss.IO_FLAG_MMAP_IFC)
        except Exception as exc:
            raise IndexError_(f"index file {vec_path} is corrupt ({exc}): rebuild the index with 'onrecord ingest'") from None
        graph, removed = None, np.zeros(0, dtype=np.int64)
        if (data / HNSW).is_file():
            try:
                graph = faiss.read_index(str(data / HNSW))
                faiss.downcast_index(graph.index).hnsw.efSearch = HNSW_EF_SEARCH
                removed = read_removed(data)
            except Exception as exc:
                raise IndexError_(f"index file {data / HNSW} is corrupt ({exc}): rebuild the index with 'onrecord ingest'") from None
            if graph.ntotal - len(removed) != n_passages:
                raise IndexError_(f"index file {data / HNSW} holds {graph.ntotal - len(removed)} vectors for {n_passages} "
                                  "passages: rebuild the index with 'onrecord ingest'")
        if vectors.ntotal != n_passages or vectors.d != manifest["dim"]:
            raise IndexError_(
                f"index file {vec_path} holds {vectors.ntotal} vectors of dimension {vectors.d}, the database "
                f"{n_passages} passages of dimension {manifest['dim']}: rebuild the index with 'onrecord ingest'"
            )
        self.manifest, self.db, self.vectors = manifest, db, vectors
        self.search_index = graph or vectors  # what dense search asks: the graph when there is one
        self.search_params = None  # with removed ids: the parameters that make the graph skip them
        if len(removed):
            self._skip = (faiss.IDSelectorBatch(removed),)  # the selectors must outlive every search
            self._skip += (faiss.IDSelectorNot(self._skip[0]),)
            self.search_params = faiss.SearchParametersHNSW(sel=self._skip[1], efSearch=HNSW_EF_SEARCH)

    @property
    def generation(self) -> int:
        return self.manifest.get("generation", 0)

    @property
    def model(self) -> str:
        return self.manifest["model"]

    def counts(self) -> tuple[int, int]:
        return self.manifest.get("transcripts", 0), self.manifest.get("passages", 0)

    def transcripts(self) -> list[TranscriptInfo]:
        rows = self.db.execute("SELECT id, title, date, source_url, file, organisation FROM transcripts ORDER BY date, file")
        return [_row_to_info(r) for r in rows]

    def transcript_info(self, tid: str) -> TranscriptInfo:
        row = self.db.execute("SELECT id, title, date, source_url, file, organisation FROM transcripts WHERE id=?", (tid,)).fetchone()
        if row is None:
            raise NotFound(f"no transcript with id '{tid}'")
        return _row_to_info(row)

    def transcript(self, tid: str) -> Transcript:
        row = self.db.execute("SELECT * FROM transcripts WHERE id=?", (tid,)).fetchone()
        if row is None:
            raise NotFound(f"no transcript with id '{tid}'")
        return transcript_from_row(row)

    def speakers(self) -> list[tuple[str, int]]:
        """Spokespeople in the index with their number of passages, most first (role labels such
        as "Moderator" or "Aide" are not people and are left out)."""
        return [(s.name, s.answers) for s in self.speaker_registry()]

    def speaker_names(self) -> list[str]:
        """Every name an answer passage is attributed to, role labels included (what a speaker
        filter can match)."""
        if self._names is None:
            try:
                self._names = [r[0] for r in self.db.execute("SELECT name FROM speakers")]
            except sqlite3.OperationalError:
                self._names = [s.name for s in self.speaker_registry()]
        return self._names

    def speaker_registry(self) -> list[Speaker]:
        """The index's spokespeople: name, the labels they stood under, transcripts, passages."""
        if self._registry is None:
            try:
                rows = self.db.execute(
                    "SELECT name, passages, transcripts, aliases FROM speakers ORDER BY passages DESC, name").fetchall()
                found = [Speaker(r[0], tuple(a for a in json.loads(r[3] or "[]") if a), SPOKESPERSON, r[2], r[1])
                         for r in rows]
            except sqlite3.OperationalError:  # an index written before the registry: names and counts only
                try:
                    found = [Speaker(r[0], (), SPOKESPERSON, 0, r[1]) for r in self.db.execute(
                        "SELECT name, passages FROM speakers ORDER BY passages DESC, name")]
                except sqlite3.OperationalError:  # before the speakers table: the manifest kept them
                    found = [Speaker(str(x[0]), (), SPOKESPERSON, 0, int(x[1])) for x in self.manifest.get("speakers", [])
                             if isinstance(x, list) and len(x) == 2 and isinstance(x[1], int)]

            self._registry = [s for s in found if not is_generic(s.name)]
        return self._registry

    def passages(self, ids: list[int]) -> dict[int, sqlite3.Row]:
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self.db.execute(
            f"SELECT p.id, p.transcript_id, p.turn_index, p.start, p.end, p.speaker, p.role, p.label, p.asked, "
            f"p.asked_by, p.topic, p.text, t.title, t.date, t.source_url, t.file, t.organisation "
            f"FROM passages p JOIN transcripts t ON t.id = p.transcript_id WHERE p.id IN ({marks})",
            ids,
        )
        return {r["id"]: r for r in rows}

    def document_frequency(self, terms: list[str]) -> dict[str, int]:
        """In how many passages each word occurs (unstemmed words, as `terms_of` gives them)."""
        if not terms:
            return {}
        marks = ",".join("?" * len(terms))
        return dict(self.db.execute(f"SELECT term, df FROM terms WHERE term IN ({marks})", terms).fetchall())

    def cues_of(self, tids: list[str]) -> dict[str, tuple]:
        """The caption cues of the timed transcripts among `tids` (see Transcript.cues)."""
        tids = list(dict.fromkeys(tids))
        if not tids or not self._has_cues:
            return {}
        marks = ",".join("?" * len(tids))
        rows = self.db.execute(f"SELECT id, cues FROM transcripts WHERE id IN ({marks}) AND cues IS NOT NULL", tids)
        return {r[0]: _cues(r[1]) for r in rows}

    @property
    def _has_cues(self) -> bool:
        if not hasattr(self, "_cues_column"):
            self._cues_column = "cues" in {r[1] for r in self.db.execute("PRAGMA table_info(transcripts)")}
        return self._cues_column

    def vectors_of(self, ids: list[int]) -> dict[int, np.ndarray]:

        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self.db.execute(f"SELECT id, vector FROM passages WHERE id IN ({marks})", ids)
        return {r[0]: np.frombuffer(r[1], dtype=np.float32) for r in rows}

    def close(self) -> None:
        with self._guard:
            self._close()

    def _close(self) -> None:
        if self.db is not None:
            self.db.close()
            self.db = None
        self.vectors = self.search_index = self.search_params = None  # unmaps the vector files


def transcript_to_row(t: Transcript) -> tuple:
    return (
        t.id, t.title, t.date, t.source_url, t.file, t.organisation, json.dumps(list(t.speakers)), t.text,
        json.dumps([asdict(x) for x in t.turns]), json.dumps([asdict(x) for x in t.exchanges]),
        time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), json.dumps([list(c) for c in t.cues]) if t.cues else None,
    )


TRANSCRIPT_COLUMNS = ("id, title, date, source_url, file, organisation, speakers, text, turns, exchanges, added, cues")


def transcript_from_row(row) -> Transcript:
    turns = tuple(Turn(**{**d, "span": tuple(d["span"])}) for d in json.loads(row["turns"]))
    exchanges = tuple(
        Exchange(question=tuple(d["question"]), answer=tuple(d["answer"]), topic=d["topic"])
        for d in json.loads(row["exchanges"])
    )
    return Transcript(
        id=row["id"], title=row["title"], date=row["date"], source_url=row["source_url"], file=row["file"],
        organisation=row["organisation"], text=row["text"], turns=turns, exchanges=exchanges,
        speakers=tuple(json.loads(row["speakers"])),
        cues=_cues(row["cues"] if "cues" in row.keys() else None),
    )


def _cues(value: str | None) -> tuple:
    return tuple((int(a), int(b), float(s), float(e)) for a, b, s, e in json.loads(value)) if value else ()


class IndexWriter:
    """The one writer of an index directory. Use as a context manager; `commit()` publishes.

    Raises:
        IndexLocked: another process holds the lock.
        ModelMismatch: the index was built with another model.
    """

    def __init__(self, index_dir: str | Path, model: str, dim: int, backend: str):
        self.dir = Path(index_dir)
        self.model, self.dim, self.backend = model, dim, backend
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            self._lock = open(self.dir / ".lock", "a+")
        except OSError as exc:
            raise _write_error(self.dir, exc) from exc
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock.seek(0)
            holder = self._lock.read().strip() or "another process"
            self._lock.close()
            raise IndexLocked(f"the index at {self.dir} is being written by {holder}; try again when it finishes") from None
        try:  # who holds the lock, for the message a second writer gets; a full disk may refuse it
            self._lock.seek(0)
            self._lock.truncate()
            self._lock.write(f"pid {os.getpid()}")
            self._lock.flush()
        except OSError:
            pass
        self.committed = False
        try:
            self._open()
        except BaseException as exc:
            if hasattr(self, "tmp"):
                shutil.rmtree(self.tmp, ignore_errors=True)
            self._release()
            if isinstance(exc, WRITE_ERRORS):
                raise _write_error(self.dir, exc) from exc
            raise

    def _open(self) -> None:
        self.manifest = read_manifest(self.dir)
        current = (self.manifest or {}).get("data")
        for stale in self.dir.glob("gen-*"):  # half-written folders, and generations a crash left behind
            if stale.is_dir() and stale.name != current:
                shutil.rmtree(stale, ignore_errors=True)
        if self.manifest:
            check_model(self.manifest, self.model, self.backend, self.dir)
            self.generation = self.manifest["generation"] + 1
        else:
            self.generation = 1
        self.tmp = self.dir / f"gen-{self.generation:06d}.tmp"
        self.tmp.mkdir()
        faiss = _faiss()
        if self.manifest:
            # copy, then change the copy: a published generation is never written again. A file
            # copy (in the kernel) is 3x faster than SQLite's page-by-page backup (4.3 vs 13.6 s
            # at 1M passages), and safe: the lock keeps writers out and readers only read.
            old = self.dir / self.manifest["data"]
            shutil.copyfile(old / DB, self.tmp / DB)
            self.vectors = faiss.read_index(str(old / VECTORS))
        self.db = sqlite3.connect(self.tmp / DB)
        self.db.row_factory = sqlite3.Row
        self.db.executescript(SCHEMA)  # IF NOT EXISTS: adds tables an older index lacks
        if "cues" not in {r[1] for r in self.db.execute("PRAGMA table_info(transcripts)")}:
            self.db.execute("ALTER TABLE transcripts ADD COLUMN cues TEXT")  # and columns
        if not self.manifest:
            self.vectors = faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))
        self._added_ids: list[np.ndarray] = []
        self._added_vectors: list[np.ndarray] = []
        self._removed: list[np.ndarray] = []
        self.db.execute("PRAGMA journal_mode=OFF")
        self.db.execute("PRAGMA synchronous=OFF")  # the folder is published only after a full write

    def known_speakers(self) -> list[str]:
        """The names the index already gives its spokespeople (for one name per person)."""
        return [r[0] for r in self.db.execute("SELECT name FROM speakers")]

    def same_occasion(self, t: Transcript) -> str | None:
        """An indexed transcript with another text but the same title and date: perhaps another
        version of the same briefing (a page and its PDF, an edit)."""
        if not t.date:
            return None
        row = self.db.execute("SELECT id FROM transcripts WHERE title=? AND date=? AND id!=? LIMIT 1",
                              (t.title, t.date, t.id)).fetchone()
        return row[0] if row else None

    def has(self, tid: str) -> bool:

        return self.db.execute("SELECT 1 FROM transcripts WHERE id=?", (tid,)).fetchone() is not None

    def add(self, transcript: Transcript, passages: list[Passage], vectors: np.ndarray) -> None:
        """Add a transcript and its passages with their vectors (rows parallel to passages)."""
        if len(passages) != len(vectors):
            raise ValueError("one vector per passage")
        self.db.execute(f"INSERT INTO transcripts ({TRANSCRIPT_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                        transcript_to_row(transcript))
        ids = []
        for p, v in zip(passages, vectors):
            cur = self.db.execute(
                "INSERT INTO passages (transcript_id, turn_index, start, end, speaker, role, label, asked, asked_by, topic, "
                "text, vector) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (p.transcript_id, p.turn_index, p.span[0], p.span[1], p.speaker, p.role, p.label, p.asked, p.asked_by,
                 p.topic, p.text, np.asarray(v, dtype=np.float32).tobytes()),
            )
            ids.append(cur.lastrowid)
            self.db.execute(
                "INSERT INTO passages_fts(rowid, text, asked, speaker, topic) VALUES (?,?,?,?,?)",
                (cur.lastrowid, p.text, p.asked or "", p.speaker, p.topic or ""),
            )
        if ids:
            vecs, id_array = np.asarray(vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64)
            self.vectors.add_with_ids(vecs, id_array)
            self._added_ids.append(id_array)
            self._added_vectors.append(vecs)
        self._count_terms(passages, +1)

    def _count_terms(self, passages, sign: int) -> None:
        counts: dict[str, int] = {}
        for p in passages:
            for t in set(terms_of(" ".join(x or "" for x in (p.text, p.asked, p.speaker, p.topic)))):
                counts[t] = counts.get(t, 0) + 1
        self.db.executemany(
            "INSERT INTO terms VALUES (?, ?) ON CONFLICT(term) DO UPDATE SET df = df + excluded.df",
            [(t, sign * n) for t, n in counts.items()],
        )

    def remove(self, tid: str) -> None:
        """Delete a transcript and its passages everywhere (SQLite, FTS5, FAISS)."""
        if not self.has(tid):
            raise NotFound(f"no transcript with id '{tid}'")
        rows = self.db.execute(
            "SELECT id, text, asked, speaker, topic FROM passages WHERE transcript_id=?", (tid,)
        ).fetchall()
        self._count_terms([Passage(transcript_id=tid, turn_index=0, span=(0, 0), text=r["text"], speaker=r["speaker"],
                                   role="", asked=r["asked"], topic=r["topic"]) for r in rows], -1)
        for r in rows:
            self.db.execute(
                "INSERT INTO passages_fts(passages_fts, rowid, text, asked, speaker, topic) VALUES ('delete',?,?,?,?,?)",
                (r["id"], r["text"], r["asked"] or "", r["speaker"], r["topic"] or ""),
            )
        self.db.execute("DELETE FROM passages WHERE transcript_id=?", (tid,))
        self.db.execute("DELETE FROM transcripts WHERE id=?", (tid,))
        if rows:
            ids = np.asarray([r["id"] for r in rows], dtype=np.int64)
            self.vectors.remove_ids(ids)
            self._removed.append(ids)

    def commit(self) -> dict:
        """Publish the new generation atomically and return its manifest."""
        self.db.commit()
        n_t = self.db.execute("SELECT count(*) FROM transcripts").fetchone()[0]
        n_p = self.db.execute("SELECT count(*) FROM passages").fetchone()[0]
        # the speaker registry: in the database, not the manifest (read once per generation)
        self.db.execute("DROP TABLE IF EXISTS speakers")
        self.db.executescript(SCHEMA)
        self.db.execute(
            "INSERT INTO speakers SELECT speaker, count(*), count(DISTINCT transcript_id), "
            "json_group_array(DISTINCT label) FROM passages WHERE role='spokesperson' GROUP BY speaker"
        )
        self.db.commit()
        self.db.close()
        _write_index(self.vectors, self.tmp / VECTORS)
        written = [DB, VECTORS]
        if self.vectors.ntotal >= HNSW_THRESHOLD:
            graph, removed = self._graph()
            _write_index(graph, self.tmp / HNSW)
            written.append(HNSW)
            if len(removed):
                np.save(self.tmp / REMOVED, removed)
                written.append(REMOVED)
        for name in written:
            _fsync(self.tmp / name)
        checksums = {name: file_checksum(self.tmp / name) for name in written}
        final = self.dir / f"gen-{self.generation:06d}"
        if final.exists():
            shutil.rmtree(final)
        os.rename(self.tmp, final)
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        manifest = {
            "format": FORMAT, "model": self.model, "backend": self.backend, "dim": self.dim, "generation": self.generation,
            "data": final.name, "transcripts": n_t, "passages": n_p, "checksums": checksums,
            "created": (self.manifest or {}).get("created", now), "updated": now,
        }
        tmp_manifest = self.dir / (MANIFEST + ".tmp")
        tmp_manifest.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        _fsync(tmp_manifest)
        os.replace(tmp_manifest, self.dir / MANIFEST)
        _fsync(self.dir)
        old = (self.manifest or {}).get("data")
        if old and old != final.name:
            shutil.rmtree(self.dir / old, ignore_errors=True)  # open readers keep their file handles
        self.committed = True
        self.manifest = manifest
        return manifest

    def _graph(self):
        """The HNSW index for this generation and the ids it holds that were removed: the previous
        graph plus what was added, its removed ids plus this writer's; built anew from the exact
        vectors the first time over the threshold, or once removed ids pass HNSW_MAX_REMOVED."""
        faiss = _faiss()
        old = self.dir / (self.manifest or {}).get("data", "-")
        if (old / HNSW).is_file():
            graph = faiss.read_index(str(old / HNSW))
            removed = np.concatenate([read_removed(old), *self._removed]).astype(np.int64)
            if len(removed) <= HNSW_MAX_REMOVED * (graph.ntotal + sum(len(a) for a in self._added_ids)):
                if self._added_ids:
                    graph.add_with_ids(np.concatenate(self._added_vectors), np.concatenate(self._added_ids))
                return graph, removed
        flat = faiss.downcast_index(self.vectors.index)
        vectors = flat.reconstruct_n(0, flat.ntotal)
        ids = faiss.vector_to_array(self.vectors.id_map).astype(np.int64)
        graph = faiss.IndexIDMap(new_graph(self.dim))
        graph.train(vectors)
        graph.add_with_ids(vectors, ids)
        return graph, np.zeros(0, dtype=np.int64)

    def abort(self) -> None:
        try:
            self.db.close()
        except Exception:
            pass
        shutil.rmtree(self.tmp, ignore_errors=True)

    def _release(self) -> None:
        """Always let go of the lock, whatever the disk says (closing the file releases it too)."""
        try:
            self._lock.seek(0)
            self._lock.truncate()
        except OSError:
            pass
        try:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
        finally:
            try:
                self._lock.close()
            except OSError:
                pass


    def __enter__(self) -> IndexWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if not self.committed:
                self.abort()
        finally:
            self._release()
        if isinstance(exc, WRITE_ERRORS):
            raise _write_error(self.dir, exc) from exc


# what a full disk, a file-size limit or a failing device raise inside SQLite or the OS (FAISS's
# write failures are turned into OSError where it writes: any other RuntimeError is a bug, not a disk)
WRITE_ERRORS = (OSError, sqlite3.Error)


def _write_index(index, path: Path) -> None:
    """FAISS writes a file; its I/O failures (a full disk) surface as RuntimeError: say OSError."""
    try:
        _faiss().write_index(index, str(path))
    except RuntimeError as exc:
        raise OSError(f"writing {path.name}: {str(exc).strip().splitlines()[-1]}") from exc
# what reading a damaged database raises (a file overwritten in place): the edges say "rebuild"
CORRUPTION_ERRORS = sqlite3.DatabaseError



def _write_error(index_dir: Path, exc: BaseException) -> IndexError_:
    reason = str(exc).strip() or type(exc).__name__
    return IndexError_(f"could not write the index at {index_dir} ({reason}); the previous index is unchanged")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
