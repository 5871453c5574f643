"""Recent passages (store/recent.py): a small write appends its rows to the rows file
(store/rowlog.py) and its vectors to the recent vectors' file, searched in memory and scored as
the lexical index scores, until a write takes them to the database and the lexical and vector
files."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import DATA, SEED, FakeEmbedder
from onrecord.config import Settings
from onrecord.errors import IndexError_
from onrecord.service import Onrecord
from onrecord.store import ANSWER, QUESTION, Filters, LocalStore, read_manifest, rowlog
from onrecord.store.recent import NORMS, Recent

CARTER = DATA / "1977-09-21-carter-news-conference.md"
KENNEDY = DATA / "1961-03-23-kennedy-news-conference.md"
FORD = DATA / "1975-09-16-ford-news-conference.md"


def _core(tmp_path) -> Onrecord:
    return Onrecord(Settings(index=tmp_path / "index", samples=DATA), embedder=FakeEmbedder())


def _files(core) -> dict[str, int]:
    data = Path(core.index) / read_manifest(Path(core.index))["data"]
    return {str(f.relative_to(data)): f.stat().st_ino for f in data.rglob("*") if f.is_file()}


def _ids(store, tid: str) -> set[int]:
    return {r[0] for r in store.tables.db.execute("SELECT id FROM passages WHERE transcript_id=?", (tid,))}


def _tid(store, path: Path) -> str:
    return next(i.id for i in store.transcripts() if i.file == path.name)


def _doorstep(tmp_path) -> Path:
    """A one-answer briefing no other test file holds."""
    small = tmp_path / "doorstep.md"
    small.write_text("---\ntitle: Doorstep\ndate: 2024-07-10\n---\n\nQ: Will allies agree on the targets?\n\n"
                     "MS. DOE: Yes, allies will agree on the capability targets this week.\n")
    return small


def test_recent_passages_score_as_the_lexical_index_scores_them(tmp_path, monkeypatch):
    """Case: the same passages searched by Tantivy and by the recent index with Tantivy's statistics
    give the same passages in the same order and the same scores (BM25, k1 1.2, b 0.75, field
    lengths as Tantivy stores them), on either side, with words of several parts, quoted phrases,
    and speaker, date and transcript filters."""
    monkeypatch.setattr("onrecord.store.local.RECENT_MAX", 0)  # everything in the lexical index
    core = _core(tmp_path)
    assert core.ingest_paths([str(DATA)]).ok
    store = core.store()
    rows = store.tables.db.execute("SELECT p.id, p.text, p.topic, p.asked, p.speaker, t.date, p.transcript_id "
                                   "FROM passages p JOIN transcripts t ON t.id = p.transcript_id").fetchall()
    recent = Recent(rows)
    assert max(max(recent.length["answer"]), max(recent.length["asked"])) > 100  # long fields: lengths rounded
    queries = [(("article", "iran", "retaliate"), ()), (("fossil-fuel", "climate", "energy"), ()),
               (("nato", "allies"), ("article 5",)), (("laos", "vietnam", "communist"), ()),
               (("border", "u.s.-mexico", "vaccines"), ()), ((), ("the president",))]
    filters = [{}, {"speakers": ["Jens Stoltenberg", "Jen Psaki", "John Kirby"]},
               {"since": "1961-01-01", "until": "1977-12-31"}, {"transcript": rows[0][6]}]
    compared = 0
    for side in (ANSWER, QUESTION):
        for terms, phrases in queries:
            for kw in filters:
                expected = store.words.search(terms, phrases, 20, side, **kw)
                got = recent.search(store.words, terms, phrases, 20, side, **kw)
                assert [i for i, _ in got] == [i for i, _ in expected], (side, terms, phrases, kw)
                assert all(abs(a - b) <= 1e-4 * max(b, 1.0) for (_, a), (_, b) in zip(got, expected)), (side, terms, kw)
                compared += len(expected)
    assert compared > 200
    assert NORMS[:41] == list(range(41)) and len(NORMS) == 256


def test_a_small_write_adds_no_file_and_is_searched_like_the_rest(tmp_path):
    """Case: a briefing added to an index goes to the rows file and the recent vectors' file only
    (the generation's files are the previous one's, not one written or linked), and is found by
    words, with filters, and by its vectors; `onrecord compact` then writes it to the files, found
    the same way."""
    core = _core(tmp_path)
    assert core.ingest_paths([str(SEED), str(CARTER), str(FORD)]).ok  # a new index: to the files
    before, files = read_manifest(Path(core.index)), _files(core)
    assert core.ingest_paths([str(KENNEDY)]).ok
    after = read_manifest(Path(core.index))
    assert after["generation"] == before["generation"] + 1 and after["data"] == before["data"]
    assert _files(core) == files  # the same files: none written, none linked
    recent = after["recent"]  # the vectors appended to the recent file (the rows to the rows file)
    assert recent["bytes"] == (Path(core.index) / recent["file"]).stat().st_size > 0
    store = core.store()
    kennedy = _ids(store, _tid(store, KENNEDY))
    assert store.recent is not None and set(store.recent.ids) == kennedy and min(kennedy) >= after["recent"]["from"]
    hits = store.lexical(("laos",), (), Filters(speaker="Kennedy"), 5)
    assert hits and {i for i, _ in hits} <= kennedy
    assert store.lexical(("laos",), (), Filters(speaker="Carter"), 5) == []
    assert store.lexical(("resign",), (), Filters(speaker="Carter"), 5)  # the files' passages as before
    q = FakeEmbedder().embed_query("Laos neutral")
    assert kennedy & set(store.dense(q, Filters(), 20)) and store.vectors.ntotal == store.info.passages
    assert set(store.vectors_of(sorted(kennedy))) == kennedy
    core.compact()
    store = core.store()
    assert store.recent is None and read_manifest(Path(core.index))["recent"]["from"] > max(kennedy)
    hits = store.lexical(("laos",), (), Filters(speaker="Kennedy"), 5)
    assert hits and {i for i, _ in hits} <= kennedy and kennedy & set(store.dense(q, Filters(), 20))


def test_removing_a_recent_transcript_and_one_in_the_files(tmp_path):
    """Case: removing a recent transcript writes no file of the generation's; removing one held in
    the files writes them, and the recent passages go with that write (none left recent)."""
    core = _core(tmp_path)
    assert core.ingest_paths([str(SEED), str(CARTER), str(FORD)]).ok
    files = _files(core)
    assert core.ingest_paths([str(KENNEDY)]).ok
    core.remove([_tid(core.store(), KENNEDY)])
    store = core.store()
    assert _files(core) == files and store.recent is None
    assert store.lexical(("laos",), (), Filters(), 5) == [] and store.vectors.ntotal == store.info.passages
    assert core.ingest_paths([str(KENNEDY)]).ok  # recent again
    kennedy = _ids(core.store(), _tid(core.store(), KENNEDY))
    kept = Path(core.index) / read_manifest(Path(core.index))["recent"]["file"]
    core.remove([_tid(core.store(), CARTER)])
    store = core.store()
    assert _files(core) != files and store.recent is None
    assert read_manifest(Path(core.index))["recent"]["from"] > max(kennedy)
    assert store.lexical(("resign",), (), Filters(speaker="Carter"), 5) == []
    hits = store.lexical(("laos",), (), Filters(), 5)
    assert hits and {i for i, _ in hits} <= kennedy and store.vectors.ntotal == store.info.passages
    assert kept.exists()  # the previous generation's readers may still read it
    core.remove([_tid(core.store(), KENNEDY)])  # the next writer clears it away
    assert not kept.exists()


@pytest.mark.parametrize("limit", [5, 10_000])
def test_recent_passages_never_outnumber_the_limit_or_the_files(tmp_path, monkeypatch, limit):
    """Case: a write that would keep more recent passages than RECENT_MAX, or than the lexical
    index holds (whose statistics score them), writes them all to the files instead."""
    monkeypatch.setattr("onrecord.store.local.RECENT_MAX", limit)
    core = _core(tmp_path)
    assert core.ingest_paths([str(SEED)]).ok
    assert core.ingest_paths([str(KENNEDY)]).ok  # more passages than the seed's
    store = core.store()
    assert store.recent is None and read_manifest(Path(core.index))["recent"]["from"] > max(_ids(store, _tid(store, KENNEDY)))
    assert core.ingest_paths([str(CARTER)]).ok
    store = core.store()
    carter = _ids(store, _tid(store, CARTER))
    assert (store.recent is not None) == (len(carter) <= limit)
    assert store.vectors.ntotal == store.info.passages


def _entry(manifest: dict, kind: str) -> dict:
    return manifest["recent"] if kind == "f32" else manifest["recent"]["rows"]


@pytest.mark.parametrize("kind", ["f32", "rows"])
def test_a_recent_file_past_its_published_bytes_is_cut_and_a_damaged_one_named(tmp_path, kind):
    """Case: what a killed writer appended to a recent file (the vectors' .f32, the rows' .rows)
    past the bytes its manifest names is never read and is cut away by the next writer; a damaged
    one is reported with the fix."""
    core = _core(tmp_path)
    assert core.ingest_paths([str(SEED), str(CARTER), str(FORD)]).ok
    assert core.ingest_paths([str(KENNEDY)]).ok
    index = Path(core.index)
    entry = _entry(read_manifest(index), kind)
    with open(index / entry["file"], "ab") as fh:
        fh.write(b"half a record from a killed writer")
    assert core.store().recent is not None  # the published bytes only
    assert core.ingest_paths([str(_doorstep(tmp_path))]).ok
    entry = _entry(read_manifest(index), kind)
    assert (index / entry["file"]).stat().st_size == entry["bytes"]
    assert core.store().lexical(("capability",), (), Filters(), 5) and core.store().lexical(("laos",), (), Filters(), 5)
    data = bytearray((index / entry["file"]).read_bytes())
    data[20] ^= 0xFF
    (index / entry["file"]).write_bytes(bytes(data))
    with pytest.raises(IndexError_, match=rf"recent-\d+\.{kind} is corrupt .*rebuild the index"):
        LocalStore(index)


PRESS_POINT = Path(__file__).parent / "talking-points" / "nato-2020-01-09-stoltenberg-press-point.txt"  # repeats SEED
SAID = "if I start to speculate on how we will react"


def _said(store, tid: str) -> tuple[str, int]:
    row = store.tables.db.execute("SELECT transcript_id, start FROM passages WHERE transcript_id=? AND text LIKE ?",
                                  (tid, f"%{SAID}%")).fetchone()
    return row[0], row[1]


def _under(store, tid: str, other: str) -> int:
    return store.tables.db.execute("SELECT count(*) FROM repeats WHERE transcript_id=? AND other_id=?",
                                   (tid, other)).fetchone()[0]


def test_a_recent_repeat_is_stored_one_way_and_read_both_ways(tmp_path):
    """Case: a small write repeating an answer already in the files stores the repeat under its own
    transcript only (not a row on a page of the older one's), and readers see it both ways; the
    write that takes it to the files stores the other way too, and nothing changes for readers."""
    core = _core(tmp_path)
    assert core.ingest_paths([str(SEED), str(CARTER), str(FORD)]).ok
    assert core.ingest_paths([str(PRESS_POINT)]).ok
    store = core.store()
    seed, press = _tid(store, SEED), _tid(store, PRESS_POINT)
    assert store.recent is not None and _under(store, press, seed) and not _under(store, seed, press)
    a, b = _said(store, seed), _said(store, press)
    both = store.repeats([a, b])
    assert [o.transcript_id for o, _ in both[a]] == [press] and [o.transcript_id for o, _ in both[b]] == [seed]
    end = store.tables.db.execute("SELECT end FROM passages WHERE transcript_id=? AND start=?", b).fetchone()[0]
    assert (both[a][0][0].start, both[a][0][0].end) == (b[1], end)
    core.compact()
    store = core.store()
    assert store.recent is None and _under(store, seed, press) == _under(store, press, seed)
    assert store.repeats([a, b]) == both


def test_removing_what_a_recent_transcript_repeats_forgets_the_repeat(tmp_path):
    """Case: the older occasion of a repeat stored one way is removed: the recent transcript no
    longer lists it, and the write that takes the recent passages to the files stores nothing for it."""
    core = _core(tmp_path)
    assert core.ingest_paths([str(SEED), str(CARTER), str(FORD)]).ok
    assert core.ingest_paths([str(PRESS_POINT)]).ok
    store = core.store()
    seed, press = _tid(store, SEED), _tid(store, PRESS_POINT)
    b = _said(store, press)
    assert store.repeats([b])[b]
    core.remove([seed])  # held in the files: this write takes the recent passages there too
    store = core.store()
    assert store.recent is None and store.repeats([b]) == {} and not _under(store, seed, press)


def _digest(path: Path) -> str:
    """The database file's bytes, its log copied in first (what a commit wrote is in one or the other)."""
    import hashlib
    import sqlite3
    db = sqlite3.connect(path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_small_write_leaves_the_database_as_it_was(tmp_path):
    """Case: a small write's rows go to the rows file (store/rowlog.py), not the database, whose
    file is byte for byte what it was; readers see the transcript whole (listed, its text, its
    turns, its passages by filter) and a write to the files then takes the rows into the database,
    where readers find the same."""
    core = _core(tmp_path)
    assert core.ingest_paths([str(SEED), str(CARTER), str(FORD)]).ok
    index = Path(core.index)
    db = index / "onrecord.sqlite"
    before = _digest(db)
    assert core.ingest_paths([str(KENNEDY)]).ok
    small = _doorstep(tmp_path)
    assert core.ingest_paths([str(small)]).ok
    assert _digest(db) == before
    rows = read_manifest(index)["recent"]["rows"]
    assert (index / rows["file"]).stat().st_size == rows["bytes"] > 0

    def seen(store):
        tid = _tid(store, KENNEDY)
        t = store.transcript(tid)
        said = store.turn_passages(tid, store.passages(sorted(_ids(store, tid)))[min(_ids(store, tid))].turn_index)
        return (sorted(i.file for i in store.transcripts()), store.info.transcripts, store.info.passages,
                sorted(_ids(store, tid)), t.text[:200], [p.text for p in said],
                sorted(store.tables.allowed_ids(Filters(speaker="Kennedy", since="1961-01-01")).tolist()),
                [r.speaker for r in store.exchange_passages(tid, said[0].asked)] if said[0].asked else None)

    store = core.store()
    assert KENNEDY.name in seen(store)[0] and "doorstep.md" in seen(store)[0] and len(seen(store)[3]) > 3
    assert seen(store)[6] == seen(store)[3]  # Kennedy's passages, by the filter over both databases
    was = seen(store)
    core.compact()
    store = core.store()
    assert store.recent is None and "rows" not in read_manifest(index)["recent"] and _digest(db) != before
    assert seen(store) == was


def test_a_write_killed_after_taking_the_recent_rows_leaves_them_seen_once(tmp_path, monkeypatch):
    """Case: the write that takes the recent rows into the database commits, then dies before
    publishing: readers of the published generation still see each recent transcript and passage
    once (the committed copies belong to the unpublished generation), and the next writer takes
    them back and goes on."""
    core = _core(tmp_path)
    assert core.ingest_paths([str(SEED), str(CARTER), str(FORD)]).ok
    assert core.ingest_paths([str(KENNEDY)]).ok
    assert core.ingest_paths([str(PRESS_POINT)]).ok  # two small writes
    store = core.store()
    assert len(rowlog.read(Path(core.index), read_manifest(Path(core.index))["recent"]["rows"])) == 2
    was = (sorted(i.file for i in store.transcripts()), sorted(_ids(store, _tid(store, KENNEDY))),
           store.tables.db.execute("SELECT count(*) FROM passages").fetchone()[0])
    store.close()

    def killed(*args, **kwargs):
        raise KeyboardInterrupt("killed after the commit, before the manifest")
    monkeypatch.setattr("onrecord.store.local.publish", killed)
    with pytest.raises(KeyboardInterrupt):
        core.compact()
    monkeypatch.undo()
    store = LocalStore(Path(core.index))
    assert store.recent is not None
    now = (sorted(i.file for i in store.transcripts()), sorted(_ids(store, _tid(store, KENNEDY))),
           store.tables.db.execute("SELECT count(*) FROM passages").fetchone()[0])
    assert now == was
    store.close()
    core = _core(tmp_path)
    small = _doorstep(tmp_path)
    assert core.ingest_paths([str(small)]).ok
    store = core.store()
    assert store.tables.db.execute("SELECT count(*) FROM passages").fetchone()[0] == was[2] + len(
        _ids(store, _tid(store, small)))
    assert sorted(_ids(store, _tid(store, KENNEDY))) == was[1]
    core.compact()
    store = core.store()
    assert store.tables.db.execute("SELECT count(*) FROM passages").fetchone()[0] == store.info.passages
    assert sorted(_ids(store, _tid(store, KENNEDY))) == was[1] and store.vectors.ntotal == store.info.passages


def test_recent_rows_in_the_database_from_before_the_rows_file(tmp_path):
    """Case: an index whose small writes kept their rows in the database (as before
    store/rowlog.py: the manifest's recent passages name no rows file) is read as it is; a new small
    write goes to a rows file beside them; removing one of the older recent transcripts writes the
    files (the database holds it, and a small write changes nothing there); every count agrees."""
    import json
    import sqlite3
    core = _core(tmp_path)
    assert core.ingest_paths([str(SEED), str(CARTER), str(FORD)]).ok
    assert core.ingest_paths([str(KENNEDY)]).ok
    index = Path(core.index)
    manifest = read_manifest(index)
    db = sqlite3.connect(index / "onrecord.sqlite")
    rowlog.replay(db, "main", rowlog.read(index, manifest["recent"].pop("rows")), manifest["recent"]["from"])
    db.commit()
    db.close()
    (index / "manifest.json").write_text(json.dumps(manifest))

    def counts(store):
        n = store.tables.db.execute("SELECT count(*) FROM passages").fetchone()[0]
        return n, store.info.passages, store.vectors.ntotal

    store = core.store()
    kennedy = _ids(store, _tid(store, KENNEDY))
    assert store.recent is not None and set(store.recent.ids) == kennedy and len(set(counts(store))) == 1
    small = _doorstep(tmp_path)
    assert core.ingest_paths([str(small)]).ok
    store = core.store()
    assert "rows" in read_manifest(index)["recent"] and len(set(counts(store))) == 1
    assert set(store.recent.ids) == kennedy | _ids(store, _tid(store, small))
    core.remove([_tid(store, KENNEDY)])
    store = core.store()
    assert store.recent is None and len(set(counts(store))) == 1
    assert KENNEDY.name not in {i.file for i in store.transcripts()} and store.lexical(("capability",), (), Filters(), 5)


def test_passages_added_and_removed_again_count_against_the_limit(tmp_path, monkeypatch):
    """Case: a newsroom adding and removing recent transcripts: the rows file and the recent
    vectors' file keep what was removed until a write to the files, so the passages they were
    written with count against RECENT_MAX, and the write that would pass it goes to the files."""
    core = _core(tmp_path)
    assert core.ingest_paths([str(SEED), str(CARTER), str(FORD)]).ok
    assert core.ingest_paths([str(KENNEDY)]).ok
    store = core.store()
    kennedy = len(_ids(store, _tid(store, KENNEDY)))
    monkeypatch.setattr("onrecord.store.local.RECENT_MAX", kennedy + 5)
    core.remove([_tid(store, KENNEDY)])
    assert "rows" in read_manifest(Path(core.index))["recent"]  # still small: one record more
    assert core.ingest_paths([str(KENNEDY)]).ok  # 2 x its passages written: past the limit
    store = core.store()
    assert store.recent is None and "rows" not in read_manifest(Path(core.index))["recent"]
    assert len(_ids(store, _tid(store, KENNEDY))) == kennedy and store.vectors.ntotal == store.info.passages
