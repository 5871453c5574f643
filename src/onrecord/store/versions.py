"""One database for every generation: rows tagged with the generation that added and removed them.

    INDEX/onrecord.sqlite (WAL)     transcripts, passages, repeats: added_gen, removed_gen
                                    patches: what each generation changed in the word counts and the
                                    speaker registry; generations: what each one added and removed

A reader of generation G sees, through TEMP views with the tables' own names, the rows with
added_gen <= G and no removed_gen <= G: what its generation held, whatever a writer has added since.
A writer adds rows tagged G+1 and tags removed rows G+1 in one transaction, commits it, and only
then publishes generation G+1 (manifest.py). A writer killed before the commit leaves nothing (SQLite
rolls the transaction back); one killed after it, before publishing, leaves rows that no reader
sees and that the next writer takes back (`recover`). Rows removed two generations ago, which no
current reader can see, are deleted by the next writer (`purge`).

A small write's generation is not in the database at all: its rows, patches and line are a record
of the rows file (rowlog.py), which readers read into memory beside the database and writers
replay into their transaction; the write that next goes to the files commits them as its own.

The word counts and the speaker registry are small aggregates read whole or by key: a base table
each (named in the manifest, rewritten by `fold` into a new table, never changed in place) and, per
generation since, a patch. `fold` runs when patches pile up and at `onrecord compact`.
"""

from __future__ import annotations

import json
import re
import sqlite3
import zlib

# The generation columns come first in a row, before any text: a row's later columns lie on its
# overflow pages when the row is long (a transcript's text), and every read tests these two.
# A passage's vector lives in the vector segments only (vectors.py): `vector` is written empty,
# and rows from before keep theirs unread (1.5 KB a passage: half the pages a write touched).
SHARED_SCHEMA = """
CREATE TABLE IF NOT EXISTS transcripts (
    row INTEGER PRIMARY KEY, id TEXT NOT NULL, added_gen INTEGER NOT NULL DEFAULT 0, removed_gen INTEGER,
    title TEXT NOT NULL, date TEXT, source_url TEXT, file TEXT NOT NULL,
    organisation TEXT, speakers TEXT NOT NULL, text TEXT NOT NULL, turns TEXT NOT NULL,
    exchanges TEXT NOT NULL, added TEXT NOT NULL, cues TEXT
);
CREATE INDEX IF NOT EXISTS transcripts_id ON transcripts(id);
CREATE TABLE IF NOT EXISTS passages (
    id INTEGER PRIMARY KEY AUTOINCREMENT, transcript_id TEXT NOT NULL,
    added_gen INTEGER NOT NULL DEFAULT 0, removed_gen INTEGER,
    turn_index INTEGER NOT NULL, start INTEGER NOT NULL, end INTEGER NOT NULL,
    speaker TEXT NOT NULL, role TEXT NOT NULL, label TEXT NOT NULL, asked TEXT, asked_by TEXT, topic TEXT,
    text TEXT NOT NULL, vector BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS passages_turn ON passages(transcript_id, turn_index);
CREATE INDEX IF NOT EXISTS passages_speaker ON passages(speaker);
CREATE TABLE IF NOT EXISTS repeats (
    transcript_id TEXT NOT NULL, added_gen INTEGER NOT NULL DEFAULT 0, removed_gen INTEGER, start INTEGER NOT NULL,
    other_id TEXT NOT NULL, other_start INTEGER NOT NULL, other_end INTEGER NOT NULL, similarity REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS repeats_id ON repeats(transcript_id);
CREATE TABLE IF NOT EXISTS terms (term TEXT PRIMARY KEY, df INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS speakers (
    name TEXT PRIMARY KEY, passages INTEGER NOT NULL, transcripts INTEGER NOT NULL DEFAULT 0, aliases TEXT
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS patches (
    gen INTEGER NOT NULL, kind TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (gen, kind)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS generations (
    gen INTEGER PRIMARY KEY, added TEXT NOT NULL, removed TEXT NOT NULL, purged INTEGER NOT NULL DEFAULT 0
);
"""
VERSIONED = ("transcripts", "passages", "repeats")
KINDS = ("terms", "speakers")  # the aggregates kept as base table + patches
DEFAULT_BASES = {"terms": "terms", "speakers": "speakers"}
MAX_PATCHES = 256  # a writer folds the patches into new base tables past this many generations of them
_BASE = re.compile(r"(terms|speakers)(?:_(\d{6}))?")


def visible(generation: int) -> str:
    return f"added_gen <= {int(generation)} AND (removed_gen IS NULL OR removed_gen > {int(generation)})"


# The versioned tables' columns in one order, for rows copied between databases (rowlog.py) and
# views over two: a table moved from an older index has its columns in another order
COLUMNS = {
    "transcripts": "id, added_gen, removed_gen, title, date, source_url, file, organisation, speakers, text, turns, "
                   "exchanges, added, cues",
    "passages": "id, transcript_id, added_gen, removed_gen, turn_index, start, end, speaker, role, label, asked, "
                "asked_by, topic, text, vector",
    "repeats": "transcript_id, added_gen, removed_gen, start, other_id, other_start, other_end, similarity",
}


def schema_in(schema: str) -> str:
    """The shared tables' schema for an attached database (rowlog.py: the recent rows in memory)."""
    sql = re.sub(r"CREATE TABLE IF NOT EXISTS (\w+)", rf"CREATE TABLE IF NOT EXISTS {schema}.\1", SHARED_SCHEMA)
    return re.sub(r"CREATE INDEX IF NOT EXISTS (\w+)", rf"CREATE INDEX IF NOT EXISTS {schema}.\1", sql)


def create_views(db: sqlite3.Connection, generation: int, schemas: tuple[str, ...] = ("main",)) -> None:
    """Make the versioned tables' own names show one generation, on this connection: of the main
    database, or of several (the recent rows, attached: rowlog.py), each also as `TABLE_SCHEMA`."""
    for table in VERSIONED:
        db.execute(f"DROP VIEW IF EXISTS temp.{table}")
        if schemas == ("main",):
            db.execute(f"CREATE TEMP VIEW {table} AS SELECT * FROM main.{table} WHERE {visible(generation)}")
            continue
        for schema in schemas:
            db.execute(f"DROP VIEW IF EXISTS temp.{table}_{schema}")
            db.execute(f"CREATE TEMP VIEW {table}_{schema} AS SELECT {COLUMNS[table]} FROM {schema}.{table} "
                       f"WHERE {visible(generation)}")
        db.execute(f"CREATE TEMP VIEW {table} AS " + " UNION ALL ".join(f"SELECT * FROM {table}_{s}" for s in schemas))


def bases_of(manifest: dict | None) -> dict[str, str]:
    bases = (manifest or {}).get("bases")
    if not isinstance(bases, dict) or set(bases) != set(KINDS) or not all(
            isinstance(v, str) and _BASE.fullmatch(v) and v.startswith(k) for k, v in bases.items()):
        return dict(DEFAULT_BASES)
    return dict(bases)


def folded_at(manifest: dict | None) -> int:
    value = (manifest or {}).get("folded", 0)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


class Aggregates:
    """The word counts and the speaker registry of one generation: a base table each and the patches
    of the generations after its fold, applied in order."""

    def __init__(self, db: sqlite3.Connection, generation: int, bases: dict[str, str], folded: int,
                 recent: list[tuple[int, str, dict]] = ()):
        self.db, self.bases = db, bases
        self.deltas: dict[str, int] = {}
        self.speaker_rows: dict[str, list | None] = {}  # name -> [passages, transcripts, aliases json] or None
        rows = db.execute("SELECT gen, kind, body FROM main.patches WHERE gen > ? AND gen <= ? ORDER BY gen",
                          (folded, generation)).fetchall()
        # the recent generations' patches (rowlog.py), after the database's: a generation's patch
        # is in one place, but a write that takes them to the database commits before it publishes
        mine = {(g, k) for g, k, _ in recent}
        patches = [(k, read_patch(b)) for g, k, b in rows if (g, k) not in mine] + [(k, p) for _, k, p in recent]
        for kind, patch in patches:
            if kind == "terms":
                for term, n in patch.items():
                    self.deltas[term] = self.deltas.get(term, 0) + n
            elif kind == "speakers":
                self.speaker_rows.update(patch)

    def document_frequency(self, terms: list[str]) -> dict[str, int]:
        if not terms:
            return {}
        marks = ",".join("?" * len(terms))
        out = dict(self.db.execute(f"SELECT term, df FROM main.{self.bases['terms']} WHERE term IN ({marks})", terms))
        for t in terms:
            if t in self.deltas:
                out[t] = out.get(t, 0) + self.deltas[t]
        return {t: n for t, n in out.items() if n > 0}

    def speakers(self) -> list[tuple[str, int, int, str | None]]:
        """(name, passages, transcripts, aliases json), most passages first."""
        rows = {r[0]: list(r[1:]) for r in self.db.execute(
            f"SELECT name, passages, transcripts, aliases FROM main.{self.bases['speakers']}")}
        for name, row in self.speaker_rows.items():
            if row is None:
                rows.pop(name, None)
            else:
                rows[name] = row
        return sorted(((n, *r) for n, r in rows.items()), key=lambda r: (-r[1], r[0]))


def patch_body(patch: dict) -> bytes:
    """A patch as stored: JSON, compressed (a transcript's word counts are ~1,000 words: 20 KB of
    JSON, five pages of every write, one compressed)."""
    return zlib.compress(json.dumps(patch, separators=(",", ":")).encode(), 6)


def read_patch(body: str | bytes) -> dict:
    return json.loads(zlib.decompress(body) if isinstance(body, bytes) else body)  # (text: before compression)


def transcript_rows(tid: str) -> list[tuple[str, str, tuple]]:
    """Where one transcript's rows are in the transcripts and passages tables: (table, condition,
    its arguments). Its repeats: `repeat_rows`; recovery and purge take repeats by generation."""
    return [("transcripts", "id=?", (tid,)), ("passages", "transcript_id=?", (tid,))]


def repeat_rows(tid: str, recent_from: int, schema: str = "main") -> list[tuple[str, str, tuple]]:
    """Where the repeats naming a transcript are, in the order to delete them. A repeat belongs to
    both its occasions: stored both ways, the rows naming it as the other occasion are found
    through its own rows' others (by transcript, the one index: an index by the other occasion
    would take a page for each occasion a new transcript repeats), so they come first, while its
    own rows still name them; stored one way under a recent transcript (passages from
    `recent_from` on: tables.py, `mirror`), they are found under those."""
    return [("repeats", f"other_id=? AND transcript_id IN (SELECT other_id FROM {schema}.repeats WHERE transcript_id=?)",
             (tid, tid)),
            ("repeats", f"other_id=? AND transcript_id IN (SELECT DISTINCT transcript_id FROM {schema}.passages "
                        "NOT INDEXED WHERE id >= ?)", (tid, recent_from)),  # (by id: not a scan of an index)
            ("repeats", "transcript_id=?", (tid,))]


def remove_rows(db: sqlite3.Connection, tid: str, generation: int, recent_from: int, schema: str = "main",
                replay: bool = False) -> None:
    """Take a transcript's rows and repeats out of a generation: those of earlier generations
    marked removed by it (their readers still see them), its own deleted. A recorded removal
    (rowlog.py) is replayed after the rows its generation kept, so it marks the earlier ones only
    (`replay`): the rows it recorded are those left after it, or added after it."""
    for table, where, args in [*transcript_rows(tid), *repeat_rows(tid, recent_from, schema)]:
        if not replay:
            db.execute(f"DELETE FROM {schema}.{table} WHERE {where} AND added_gen=?", (*args, generation))
        db.execute(f"UPDATE {schema}.{table} SET removed_gen=? WHERE {where} AND removed_gen IS NULL AND added_gen < ?",
                   (generation, *args, generation))


def recover(db: sqlite3.Connection, generation: int) -> None:
    """Take back what generations after the published one committed (a writer killed between its
    commit and its publishing): their rows, their removals, their patches and base tables."""
    rows = db.execute("SELECT gen, added, removed FROM main.generations WHERE gen > ?", (generation,)).fetchall()
    for gen, added, removed in rows:
        for tid in json.loads(added):
            for table, where, args in transcript_rows(tid):
                db.execute(f"DELETE FROM main.{table} WHERE {where} AND added_gen=?", (*args, gen))
        for tid in json.loads(removed):
            for table, where, args in transcript_rows(tid):
                db.execute(f"UPDATE main.{table} SET removed_gen=NULL WHERE {where} AND removed_gen=?", (*args, gen))
    if rows:  # their repeats, whichever transcript they are stored under (repeat_rows)
        db.execute("DELETE FROM main.repeats WHERE added_gen > ?", (generation,))
        db.execute("UPDATE main.repeats SET removed_gen=NULL WHERE removed_gen > ?", (generation,))
    db.execute("DELETE FROM main.patches WHERE gen > ?", (generation,))
    db.execute("DELETE FROM main.generations WHERE gen > ?", (generation,))
    for name in base_tables(db):
        if _suffix(name) > generation:
            db.execute(f"DROP TABLE main.{name}")


def purge(db: sqlite3.Connection, generation: int, bases: dict[str, str], folded: int) -> None:
    """Delete what no reader of the published generation or the one before can see: rows removed by
    generations up to G-1, and base tables and patches a fold at G-1 or earlier replaced."""
    done = db.execute("SELECT gen, removed FROM main.generations WHERE gen <= ? AND purged = 0 AND removed != '[]'",
                      (generation - 1,)).fetchall()  # (one that removed nothing left alone: no page written)
    for gen, removed in done:
        for tid in json.loads(removed):
            for table, where, args in transcript_rows(tid):
                db.execute(f"DELETE FROM main.{table} WHERE {where} AND removed_gen=?", (*args, gen))
        db.execute("UPDATE main.generations SET purged=1 WHERE gen=?", (gen,))
    if done:  # and the repeats they removed, whichever transcript they are stored under (repeat_rows)
        db.execute("DELETE FROM main.repeats WHERE removed_gen <= ?", (generation - 1,))
    if folded <= generation - 1:
        for name in base_tables(db):
            if name not in bases.values() and _suffix(name) < folded:
                db.execute(f"DROP TABLE main.{name}")
        db.execute("DELETE FROM main.patches WHERE gen <= ?", (folded,))


def base_tables(db: sqlite3.Connection) -> list[str]:
    return [r[0] for r in db.execute("SELECT name FROM main.sqlite_master WHERE type='table'") if _BASE.fullmatch(r[0])]


def _suffix(name: str) -> int:
    m = _BASE.fullmatch(name)
    return int(m.group(2)) if m and m.group(2) else 0


def fold(db: sqlite3.Connection, aggregates: Aggregates, generation: int) -> dict[str, str]:
    """New base tables holding one generation's word counts and registry (its aggregates, patches
    included); the bases to name in its manifest."""
    terms, speakers = f"terms_{generation:06d}", f"speakers_{generation:06d}"
    db.execute(f"CREATE TABLE main.{terms} (term TEXT PRIMARY KEY, df INTEGER NOT NULL) WITHOUT ROWID")
    db.execute(f"INSERT INTO main.{terms} SELECT term, df FROM main.{aggregates.bases['terms']}")
    db.executemany(f"INSERT INTO main.{terms} VALUES (?, ?) ON CONFLICT(term) DO UPDATE SET df = df + excluded.df",
                   list(aggregates.deltas.items()))
    db.execute(f"DELETE FROM main.{terms} WHERE df <= 0")
    db.execute(f"CREATE TABLE main.{speakers} (name TEXT PRIMARY KEY, passages INTEGER NOT NULL, "
               "transcripts INTEGER NOT NULL DEFAULT 0, aliases TEXT) WITHOUT ROWID")
    db.executemany(f"INSERT INTO main.{speakers} VALUES (?, ?, ?, ?)", aggregates.speakers())
    return {"terms": terms, "speakers": speakers}


def migrate(db: sqlite3.Connection) -> None:
    """Turn a database from a generation of its own (before this module) into a shared one: the
    versioned tables rebuilt with their generation columns (every row from generation 0), the
    rest kept; an FTS5 table left for the caller to drop."""
    old = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    # passage ids are never reused (a removed one may still be in a graph, skipped): keep the counter
    seq = db.execute("SELECT seq FROM sqlite_sequence WHERE name='passages'").fetchone() if "sqlite_sequence" in old else None
    for table in VERSIONED:
        if table in old:
            db.execute(f"ALTER TABLE {table} RENAME TO old_{table}")
    for name in ("passages_turn", "repeats_other"):
        db.execute(f"DROP INDEX IF EXISTS {name}")
    if "speakers" in old and "transcripts" not in {r[1] for r in db.execute("PRAGMA table_info(speakers)")}:
        db.execute("DROP TABLE speakers")  # a registry from before its counts: rebuilt below
    db.executescript(SHARED_SCHEMA)
    if "old_transcripts" in {r[0] for r in db.execute("SELECT name FROM sqlite_master")}:
        cols = [r[1] for r in db.execute("PRAGMA table_info(old_transcripts)")]
        keep = ", ".join(c for c in cols)
        db.execute(f"INSERT INTO transcripts ({keep}) SELECT {keep} FROM old_transcripts")
        cols = [r[1] for r in db.execute("PRAGMA table_info(old_passages)")]
        db.execute(f"INSERT INTO passages ({', '.join(cols)}) SELECT {', '.join(cols)} FROM old_passages")
        if "old_repeats" in {r[0] for r in db.execute("SELECT name FROM sqlite_master")}:
            db.execute("INSERT INTO repeats (transcript_id, start, other_id, other_start, other_end, similarity) "
                       "SELECT transcript_id, start, other_id, other_start, other_end, similarity FROM old_repeats")
        for table in VERSIONED:
            db.execute(f"DROP TABLE IF EXISTS old_{table}")
    if seq:
        db.execute("DELETE FROM sqlite_sequence WHERE name IN ('passages', 'old_passages')")
        db.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('passages', ?)", (max(seq[0], _max_id(db)),))
    if not db.execute("SELECT 1 FROM speakers LIMIT 1").fetchone():
        db.execute("INSERT INTO speakers SELECT speaker, count(*), count(DISTINCT transcript_id), "
                   "json_group_array(DISTINCT label) FROM passages WHERE role='spokesperson' GROUP BY speaker")


def _max_id(db: sqlite3.Connection) -> int:
    return db.execute("SELECT coalesce(max(id), 0) FROM passages").fetchone()[0]
