"""The index's tables: SQLite (transcripts, passages, word counts, speakers, repeats).

    INDEX/onrecord.sqlite            one database for all generations (versions.py)
    gen-N/onrecord.sqlite            an index written before that: a database per generation
    (in memory, attached: recent)    the rows of the generation's small writes (rowlog.py), read
                                     beside the database through views over both (`Tables._each`)

The only module that writes SQL besides versions.py. Reads return the store contract's records.
Lexical search is Tantivy's (lexical.py); an index written before that kept an FTS5 table, read
here until its next write replaces it. An index of either older kind is read as it is and moved
to the shared database at its next write.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import numpy as np

from ..errors import IndexError_, NotFound
from ..models import SPOKESPERSON, Exchange, Occasion, Passage, RepeatPair, Transcript, TranscriptInfo, Turn
from ..registry import Speaker, is_generic
from ..terms import terms_of
from . import rowlog, versions
from .contract import ANSWER, Filters, PassageRecord

DB = "onrecord.sqlite"
CACHE_KB = 131072  # a writer's page cache: a replay of RECENT_MAX recent passages' rows and their pages

# An index written before the lexical index (lexical.py) searched this FTS5 table; its next write
# drops it. The answer side of a passage (the speaker is a ranking feature of its own) and the question side
COLUMNS = {ANSWER: "{text topic}", "question": "{asked}"}
BM25 = {ANSWER: "bm25(passages_fts, 1.0, 0.0, 0.0, 1.0)", "question": "bm25(passages_fts, 0.0, 1.0, 0.0, 0.0)"}
# what reading a damaged database raises (a file overwritten in place): the edges say "rebuild"
CORRUPTION_ERRORS = sqlite3.DatabaseError
# what a full disk, a file-size limit or a failing device raise inside SQLite or the OS
WRITE_ERRORS = (OSError, sqlite3.Error)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_INFO = "t.id, t.title, t.date, t.source_url, t.file, t.organisation"
_PASSAGE = ("p.id, p.transcript_id, p.turn_index, p.start, p.end, p.speaker, p.role, p.label, p.asked, p.asked_by, "
            "p.topic, p.text, t.title, t.date, t.source_url, t.file, t.organisation")
TRANSCRIPT_COLUMNS = "id, title, date, source_url, file, organisation, speakers, text, turns, exchanges, added, cues"


def fts_query(terms: tuple[str, ...], phrases: tuple[str, ...], columns: str | None = None) -> str | None:
    """An FTS5 MATCH expression: any content word; every quoted phrase; within `columns` (an FTS5
    column filter) when given. Input is quoted, never parsed."""
    words = [_CONTROL.sub("", t.replace('"', "")) for t in terms]
    any_word = " OR ".join(f'"{w}"' for w in words if w)
    must = " AND ".join('"' + _CONTROL.sub(" ", p.replace('"', "")) + '"' for p in phrases)
    expr = f"({must}) AND ({any_word})" if must and any_word else must or any_word or None
    return f"{columns} : ({expr})" if expr and columns else expr


def _record(r) -> PassageRecord:
    return PassageRecord(*r)


def _info(r) -> TranscriptInfo:
    return TranscriptInfo(id=r[0], title=r[1], date=r[2], source_url=r[3], file=r[4], organisation=r[5])


def _cues(value: str | None) -> tuple:
    return tuple((int(a), int(b), float(s), float(e)) for a, b, s, e in json.loads(value)) if value else ()


def transcript_to_row(t: Transcript) -> tuple:
    return (
        t.id, t.title, t.date, t.source_url, t.file, t.organisation, json.dumps(list(t.speakers)), t.text,
        json.dumps([asdict(x) for x in t.turns]), json.dumps([asdict(x) for x in t.exchanges]),
        time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), json.dumps([list(c) for c in t.cues]) if t.cues else None,
    )


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


def _marks(items) -> str:
    return ",".join("?" * len(items))


def shared(manifest: dict | None) -> bool:
    """Whether an index keeps one database for all its generations (versions.py)."""
    return bool(manifest) and manifest.get("tables") == DB


# A repeat the other way round: the row under the other occasion, its passage's end from passages
MIRROR = "r.other_id, r.other_start, r.transcript_id, r.start, p.end, r.similarity"
MIRROR_FROM = "FROM {r} r JOIN {p} p ON p.transcript_id = r.transcript_id AND p.start = r.start"


# The recent passages (recent.py), ids from a first one, as the lexical index takes them: (id, text,
# topic, asked, speaker, date, transcript id); `{p}`, `{t}`: the views to read (Tables._each)
RECENT = ("SELECT p.id, p.text, p.topic, p.asked, p.speaker, t.date, p.transcript_id FROM {p} p "
          "JOIN {t} t ON t.id = p.transcript_id WHERE p.id >= ?")


def whole_pages(db: sqlite3.Connection, path: Path) -> None:
    """A database file cut short, which SQLite would not notice while its log holds the pages it
    reads first: a file of whole pages, or DatabaseError. By its size only: opening the file
    here and closing it again would drop every lock this process's SQLite connections hold on it
    (POSIX locks belong to the process), and a writer elsewhere would then delete the log under them."""
    page = db.execute("PRAGMA page_size").fetchone()[0]
    if not page or os.stat(path).st_size % page:
        raise sqlite3.DatabaseError("the file is not whole pages of a SQLite database")


class Tables:
    """One generation's view of the database, read-only.

    Raises (on open):
        IndexError_: the file is missing or corrupt.
    """

    def __init__(self, index_dir: Path, manifest: dict, recent: list[dict] = ()):
        """`recent`: the records of the generation's small writes (rowlog.py), read into memory
        beside the database."""
        path = Path(index_dir) / DB if shared(manifest) else Path(index_dir) / manifest["data"] / DB
        if not path.is_file():
            raise IndexError_(f"index file {path} is missing: rebuild the index with 'onrecord ingest'")
        self.aggregates: versions.Aggregates | None = None
        self.recent_tids: set[str] = set()  # transcripts of the recent passages (set by the store)
        try:
            self.db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
            self.db.row_factory = sqlite3.Row
            whole_pages(self.db, path)
            self.schemas: tuple[str, ...] = ("main",)
            self.in_memory: set[str] = set()  # the transcripts whose rows are in the attached database
            if shared(manifest) and recent:
                self.db.execute("ATTACH ':memory:' AS recent")
                self.db.executescript(versions.schema_in("recent"))
                # (in memory an index costs no write: a recent transcript's repeats turned round by it)
                self.db.execute("CREATE INDEX recent.repeats_other ON repeats(other_id)")
                rowlog.replay(self.db, "recent", list(recent), manifest["recent"]["from"])
                self.schemas = ("main", "recent")
                self.in_memory = {r[0] for r in self.db.execute("SELECT id FROM recent.transcripts")}
            if shared(manifest):
                versions.create_views(self.db, manifest["generation"], self.schemas)
                self.aggregates = versions.Aggregates(self.db, manifest["generation"], versions.bases_of(manifest),
                                                      versions.folded_at(manifest), rowlog.patches(list(recent)))
                self.n_passages = int(manifest.get("passages", 0))
            else:
                self.n_passages = self.db.execute("SELECT count(*) FROM passages").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            if hasattr(self, "db"):
                self.db.close()
            raise IndexError_(f"index file {path} is corrupt ({exc}): rebuild the index with 'onrecord ingest'") from None
        self.has_cues = "cues" in {r[1] for r in self.db.execute("PRAGMA table_info(transcripts)")}

    def close(self) -> None:
        self.db.close()

    def recent_rows(self, first: int) -> list[tuple]:
        sql, args = self._each(RECENT, [first])
        return self.db.execute(f"SELECT * FROM ({sql}) ORDER BY id", args).fetchall()

    def _where(self, f: Filters) -> tuple[str, list]:
        where, args = [], []
        if f.speaker:
            where.append("p.speaker LIKE ? ESCAPE '\\'")
            args.append("%" + f.speaker.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%")
        if f.since:
            where.append("t.date >= ?")
            args.append(f.since)
        if f.until:
            where.append("t.date <= ?")
            args.append(f.until)
        if f.transcript:
            where.append("p.transcript_id = ?")
            args.append(f.transcript)
        return " AND ".join(where), args

    def _each(self, sql: str, args: list | tuple = ()) -> tuple[str, list]:
        """One query over the views of each database (`{p}`, `{t}`, `{r}`: its passages, transcripts,
        repeats), joined by UNION ALL, and the arguments for it: SQLite plans a join of two views
        that are each a UNION ALL as a scan; a passage and its transcript are in the same database."""
        if self.schemas == ("main",):
            return sql.format(p="passages", t="transcripts", r="repeats"), list(args)
        arms = [sql.format(p=f"passages_{s}", t=f"transcripts_{s}", r=f"repeats_{s}") for s in self.schemas]
        return " UNION ALL ".join(arms), list(args) * len(arms)

    def allowed_ids(self, f: Filters) -> np.ndarray | None:
        """The ids within the filters (None: no filters)."""
        where, args = self._where(f)
        if not where:
            return None
        rows = self.db.execute(*self._each(f"SELECT p.id FROM {{p}} p JOIN {{t}} t ON t.id = p.transcript_id WHERE {where}",
                                           args))
        return np.fromiter((r[0] for r in rows), dtype=np.int64)

    def speaker_ids(self, name: str) -> np.ndarray:
        """The ids of the passages attributed to exactly this name (an index look-up, where the
        filter's part-of-a-name match scans every passage)."""
        rows = self.db.execute("SELECT id FROM passages WHERE speaker = ?", (name,))
        return np.fromiter((r[0] for r in rows), dtype=np.int64)

    def lexical(self, terms: tuple[str, ...], phrases: tuple[str, ...], f: Filters, n: int,
                side: str) -> list[tuple[int, float]]:
        match = fts_query(terms, phrases, COLUMNS[side])
        if not match:
            return []
        where, args = self._where(f)
        if not where:  # no join: the full-text index alone is several times faster
            sql = f"SELECT rowid, {BM25[side]} AS s FROM passages_fts WHERE passages_fts MATCH ? ORDER BY s LIMIT ?"
            return [(r[0], -r[1]) for r in self.db.execute(sql, [match, n])]
        sql = (f"SELECT p.id, {BM25[side]} AS s FROM passages_fts f JOIN passages p ON p.id = f.rowid "
               f"JOIN transcripts t ON t.id = p.transcript_id WHERE passages_fts MATCH ? AND {where} ORDER BY s LIMIT ?")
        return [(r[0], -r[1]) for r in self.db.execute(sql, [match, *args, n])]

    def document_frequency(self, terms: list[str]) -> dict[str, int]:
        if self.aggregates is not None:
            return self.aggregates.document_frequency(terms)
        if not terms:
            return {}
        return dict(self.db.execute(f"SELECT term, df FROM terms WHERE term IN ({_marks(terms)})", terms).fetchall())

    def passages(self, ids: list[int]) -> dict[int, PassageRecord]:
        if not ids:
            return {}
        rows = self.db.execute(*self._each(f"SELECT {_PASSAGE} FROM {{p}} p JOIN {{t}} t ON t.id = p.transcript_id "
                                           f"WHERE p.id IN ({_marks(ids)})", ids))
        return {r[0]: _record(r) for r in rows}

    def turn_shapes(self, turns: set[tuple[str, int]]) -> dict[tuple[str, int], tuple[int, int]]:
        def table(tid: str) -> str:  # the one database that holds the turn
            return "passages" if len(self.schemas) == 1 else f"passages_{'recent' if tid in self.in_memory else 'main'}"
        sql = "SELECT min(start), count(*) FROM {} WHERE transcript_id=? AND turn_index=?"
        return {key: tuple(self.db.execute(sql.format(table(key[0])), key).fetchone()) for key in turns}  # (index)

    def _passages_where(self, where: str, args: tuple) -> list[PassageRecord]:
        sql, args = self._each(f"SELECT {_PASSAGE} FROM {{p}} p JOIN {{t}} t ON t.id = p.transcript_id WHERE {where}", args)
        rows = self.db.execute(f"SELECT * FROM ({sql}) ORDER BY turn_index, start", args)
        return [_record(r) for r in rows]

    def turn_passages(self, tid: str, turn_index: int) -> list[PassageRecord]:
        return self._passages_where("p.transcript_id=? AND p.turn_index=?", (tid, turn_index))

    def exchange_passages(self, tid: str, asked: str) -> list[PassageRecord]:
        return self._passages_where("p.transcript_id=? AND p.asked=?", (tid, asked))

    def iter_records(self) -> Iterator[PassageRecord]:
        sql, args = self._each(f"SELECT {_PASSAGE} FROM {{p}} p JOIN {{t}} t ON t.id = p.transcript_id")
        for r in self.db.execute(f"SELECT * FROM ({sql}) ORDER BY id", args):
            yield _record(r)

    def transcripts(self, limit: int | None, offset: int) -> list[TranscriptInfo]:
        sql, args = self._each(f"SELECT {_INFO} FROM {{t}} t")
        rows = self.db.execute(f"SELECT * FROM ({sql}) ORDER BY date, file LIMIT ? OFFSET ?",
                               (*args, -1 if limit is None else limit, offset))
        return [_info(r) for r in rows]

    def transcript_info(self, tid: str) -> TranscriptInfo:
        row = self.db.execute(f"SELECT {_INFO} FROM transcripts t WHERE t.id=?", (tid,)).fetchone()
        if row is None:
            raise NotFound(f"no transcript with id '{tid}'")
        return _info(row)

    def transcript(self, tid: str) -> Transcript:
        row = self.db.execute("SELECT * FROM transcripts WHERE id=?", (tid,)).fetchone()
        if row is None:
            raise NotFound(f"no transcript with id '{tid}'")
        return transcript_from_row(row)

    def text_span(self, tid: str, start: int, end: int) -> str:
        row = self.db.execute("SELECT substr(text, ?, ?) FROM transcripts WHERE id=?", (start + 1, end - start, tid)).fetchone()
        if row is None:
            raise NotFound(f"no transcript with id '{tid}'")
        return row[0]

    def cues_of(self, tids: list[str]) -> dict[str, tuple]:
        tids = list(dict.fromkeys(tids))
        if not tids or not self.has_cues:
            return {}
        rows = self.db.execute(f"SELECT id, cues FROM transcripts WHERE id IN ({_marks(tids)}) AND cues IS NOT NULL", tids)
        return {r[0]: _cues(r[1]) for r in rows}

    def speaker_names(self) -> list[str] | None:
        if self.aggregates is not None:
            return [r[0] for r in self.aggregates.speakers()]
        try:
            return [r[0] for r in self.db.execute("SELECT name FROM speakers")]
        except sqlite3.OperationalError:
            return None

    def passage_speakers(self) -> list[str]:
        """Every distinct name a passage is attributed to (for filters outside SQL)."""
        return [r[0] for r in self.db.execute("SELECT DISTINCT speaker FROM passages")]

    def speaker_transcripts(self, speaker: str) -> set[str]:
        where, args = self._where(Filters(speaker=speaker))
        return {r[0] for r in self.db.execute(f"SELECT DISTINCT p.transcript_id FROM passages p WHERE {where}", args)}

    def speaker_registry(self, manifest: dict) -> list[Speaker]:
        try:
            rows = self.aggregates.speakers() if self.aggregates is not None else self.db.execute(
                "SELECT name, passages, transcripts, aliases FROM speakers ORDER BY passages DESC, name").fetchall()
            found = [Speaker(r[0], tuple(a for a in json.loads(r[3] or "[]") if a), SPOKESPERSON, r[2], r[1]) for r in rows]
        except sqlite3.OperationalError:  # an index written before the registry: names and counts only
            try:
                found = [Speaker(r[0], (), SPOKESPERSON, 0, r[1]) for r in self.db.execute(
                    "SELECT name, passages FROM speakers ORDER BY passages DESC, name")]
            except sqlite3.OperationalError:  # before the speakers table: the manifest kept them
                found = [Speaker(str(x[0]), (), SPOKESPERSON, 0, int(x[1])) for x in manifest.get("speakers", [])
                         if isinstance(x, list) and len(x) == 2 and isinstance(x[1], int)]
        return [s for s in found if not is_generic(s.name)]

    def asked_questions(self, limit: int) -> list[tuple[str, str]]:
        sql, args = self._each("SELECT p.transcript_id, p.asked, t.date, p.id FROM {p} p JOIN {t} t "
                               "ON t.id = p.transcript_id WHERE p.asked IS NOT NULL")
        rows = self.db.execute(f"SELECT * FROM ({sql}) ORDER BY date DESC, id LIMIT ?", (*args, limit))
        return [(r[0], r[1]) for r in rows]

    def repeats(self, keys: list[tuple[str, int]]) -> dict[tuple[str, int], list[tuple[Occasion, float]]]:
        wanted = set(keys)
        tids = list({k[0] for k in wanted})
        if not tids:
            return {}
        try:
            rows = self.db.execute(f"SELECT transcript_id, start, other_id, other_start, other_end, similarity FROM repeats "
                                   f"WHERE transcript_id IN ({_marks(tids)})", tids).fetchall()
            if self.recent_tids:  # a recent transcript's repeats are stored its way only: turned round here
                recent = list(self.recent_tids)
                rows += self.db.execute(*self._each(
                    f"SELECT {MIRROR} {MIRROR_FROM} WHERE r.other_id IN ({_marks(tids)}) "
                    f"AND r.transcript_id IN ({_marks(recent)})", tids + recent)).fetchall()
        except sqlite3.OperationalError:  # an index written before repeats were found
            return {}
        out: dict[tuple[str, int], list[tuple[Occasion, float]]] = {}
        for r in dict.fromkeys(tuple(r) for r in rows):  # (stored both ways within one write: once)
            if (r[0], r[1]) in wanted:
                out.setdefault((r[0], r[1]), []).append((Occasion(r[2], r[3], r[4]), r[5]))
        return out


class TablesWriter:
    """A new generation's rows, written into the shared database in one transaction (versions.py);
    `finish` commits it, and only then may the generation be published. A write that stays small
    (local.py) ends with `finish_recent` instead: its changes as a record of the rows file
    (rowlog.py), the transaction rolled back.

    An index written before the shared database is moved to it first: its database copied (once),
    its tables given generation columns.
    """

    def __init__(self, index_dir: Path, manifest: dict | None, generation: int):
        path = Path(index_dir) / DB
        self.generation = generation
        published = manifest["generation"] if manifest else 0
        self.bases, self.folded = versions.bases_of(manifest), versions.folded_at(manifest)
        self.n_t = int((manifest or {}).get("transcripts", 0))
        self.n_p = int((manifest or {}).get("passages", 0))
        self.had_fts = False
        if not shared(manifest):
            for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
                stale.unlink(missing_ok=True)  # a first write that never published, or a copy from an earlier move
        if manifest and not shared(manifest):
            self.had_fts = self._move(Path(index_dir) / manifest["data"] / DB, path)
            self.bases, self.folded = dict(versions.DEFAULT_BASES), 0
        self.db = sqlite3.connect(path, isolation_level=None)
        try:
            self.db.row_factory = sqlite3.Row
            self.db.execute("PRAGMA journal_mode=WAL")  # readers read while the writer writes
            self.db.execute("PRAGMA synchronous=FULL")  # committed means on disk: the manifest may then name it
            # the recent rows replayed into this transaction (take_recent) stay in memory: a write that
            # stays small rolls them back, and pages spilled to the log on the way would be written for nothing
            self.db.execute(f"PRAGMA cache_size={-CACHE_KB}")
            self.db.execute("PRAGMA temp_store=MEMORY")  # and the savepoint's journal of them (a temporary file)
            self.db.executescript(versions.SHARED_SCHEMA)
            self.db.execute("DROP INDEX IF EXISTS main.repeats_other")  # an index from before: versions.repeat_rows
            # one transaction, all or none: what a killed writer left taken back, what no reader can
            # see deleted, then this generation's rows (one commit: a page they share written once)
            self.db.execute("BEGIN IMMEDIATE")
            state = self._state()
            versions.recover(self.db, published)
            versions.purge(self.db, published, self.bases, self.folded)
            self._cleared = self._state() != state  # what a write that stays small keeps
            self.db.execute("SAVEPOINT rows")
            versions.create_views(self.db, generation)
            self.aggregates = versions.Aggregates(self.db, published, self.bases, self.folded)
        except BaseException:
            self.db.close()  # a failed start (a full disk) must not keep the database locked
            raise
        self._deltas: dict[str, int] = {}
        self._touched: set[str] = set()
        self._added: list[str] = []
        self._removed: list[str] = []
        self._repeats: set[tuple] = set()
        self.recent_from = 1 << 62  # the first recent passage's id (set by the store's writer)
        self.fold = False  # `onrecord compact`: new base tables for the word counts and the registry
        self.published = published
        self._replayed: list[dict] = []  # the recent generations' records (rowlog.py), in this transaction
        self.in_rows: set[str] = set()  # the transcripts those records added
        self.recent_written = 0  # and how many passages, removed since or not

    def in_database(self, tid: str) -> bool:
        """Whether a transcript's rows are in the database, where a write that stays small changes
        nothing (not added by the recent generations' records, nor by this write)."""
        return tid not in self.in_rows and tid not in self._added

    def take_recent(self, records: list[dict]) -> None:
        """The recent generations' rows (rowlog.py) into this transaction, so that this write sees
        the index whole, as if every small write had gone to the database."""
        if records:
            rowlog.replay(self.db, "main", records, self.recent_from)
            self._replayed = records
            self.in_rows = {r[0] for rec in records for r in rec["rows"]["transcripts"]}
            self.recent_written = sum(len(rec["rows"]["passages"]) for rec in records)
            self.aggregates = versions.Aggregates(self.db, self.published, self.bases, self.folded)

    def _state(self) -> tuple[int, int]:
        """What tells a change in this transaction: rows changed, and the schema (a table dropped)."""
        return self.db.total_changes, self.db.execute("PRAGMA schema_version").fetchone()[0]

    @staticmethod
    def _move(old: Path, path: Path) -> bool:
        """Copy a database of one generation and give it generation columns; whether it had FTS5."""
        tmp = Path(f"{path}.moving")
        tmp.unlink(missing_ok=True)
        shutil.copyfile(old, tmp)
        db = sqlite3.connect(tmp)
        try:
            had_fts = db.execute("SELECT 1 FROM sqlite_master WHERE name='passages_fts'").fetchone() is not None
            if had_fts:  # an index from before the lexical index: that replaces it (see LocalWriter)
                db.execute("DROP TABLE passages_fts")
            if "cues" not in {r[1] for r in db.execute("PRAGMA table_info(transcripts)")}:
                db.execute("ALTER TABLE transcripts ADD COLUMN cues TEXT")
            versions.migrate(db)
            db.commit()
        finally:
            db.close()
        os.replace(tmp, path)
        return had_fts

    def next_id(self) -> int:
        """The id the next passage will get (ids are never reused)."""
        row = self.db.execute("SELECT seq FROM main.sqlite_sequence WHERE name='passages'").fetchone()
        return (row[0] if row else 0) + 1

    def recent_rows(self, first: int) -> list[tuple]:
        """The recent passages this generation holds."""
        return self.db.execute(RECENT.format(p="passages", t="transcripts") + " ORDER BY p.id", (first,)).fetchall()

    def recent_count(self, first: int) -> int:
        """How many passages from id `first` this generation holds."""
        return self.db.execute("SELECT count(*) FROM passages WHERE id >= ?", (first,)).fetchone()[0]

    def lexical_rows(self) -> Iterator[tuple]:
        """Every passage as the lexical index takes it: (id, text, topic, asked, speaker, date, transcript id)."""
        yield from self.db.execute("SELECT p.id, p.text, p.topic, p.asked, p.speaker, t.date, p.transcript_id "
                                   "FROM passages p JOIN transcripts t ON t.id = p.transcript_id ORDER BY p.id")

    def known_speakers(self) -> list[str]:
        return [r[0] for r in self.aggregates.speakers()]

    def same_occasion(self, t: Transcript) -> str | None:
        if not t.date:
            return None
        row = self.db.execute("SELECT id FROM transcripts WHERE title=? AND date=? AND id!=? LIMIT 1",
                              (t.title, t.date, t.id)).fetchone()
        return row[0] if row else None

    def has(self, tid: str) -> bool:
        return self.db.execute("SELECT 1 FROM transcripts WHERE id=?", (tid,)).fetchone() is not None

    def add(self, transcript: Transcript, passages: list[Passage]) -> np.ndarray:
        """The transcript's rows; the new passages' ids (their vectors go to the vector files only)."""
        g = self.generation
        self.db.execute(f"INSERT INTO main.transcripts ({TRANSCRIPT_COLUMNS}, added_gen) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                        (*transcript_to_row(transcript), g))
        ids = []
        for p in passages:
            cur = self.db.execute(
                "INSERT INTO main.passages (transcript_id, turn_index, start, end, speaker, role, label, asked, asked_by, "
                "topic, text, vector, added_gen) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (p.transcript_id, p.turn_index, p.span[0], p.span[1], p.speaker, p.role, p.label, p.asked, p.asked_by,
                 p.topic, p.text, b"", g),
            )
            ids.append(cur.lastrowid)
        self._count_terms(passages, +1)
        self._touched.update(p.speaker for p in passages if p.role == SPOKESPERSON)
        self._added.append(transcript.id)
        self.n_t, self.n_p = self.n_t + 1, self.n_p + len(passages)
        return np.asarray(ids, dtype=np.int64)

    def _count_terms(self, passages, sign: int) -> None:
        for p in passages:
            for t in set(terms_of(" ".join(x or "" for x in (p.text, p.asked, p.speaker, p.topic)))):
                self._deltas[t] = self._deltas.get(t, 0) + sign

    def remove(self, tid: str) -> np.ndarray:
        """Take a transcript's rows out of this generation (tables, word counts, repeats); the removed
        passages' ids. Rows an earlier generation added stay for its readers, marked removed."""
        if not self.has(tid):
            raise NotFound(f"no transcript with id '{tid}'")
        rows = self.db.execute("SELECT id, text, asked, speaker, topic, role FROM passages WHERE transcript_id=?",
                               (tid,)).fetchall()
        self._count_terms([Passage(transcript_id=tid, turn_index=0, span=(0, 0), text=r["text"], speaker=r["speaker"],
                                   role="", asked=r["asked"], topic=r["topic"]) for r in rows], -1)
        self._touched.update(r["speaker"] for r in rows if r["role"] == SPOKESPERSON)
        versions.remove_rows(self.db, tid, self.generation, self.recent_from)
        self._repeats = {r for r in self._repeats if tid not in (r[0], r[2])}
        self._removed.append(tid)
        self.n_t, self.n_p = self.n_t - 1, self.n_p - len(rows)
        return np.asarray([r["id"] for r in rows], dtype=np.int64)

    def add_repeats(self, pairs: list[RepeatPair]) -> None:
        """Each occasion lists the other. A repeat is stored under the occasions this write adds;
        under one written before (a row on a page of that transcript's, one page for each
        transcript repeated) only when this write goes to the files (`mirror`): until then
        readers turn the row round (Tables.repeats)."""
        mine = set(self._added)
        rows = []
        for p in pairs:
            ways = [(a, b) for a, b in ((p.a, p.b), (p.b, p.a)) if a.transcript_id in mine] or [(p.a, p.b), (p.b, p.a)]
            for a, b in ways:
                key = (a.transcript_id, a.start, b.transcript_id, b.start)
                if key not in self._repeats:
                    self._repeats.add(key)
                    rows.append((*key, b.end, p.similarity, self.generation))
        self.db.executemany("INSERT INTO main.repeats (transcript_id, start, other_id, other_start, other_end, "
                            "similarity, added_gen) VALUES (?,?,?,?,?,?,?)", rows)

    def mirror(self, first: int) -> None:
        """Store the other way round the repeats of the transcripts from passage id `first` on
        (the recent ones and this write's) that are stored one way."""
        self.db.execute(
            f"INSERT INTO main.repeats (transcript_id, start, other_id, other_start, other_end, similarity, added_gen) "
            f"SELECT {MIRROR}, ? {MIRROR_FROM.format(r='repeats', p='passages')} WHERE r.transcript_id IN (SELECT DISTINCT transcript_id FROM passages "
            "WHERE id >= ?) AND NOT EXISTS (SELECT 1 FROM repeats m WHERE m.transcript_id = r.other_id "
            "AND m.start = r.other_start AND m.other_id = r.transcript_id AND m.other_start = r.start)",
            (self.generation, first))

    def finish(self) -> tuple[int, int]:
        """This generation's patches (word counts, the registry's changed speakers), then commit;
        the numbers of transcripts and passages it holds. The recent generations' rows replayed
        here become this generation's own."""
        if self._replayed:
            self._own_recent()
        self._patches()
        g = self.generation
        if self.fold or self._pending() > versions.MAX_PATCHES:
            self.bases = versions.fold(self.db, versions.Aggregates(self.db, g, self.bases, self.folded), g)
            self.folded = g
        self.db.execute("COMMIT")
        self.db.close()
        return self.n_t, self.n_p

    def _pending(self) -> int:
        """How many generations' patches wait for a fold."""
        return self.db.execute("SELECT count(*) FROM main.patches WHERE gen > ? AND kind='terms'",
                               (self.folded,)).fetchone()[0]

    def needs_fold(self) -> bool:
        """Whether this write must fold the patches into new base tables (then it writes files)."""
        return self.fold or self._pending() + 1 > versions.MAX_PATCHES

    def finish_recent(self) -> tuple[dict, int, int]:
        """Leave this generation's rows out of the database: its changes as a record to append
        (rowlog.py), the database rolled back to before them (what recovery and purge did is
        committed); the record and the numbers of transcripts and passages it holds."""
        self._patches()
        record = rowlog.changes(self.db, self.generation, self._added, self._removed)
        if self._cleared:
            self.db.execute("ROLLBACK TO rows")
            self.db.execute("RELEASE rows")
            self.db.execute("COMMIT")
        else:
            self.db.execute("ROLLBACK")  # not a page written
        self.db.close()
        return record, self.n_t, self.n_p

    def _own_recent(self) -> None:
        """Make the replayed rows this generation's: tagged with it (the last generation's readers
        read them from the rows file, and would otherwise see them twice once this commits), those
        the recent generations removed deleted (only their readers saw them), their patches and
        lines in the generations table merged into this generation's."""
        g = self.generation
        tids = sorted(self.in_rows)
        gens = [rec["gen"] for rec in self._replayed]
        self.db.execute("CREATE TEMP TABLE IF NOT EXISTS recent_tids (id TEXT PRIMARY KEY)")
        self.db.executemany("INSERT OR IGNORE INTO temp.recent_tids VALUES (?)", [(t,) for t in tids])
        for table, column in (("transcripts", "id"), ("passages", "transcript_id"), ("repeats", "transcript_id")):
            mine = f"{column} IN (SELECT id FROM temp.recent_tids) AND added_gen < ?"
            self.db.execute(f"DELETE FROM main.{table} WHERE {mine} AND removed_gen < ?", (g, g))
            self.db.execute(f"UPDATE main.{table} SET added_gen=? WHERE {mine}", (g, g))
        for kind, body in self.db.execute(f"SELECT kind, body FROM main.patches WHERE gen IN ({_marks(gens)})",
                                          gens).fetchall():
            patch = versions.read_patch(body)
            if kind == "terms":
                for t, n in patch.items():
                    self._deltas[t] = self._deltas.get(t, 0) + n
            else:
                self._touched.update(patch)
        self.db.execute(f"DELETE FROM main.patches WHERE gen IN ({_marks(gens)})", gens)
        self.db.execute(f"DELETE FROM main.generations WHERE gen IN ({_marks(gens)})", gens)
        self._added = [t for t in tids if t not in self._added] + self._added
        self._replayed = []

    def _patches(self) -> None:
        """This generation's patches (word counts, the registry's changed speakers) and its line in
        the generations table."""
        g = self.generation
        speakers = {}
        for name in sorted(self._touched):
            n, n_t, aliases = self.db.execute(
                "SELECT count(*), count(DISTINCT transcript_id), json_group_array(DISTINCT label) FROM passages "
                "WHERE speaker=? AND role='spokesperson'", (name,)).fetchone()
            speakers[name] = [n, n_t, aliases] if n else None
        deltas = {t: n for t, n in self._deltas.items() if n}
        self.db.executemany("INSERT OR REPLACE INTO main.patches VALUES (?, ?, ?)",
                            [(g, "terms", versions.patch_body(deltas)), (g, "speakers", versions.patch_body(speakers))])
        self.db.execute("INSERT OR REPLACE INTO main.generations (gen, added, removed) VALUES (?, ?, ?)",
                        (g, json.dumps(self._added), json.dumps(self._removed)))

    def close(self) -> None:
        """Leave without committing: this generation's rows are rolled back."""
        try:
            self.db.close()
        except Exception:
            pass
