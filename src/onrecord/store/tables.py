"""A generation's tables: SQLite (transcripts, passages, word counts, speakers, repeats).

    gen-N/onrecord.sqlite

The only module that writes SQL. Reads return the store contract's records. Lexical search is
Tantivy's (lexical.py); an index written before that kept an FTS5 table, read here until its
next write replaces it.
"""

from __future__ import annotations

import json
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
from .contract import ANSWER, Filters, PassageRecord

DB = "onrecord.sqlite"

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
CREATE TABLE IF NOT EXISTS repeats (
    transcript_id TEXT NOT NULL, start INTEGER NOT NULL, other_id TEXT NOT NULL, other_start INTEGER NOT NULL,
    other_end INTEGER NOT NULL, similarity REAL NOT NULL, PRIMARY KEY (transcript_id, start, other_id, other_start)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS repeats_other ON repeats(other_id);
"""
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


class Tables:
    """A generation's database, read-only.

    Raises (on open):
        IndexError_: the file is missing or corrupt.
    """

    def __init__(self, data: Path):
        path = data / DB
        if not path.is_file():
            raise IndexError_(f"index file {path} is missing: rebuild the index with 'onrecord ingest'")
        try:
            self.db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
            self.db.row_factory = sqlite3.Row
            self.n_passages = self.db.execute("SELECT count(*) FROM passages").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise IndexError_(f"index file {path} is corrupt ({exc}): rebuild the index with 'onrecord ingest'") from None
        self.has_cues = "cues" in {r[1] for r in self.db.execute("PRAGMA table_info(transcripts)")}

    def close(self) -> None:
        self.db.close()

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

    def allowed_ids(self, f: Filters) -> np.ndarray | None:
        """The ids within the filters (None: no filters)."""
        where, args = self._where(f)
        if not where:
            return None
        rows = self.db.execute(f"SELECT p.id FROM passages p JOIN transcripts t ON t.id = p.transcript_id WHERE {where}", args)
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
        if not terms:
            return {}
        return dict(self.db.execute(f"SELECT term, df FROM terms WHERE term IN ({_marks(terms)})", terms).fetchall())

    def passages(self, ids: list[int]) -> dict[int, PassageRecord]:
        if not ids:
            return {}
        rows = self.db.execute(f"SELECT {_PASSAGE} FROM passages p JOIN transcripts t ON t.id = p.transcript_id "
                               f"WHERE p.id IN ({_marks(ids)})", ids)
        return {r[0]: _record(r) for r in rows}

    def vectors_of(self, ids: list[int]) -> dict[int, np.ndarray]:
        if not ids:
            return {}
        rows = self.db.execute(f"SELECT id, vector FROM passages WHERE id IN ({_marks(ids)})", ids)
        return {r[0]: np.frombuffer(r[1], dtype=np.float32) for r in rows}

    def turn_shapes(self, turns: set[tuple[str, int]]) -> dict[tuple[str, int], tuple[int, int]]:
        sql = "SELECT min(start), count(*) FROM passages WHERE transcript_id=? AND turn_index=?"
        return {key: tuple(self.db.execute(sql, key).fetchone()) for key in turns}  # one look-up per turn (index)

    def _passages_where(self, where: str, args: tuple) -> list[PassageRecord]:
        rows = self.db.execute(f"SELECT {_PASSAGE} FROM passages p JOIN transcripts t ON t.id = p.transcript_id "
                               f"WHERE {where} ORDER BY p.turn_index, p.start", args)
        return [_record(r) for r in rows]

    def turn_passages(self, tid: str, turn_index: int) -> list[PassageRecord]:
        return self._passages_where("p.transcript_id=? AND p.turn_index=?", (tid, turn_index))

    def exchange_passages(self, tid: str, asked: str) -> list[PassageRecord]:
        return self._passages_where("p.transcript_id=? AND p.asked=?", (tid, asked))

    def iter_passages(self) -> Iterator[tuple[PassageRecord, np.ndarray]]:
        rows = self.db.execute(f"SELECT {_PASSAGE}, p.vector FROM passages p JOIN transcripts t "
                               "ON t.id = p.transcript_id ORDER BY p.id")
        for r in rows:
            yield _record(tuple(r)[:-1]), np.frombuffer(r[-1], dtype=np.float32)

    def transcripts(self, limit: int | None, offset: int) -> list[TranscriptInfo]:
        rows = self.db.execute(f"SELECT {_INFO} FROM transcripts t ORDER BY t.date, t.file LIMIT ? OFFSET ?",
                               (-1 if limit is None else limit, offset))
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
            rows = self.db.execute(
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
        rows = self.db.execute(
            "SELECT p.transcript_id, p.asked FROM passages p JOIN transcripts t ON t.id = p.transcript_id "
            "WHERE p.asked IS NOT NULL ORDER BY t.date DESC, p.id LIMIT ?", (limit,))
        return [(r[0], r[1]) for r in rows]

    def repeats(self, keys: list[tuple[str, int]]) -> dict[tuple[str, int], list[tuple[Occasion, float]]]:
        wanted = set(keys)
        tids = list({k[0] for k in wanted})
        if not tids:
            return {}
        try:
            rows = self.db.execute(f"SELECT transcript_id, start, other_id, other_start, other_end, similarity FROM repeats "
                                   f"WHERE transcript_id IN ({_marks(tids)})", tids).fetchall()
        except sqlite3.OperationalError:  # an index written before repeats were found
            return {}
        out: dict[tuple[str, int], list[tuple[Occasion, float]]] = {}
        for r in rows:
            if (r[0], r[1]) in wanted:
                out.setdefault((r[0], r[1]), []).append((Occasion(r[2], r[3], r[4]), r[5]))
        return out


class TablesWriter:
    """A new generation's database: a copy of the previous one, changed in place, published whole."""

    def __init__(self, folder: Path, previous: Path | None):
        if previous is not None:
            # copy, then change the copy: a published generation is never written again. A file
            # copy (in the kernel) is 3x faster than SQLite's page-by-page backup (4.3 vs 13.6 s
            # at 1M passages), and safe: the lock keeps writers out and readers only read.
            shutil.copyfile(previous / DB, folder / DB)
        self.db = sqlite3.connect(folder / DB)
        self.db.row_factory = sqlite3.Row
        self.db.executescript(SCHEMA)  # IF NOT EXISTS: adds tables an older index lacks
        if "cues" not in {r[1] for r in self.db.execute("PRAGMA table_info(transcripts)")}:
            self.db.execute("ALTER TABLE transcripts ADD COLUMN cues TEXT")  # and columns
        self.db.execute("PRAGMA journal_mode=OFF")
        self.db.execute("PRAGMA synchronous=OFF")  # the folder is published only after a full write
        self.had_fts = self.db.execute("SELECT 1 FROM sqlite_master WHERE name='passages_fts'").fetchone() is not None
        if self.had_fts:  # an index from before the lexical index: that replaces it (see LocalWriter)
            self.db.execute("DROP TABLE passages_fts")

    def lexical_rows(self) -> Iterator[tuple]:
        """Every passage as the lexical index takes it: (id, text, topic, asked, speaker, date, transcript id)."""
        yield from self.db.execute("SELECT p.id, p.text, p.topic, p.asked, p.speaker, t.date, p.transcript_id "
                                   "FROM passages p JOIN transcripts t ON t.id = p.transcript_id ORDER BY p.id")

    def known_speakers(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT name FROM speakers")]

    def same_occasion(self, t: Transcript) -> str | None:
        if not t.date:
            return None
        row = self.db.execute("SELECT id FROM transcripts WHERE title=? AND date=? AND id!=? LIMIT 1",
                              (t.title, t.date, t.id)).fetchone()
        return row[0] if row else None

    def has(self, tid: str) -> bool:
        return self.db.execute("SELECT 1 FROM transcripts WHERE id=?", (tid,)).fetchone() is not None

    def add(self, transcript: Transcript, passages: list[Passage], vectors: np.ndarray) -> np.ndarray:
        """The transcript's rows; the new passages' ids."""
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
        self._count_terms(passages, +1)
        return np.asarray(ids, dtype=np.int64)

    def _count_terms(self, passages, sign: int) -> None:
        counts: dict[str, int] = {}
        for p in passages:
            for t in set(terms_of(" ".join(x or "" for x in (p.text, p.asked, p.speaker, p.topic)))):
                counts[t] = counts.get(t, 0) + 1
        self.db.executemany(
            "INSERT INTO terms VALUES (?, ?) ON CONFLICT(term) DO UPDATE SET df = df + excluded.df",
            [(t, sign * n) for t, n in counts.items()],
        )

    def remove(self, tid: str) -> np.ndarray:
        """Delete a transcript's rows (tables, word counts, repeats); the removed passages' ids."""
        if not self.has(tid):
            raise NotFound(f"no transcript with id '{tid}'")
        rows = self.db.execute("SELECT id, text, asked, speaker, topic FROM passages WHERE transcript_id=?", (tid,)).fetchall()
        self._count_terms([Passage(transcript_id=tid, turn_index=0, span=(0, 0), text=r["text"], speaker=r["speaker"],
                                   role="", asked=r["asked"], topic=r["topic"]) for r in rows], -1)
        self.db.execute("DELETE FROM passages WHERE transcript_id=?", (tid,))
        self.db.execute("DELETE FROM transcripts WHERE id=?", (tid,))
        self.db.execute("DELETE FROM repeats WHERE transcript_id=? OR other_id=?", (tid, tid))
        return np.asarray([r["id"] for r in rows], dtype=np.int64)

    def add_repeats(self, pairs: list[RepeatPair]) -> None:
        """Both ways: each occasion lists the other."""
        rows = []
        for p in pairs:
            rows.append((p.a.transcript_id, p.a.start, p.b.transcript_id, p.b.start, p.b.end, p.similarity))
            rows.append((p.b.transcript_id, p.b.start, p.a.transcript_id, p.a.start, p.a.end, p.similarity))
        self.db.executemany("INSERT OR REPLACE INTO repeats VALUES (?,?,?,?,?,?)", rows)

    def finish(self) -> tuple[int, int]:
        """Rebuild the speaker registry, write and close; the numbers of transcripts and passages."""
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
        return n_t, n_p

    def close(self) -> None:
        try:
            self.db.close()
        except Exception:
            pass
