"""The recent generations' rows, kept out of the database: one record per small write.

    INDEX/recent-000000123456.rows    records, each [length: 4 bytes][zlib(JSON)], appended

A small write (local.py: its passages stay recent, searched in memory) would reach the disk twice
through SQLite, once in its log and once in the database file, and touch pages all over the
database's indexes; its rows go here instead, written once, and its vectors to the recent vectors'
file (vectors.py). The manifest names how many of the file's bytes are its generation's, with their
crc32, so a reader never sees a record a killed writer left half written; the next writer cuts
such a tail off.

A record holds what one generation changed: the rows it added (every column but a passage's empty
vector), the transcripts it removed, its patches of the word counts and the speaker registry, and
its line in the generations table (versions.py). `replay` applies the records in order to a set of
tables: a reader's in-memory tables attached beside the database, or a writer's own transaction
in the database, which then sees the index as if every small write had gone there. A writer that
stays small takes its own generation's changes from there (`changes`) and rolls the database back;
one that writes files keeps the replayed rows and tags them its own (tables.py, `TablesWriter`),
and its manifest names no rows file.
"""

from __future__ import annotations

import json
import sqlite3
import struct
import zlib
from pathlib import Path

from ..errors import IndexError_
from . import versions
from .manifest import append_published, read_published

_HEAD = struct.Struct("<I")
_ROWS = {t: [c.strip() for c in versions.COLUMNS[t].split(",") if c.strip() != "vector"] for t in versions.VERSIONED}


def rows_name(first: int) -> str:
    return f"recent-{first:012d}.rows"


def empty(first: int) -> dict:
    """The manifest's entry for a rows file with no record yet."""
    return {"file": rows_name(first), "bytes": 0, "crc32": "00000000"}


def read(index_dir: Path, entry: dict | None) -> list[dict]:
    """The records a generation's manifest names, in order.

    Raises:
        IndexError_: the file is missing, shorter than the manifest says, or damaged.
    """
    if not entry or not entry.get("bytes"):
        return []
    data = read_published(index_dir, entry)
    records, at = [], 0
    try:
        while at < len(data):
            (n,) = _HEAD.unpack_from(data, at)
            records.append(json.loads(zlib.decompress(data[at + _HEAD.size:at + _HEAD.size + n])))
            at += _HEAD.size + n
    except (struct.error, zlib.error, ValueError):
        raise IndexError_(f"index file {Path(index_dir) / entry['file']} is corrupt: "
                          "rebuild the index with 'onrecord ingest'") from None
    return records


def append(index_dir: Path, entry: dict, record: dict) -> dict:
    """Append a record after the bytes `entry` names, on disk when this returns; the entry the
    manifest is to name now."""
    body = zlib.compress(json.dumps(record, separators=(",", ":")).encode(), 6)
    data = _HEAD.pack(len(body)) + body
    return append_published(index_dir, entry, data)


def changes(db: sqlite3.Connection, generation: int, added: list[str], removed: list[str]) -> dict:
    """What one generation did, from a writer's transaction in the database (its patches and its
    generations line written already): the record to append. The rows it added are those of the
    transcripts it added (a small write stores a repeat under its own transcript only)."""
    g = generation
    marks = ",".join("?" * len(added))
    where = {"transcripts": f"id IN ({marks})", "passages": f"transcript_id IN ({marks})",
             "repeats": f"transcript_id IN ({marks})"}
    rows = {t: [list(r) for r in db.execute(f"SELECT {', '.join(cols)} FROM main.{t} WHERE {where[t]} AND added_gen=?",
                                            (*added, g))] for t, cols in _ROWS.items()}
    patches = [[kind, versions.read_patch(body)] for kind, body in
               db.execute("SELECT kind, body FROM main.patches WHERE gen=?", (g,))]
    added, gone = db.execute("SELECT added, removed FROM main.generations WHERE gen=?", (g,)).fetchone()
    return {"gen": g, "rows": rows, "removed": list(removed), "patches": patches,
            "generation": [json.loads(added), json.loads(gone)]}


def replay(db: sqlite3.Connection, schema: str, records: list[dict], recent_from: int) -> None:
    """Apply the records in order to the tables of `schema`: the rows each added, then its
    removals as the writer made them (versions.remove_rows), its patches and its generations line."""
    for rec in records:
        g = rec["gen"]
        for table, cols in _ROWS.items():
            values = ",".join("?" * len(cols))
            extra = (", vector", ", ?") if table == "passages" else ("", "")
            db.executemany(f"INSERT INTO {schema}.{table} ({', '.join(cols)}{extra[0]}) VALUES ({values}{extra[1]})",
                           [(*r, b"") if table == "passages" else r for r in rec["rows"][table]])
        for tid in rec["removed"]:
            versions.remove_rows(db, tid, g, recent_from, schema, replay=True)
        db.executemany(f"INSERT OR REPLACE INTO {schema}.patches VALUES (?, ?, ?)",
                       [(g, kind, versions.patch_body(patch)) for kind, patch in rec["patches"]])
        added, gone = rec["generation"]
        db.execute(f"INSERT OR REPLACE INTO {schema}.generations (gen, added, removed) VALUES (?, ?, ?)",
                   (g, json.dumps(added), json.dumps(gone)))


def patches(records: list[dict]) -> list[tuple[int, str, dict]]:
    """The records' patches as versions.Aggregates takes them: (generation, kind, patch)."""
    return [(rec["gen"], kind, patch) for rec in records for kind, patch in rec["patches"]]
