"""Recent passages (store/recent.py): a small write keeps its rows in the database and appends its
vectors to the recent file, searched in memory and scored as the lexical index scores, until a
write takes them to the lexical and vector files."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import DATA, SEED, FakeEmbedder
from onrecord.config import Settings
from onrecord.errors import IndexError_
from onrecord.service import Onrecord
from onrecord.store import ANSWER, QUESTION, Filters, LocalStore, read_manifest
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
    """Case: a briefing added to an index goes to the database and the recent vectors' file only
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
    recent = after["recent"]  # the vectors appended to the recent file, the one file written
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
    """Case: removing a recent transcript touches the database only; removing one held in the
    files writes them, and the recent passages go with that write (none left recent)."""
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


def test_the_recent_file_past_its_published_bytes_is_cut_and_a_damaged_one_named(tmp_path):
    """Case: what a killed writer appended to the recent file past the bytes its manifest names is
    never read and is cut away by the next writer; a damaged recent file is reported with the fix."""
    core = _core(tmp_path)
    assert core.ingest_paths([str(SEED), str(CARTER), str(FORD)]).ok
    assert core.ingest_paths([str(KENNEDY)]).ok
    index = Path(core.index)
    recent = read_manifest(index)["recent"]
    with open(index / recent["file"], "ab") as fh:
        fh.write(b"half a record from a killed writer")
    assert core.store().recent is not None  # the published bytes only
    small = tmp_path / "doorstep.md"
    small.write_text("---\ntitle: Doorstep\ndate: 2024-07-10\n---\n\nQ: Will allies agree on the targets?\n\n"
                     "MS. DOE: Yes, allies will agree on the capability targets this week.\n")
    assert core.ingest_paths([str(small)]).ok
    recent = read_manifest(index)["recent"]
    assert (index / recent["file"]).stat().st_size == recent["bytes"]
    assert core.store().lexical(("capability",), (), Filters(), 5) and core.store().lexical(("laos",), (), Filters(), 5)
    data = bytearray((index / recent["file"]).read_bytes())
    data[20] ^= 0xFF
    (index / recent["file"]).write_bytes(bytes(data))
    with pytest.raises(IndexError_, match=r"recent-\d+\.f32 is corrupt .*rebuild the index"):
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
