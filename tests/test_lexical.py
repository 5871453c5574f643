"""The local store's lexical index (Tantivy): what a write costs, and indexes from before it."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

from conftest import DATA, SEED, FakeEmbedder
from onrecord.config import Settings
from onrecord.service import Onrecord
from onrecord.store import ANSWER, QUESTION, Filters, read_manifest
from onrecord.store.lexical import LEXICAL

CARTER = DATA / "1977-09-21-carter-news-conference.md"
KENNEDY = DATA / "1961-03-23-kennedy-news-conference.md"
OLD_INDEX = Path(__file__).parent / "old-index"  # written by an earlier onrecord (its README)


def _core(tmp_path) -> Onrecord:
    return Onrecord(Settings(index=tmp_path / "index", samples=DATA), embedder=FakeEmbedder())


def _segments(core) -> dict[str, int]:
    data = Path(core.index) / read_manifest(Path(core.index))["data"] / LEXICAL
    return {f.name: f.stat().st_ino for f in data.iterdir() if not f.name.endswith(".json") and not f.name.startswith(".")}


def test_a_new_generation_links_the_lexical_segments_it_does_not_change(tmp_path, monkeypatch):
    """Case: adding a transcript to the files writes its own segment; the segments already indexed
    are the same files (hard links), not copies."""
    monkeypatch.setattr("onrecord.store.local.RECENT_MAX", 0)  # every write to the files (no recent passages)
    core = _core(tmp_path)
    assert core.ingest_paths([str(SEED), str(CARTER)]).ok
    before = _segments(core)
    assert core.ingest_paths([str(KENNEDY)]).ok
    after = _segments(core)
    kept = set(before) & set(after)
    assert kept and all(before[n] == after[n] for n in kept)  # the same inodes: nothing rewritten
    assert set(after) - set(before)  # and a new segment holds Kennedy
    store = core.store()
    assert store.lexical(("laos",), (), Filters(speaker="Kennedy"), 5) and store.lexical(("resign",), (), Filters(speaker="Carter"), 5)


def test_removal_reaches_the_lexical_index(tmp_path):
    core = _core(tmp_path)
    assert core.ingest_paths([str(SEED), str(CARTER)]).ok
    seed = next(t for t in core.store().transcripts() if t.file == SEED.name)
    assert core.store().lexical(("soleimani",), (), Filters(), 10)
    core.remove([seed.id])
    assert core.store().lexical(("soleimani",), (), Filters(), 10) == []
    assert core.store().lexical(("lance",), (), Filters(), 10)


def _make_old(tmp_path) -> Path:
    """An index as written before the lexical index: a database per generation with an FTS5 table,
    no lexical folder (tests/old-index, its lexical folder taken away and FTS5 added)."""
    index = tmp_path / "index"
    shutil.copytree(OLD_INDEX, index)
    data = index / read_manifest(index)["data"]
    shutil.rmtree(data / LEXICAL)
    db = sqlite3.connect(data / "onrecord.sqlite")
    db.executescript("CREATE VIRTUAL TABLE passages_fts USING fts5(text, asked, speaker, topic, content='passages', "
                     "content_rowid='id', tokenize='porter unicode61');"
                     "INSERT INTO passages_fts(passages_fts) VALUES ('rebuild');")
    db.commit()
    db.close()
    manifest = read_manifest(index)
    manifest["checksums"].pop("onrecord.sqlite", None)  # the database changed under the manifest
    (index / "manifest.json").write_text(json.dumps(manifest))
    return index


def test_an_index_from_before_the_lexical_index_answers_and_moves_on_its_next_write(tmp_path):
    """Case: an index whose generation has an FTS5 table and no lexical folder is searched through
    FTS5; the next write builds the lexical index from every passage and drops the table."""
    _make_old(tmp_path)
    fresh = _core(tmp_path)
    store = fresh.store()
    assert store.words is None and store.lexical(("retaliate",), ("Article 5",), Filters(), 5, QUESTION)
    assert fresh.ask('"Article 5" retaliate').answers[0].speaker == "Jens Stoltenberg"
    assert fresh.ingest_paths([str(KENNEDY)]).ok
    store = fresh.store()
    assert store.words is not None
    assert store.lexical(("retaliate",), ("Article 5",), Filters(), 5, QUESTION)  # the old passages are in it
    assert store.lexical(("lance",), (), Filters(), 5, ANSWER) and store.lexical(("laos",), (), Filters(), 5, ANSWER)
    db = sqlite3.connect(Path(fresh.index) / "onrecord.sqlite")  # moved to the shared database, without FTS5
    assert db.execute("SELECT count(*) FROM sqlite_master WHERE name='passages_fts'").fetchone()[0] == 0
