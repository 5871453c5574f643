"""Writes that cost what they add (store/versions.py, store/vectors.py): one database for every
generation, its rows tagged with the generation that added and removed them, and vector segments
linked from generation to generation."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from conftest import DATA, SEED, FakeEmbedder
from onrecord.config import Settings
from onrecord.service import Onrecord
from onrecord.store import DB, Filters, LocalStore, read_manifest
from onrecord.store.tables import TablesWriter
from onrecord.store.vectors import segment_names

CARTER = DATA / "1977-09-21-carter-news-conference.md"
KENNEDY = DATA / "1961-03-23-kennedy-news-conference.md"
OLD_INDEX = Path(__file__).parent / "old-index"  # written by an earlier onrecord (its README)


def _core(index: Path) -> Onrecord:
    return Onrecord(Settings(index=index, samples=DATA), embedder=FakeEmbedder())


def _written() -> int:
    with open("/proc/self/io") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("write_bytes"))


def _data(core) -> Path:
    return Path(core.index) / read_manifest(Path(core.index))["data"]


def test_a_small_write_links_what_it_does_not_change_and_writes_about_its_own_size(tmp_path):
    """Case: adding one transcript to an index neither copies the database nor rewrites the vector
    segments already written: the same files (inodes) stay, and the bytes written are a small
    multiple of what the transcript itself holds (its text and vectors), not of the index."""
    core = _core(tmp_path / "index")
    assert core.ingest_paths([str(DATA)]).ok  # the test transcripts
    db_inode = (Path(core.index) / DB).stat().st_ino
    segments = {n: (_data(core) / n).stat().st_ino for n in segment_names(_data(core))}
    index_bytes = sum(f.stat().st_size for f in Path(core.index).rglob("*") if f.is_file())
    small = tmp_path / "press-point.md"
    small.write_text("---\ntitle: Press point on the summit\ndate: 2024-07-10\n---\n\n"
                     "Q: Will the summit agree on the new capability targets?\n\n"
                     "MS. DOE: Yes. Allies will agree on the targets this week, and the agreement will hold.\n")
    before = _written()
    report = core.ingest_paths([str(small)])
    wrote = _written() - before
    assert report.ok and report.passages >= 1
    assert (Path(core.index) / DB).stat().st_ino == db_inode
    assert all((_data(core) / n).stat().st_ino == ino for n, ino in segments.items())  # linked, not copied
    assert wrote < index_bytes / 4, (wrote, index_bytes)
    assert wrote < 400 * 1024, wrote  # the database's pages, its log, a vector and a lexical segment
    answer = core.ask("Will the summit agree on the new capability targets?").answers[0]
    assert answer.speaker == "Ms. Doe" or "targets" in answer.text


def test_a_reader_keeps_its_generation_while_later_ones_add_and_remove(tmp_path):
    """Case: a reader opened at a generation sees that generation's rows, word counts and registry
    however many writers have committed since; a new reader sees the new state."""
    core = _core(tmp_path / "index")
    assert core.ingest_paths([str(SEED)]).ok
    old = LocalStore(core.index)
    seed = old.transcripts()[0].id
    df = old.document_frequency(["soleimani", "lance"])
    names = old.speaker_names()
    core.remove([seed])
    assert core.ingest_paths([str(CARTER)]).ok
    assert [t.id for t in old.transcripts()] == [seed] and old.transcript(seed).text
    assert old.document_frequency(["soleimani", "lance"]) == df and "lance" not in df
    assert old.speaker_names() == names and old.lexical(("soleimani",), (), Filters(), 5)
    new = LocalStore(core.index)
    assert [t.date for t in new.transcripts()] == ["1977-09-21"]
    assert "soleimani" not in new.document_frequency(["soleimani"]) and new.document_frequency(["lance"])["lance"] > 0
    assert "Jens Stoltenberg" not in new.speaker_names() and "Jens Stoltenberg" in names
    old.close()
    new.close()


def test_rows_no_reader_can_see_are_deleted_two_generations_on(tmp_path):
    """Case: a removed transcript's rows stay while a reader of the generation before may still
    read them, and are deleted by the writer after that."""
    core = _core(tmp_path / "index")
    assert core.ingest_paths([str(SEED)]).ok
    seed = core.store().transcripts()[0].id
    db = sqlite3.connect(Path(core.index) / DB)

    def rows() -> int:
        return db.execute("SELECT count(*) FROM passages WHERE transcript_id=?", (seed,)).fetchone()[0]

    n = rows()
    core.remove([seed])  # generation 2: marked removed
    assert rows() == n > 0
    assert core.ingest_paths([str(CARTER)]).ok  # generation 3: readers of 1 are stale, of 2 fine
    assert rows() == n
    assert core.ingest_paths([str(KENNEDY)]).ok  # generation 4: no reader of 3 or 2 sees them
    assert rows() == 0
    assert core.ingest_paths([str(SEED)]).ok  # and it can come back
    store = core.store()
    assert {t.date for t in store.transcripts()} == {"2020-01-06", "1977-09-21", "1961-03-23"}
    counted = [store.tables.db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("transcripts", "passages")]
    assert counted == [store.info.transcripts, store.info.passages]  # the manifest's running counts hold


def test_compact_leaves_one_segment_and_the_same_answers(tmp_path):
    """Case: after several small writes and a removal, `onrecord compact` makes the vectors one
    segment with nothing removed left in it and folds the patches into new base tables; the
    answers, counts and registry are those of before."""
    from onrecord.cli import main

    core = _core(tmp_path / "index")
    for path in (SEED, CARTER, KENNEDY):
        assert core.ingest_paths([str(path)]).ok
    core.remove([next(t.id for t in core.store().transcripts() if t.date == "1977-09-21")])
    before_store = core.store()
    assert len(segment_names(_data(core))) == 3
    question = '"Article 5" retaliate'
    before = [(a.id, a.text) for a in core.ask(question, top_k=5).answers]
    registry, info = before_store.speaker_names(), before_store.info
    df = before_store.document_frequency(["laos", "soleimani", "lance"])
    assert main(["compact", "--index", str(core.index)], onrecord=core) == 0
    store = core.store()
    data = _data(core)
    assert len(segment_names(data)) == 1 and not (data / "vectors.removed.npy").exists()
    manifest = read_manifest(Path(core.index))
    assert manifest["bases"]["terms"] == f"terms_{manifest['generation']:06d}"
    assert (store.info.passages, store.info.transcripts) == (info.passages, info.transcripts)
    assert store.speaker_names() == registry and store.document_frequency(["laos", "soleimani", "lance"]) == df
    assert [(a.id, a.text) for a in core.ask(question, top_k=5).answers] == before


def test_an_index_from_before_the_shared_database_answers_and_moves_on_its_next_write(tmp_path):
    """Case: an index with a database per generation and one vector file (tests/old-index, as an
    earlier onrecord wrote it) is read as it is; its next write copies the database once into the
    shared one, links the vector file as its first segment, and goes on numbering passages after
    the old ones."""
    index = tmp_path / "index"
    shutil.copytree(OLD_INDEX, index)
    old_vectors = (index / read_manifest(index)["data"] / "vectors.faiss").stat().st_ino
    core = _core(index)
    assert len(core.store().transcripts()) == 2
    assert core.ask('"Article 5" retaliate').answers[0].speaker == "Jens Stoltenberg"
    old_max = max(r[0] for r in core.store().tables.db.execute("SELECT id FROM passages"))
    assert core.ingest_paths([str(KENNEDY)]).ok
    manifest = read_manifest(index)
    data = index / manifest["data"]
    assert manifest["tables"] == DB and (index / DB).is_file() and not (data / DB).exists()
    assert (data / "vectors.faiss").stat().st_ino == old_vectors and len(segment_names(data)) == 2
    store = core.store()
    assert len(store.transcripts()) == 3
    new_ids = [r[0] for r in store.tables.db.execute(
        "SELECT p.id FROM passages p JOIN transcripts t ON t.id = p.transcript_id WHERE t.date = '1961-03-23'")]
    assert min(new_ids) > old_max
    assert core.ask('"Article 5" retaliate').answers[0].speaker == "Jens Stoltenberg"
    assert store.lexical(("laos",), (), Filters(), 5) and store.lexical(("lance",), (), Filters(), 5)
    assert "John F. Kennedy" in store.speaker_names() or any("Kennedy" in n for n in store.speaker_names())
    carter = next(t.id for t in store.transcripts() if t.date == "1977-09-21")
    core.remove([carter])  # a row from before the move, removed in the shared database
    assert {t.date for t in core.store().transcripts()} == {"2020-01-06", "1961-03-23"}


@pytest.mark.parametrize("kind", ["fresh", "old"])
def test_a_first_write_that_never_published_leaves_no_rows_behind(tmp_path, kind):
    """Case: a shared database left by a writer that never published (the manifest says nothing of
    it) is not trusted: the next first write starts it again."""
    index = tmp_path / "index"
    if kind == "old":
        shutil.copytree(OLD_INDEX, index)
    else:
        index.mkdir()
    db = sqlite3.connect(index / DB)
    db.execute("CREATE TABLE junk (x)")
    db.commit()
    db.close()
    core = _core(index)
    assert core.ingest_paths([str(KENNEDY)]).ok
    tables = {r[0] for r in sqlite3.connect(index / DB).execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "junk" not in tables
    assert len(core.store().transcripts()) == (3 if kind == "old" else 1)


def test_a_reader_of_the_next_generation_shares_the_segments_already_loaded(tmp_path):
    """Case: generations link the same segment files, so a process reading the next generation uses
    the segments (and graph) it has already loaded rather than loading them a second time; a file
    that changed is loaded anew."""
    core = _core(tmp_path / "index")
    assert core.ingest_paths([str(SEED)]).ok
    first = LocalStore(core.index)
    assert core.ingest_paths([str(CARTER)]).ok
    second = LocalStore(core.index)
    assert len(first.vectors.segments) == 1 and len(second.vectors.segments) == 2
    assert second.vectors.segments[0] is first.vectors.segments[0]
    assert second.info.passages == first.info.passages + second.vectors.segments[1].exact.ntotal
    first.close()
    assert second.vectors.ntotal == second.info.passages  # still searchable after the first reader closed
    second.close()


def test_segments_searched_from_many_threads_answer_each_its_own_query(tmp_path):
    """Case: a server's threads share one reader; a search over several segments keeps its query
    to itself (each thread gets what a search alone gets)."""
    from concurrent.futures import ThreadPoolExecutor

    core = _core(tmp_path / "index")
    for path in (SEED, CARTER, KENNEDY):
        assert core.ingest_paths([str(path)]).ok
    store = LocalStore(core.index)
    assert len(store.vectors.segments) == 3
    queries = [FakeEmbedder().embed_query(q) for q in ("Article 5", "Bert Lance", "Laos", "Iran", "budget", "tax")]
    alone = [store.dense(q, Filters(), 10) for q in queries]
    with ThreadPoolExecutor(8) as pool:
        for _ in range(20):
            assert list(pool.map(lambda q: store.dense(q, Filters(), 10), queries)) == alone
    store.close()


def test_vectors_are_kept_in_the_segments_only_and_read_back_exactly(tmp_path, monkeypatch):
    """Case: a passage written to the files has its vector written once, to its vector segment;
    the database's row keeps none (it cost a write half its pages), and the store reads the exact
    vector back from the segment that holds it, across segments of several generations. (A
    recent passage's vector is in its row until a write takes it to a segment: test_recent.py.)"""
    monkeypatch.setattr("onrecord.store.local.RECENT_MAX", 0)  # every write to the files
    core = _core(tmp_path / "index")
    assert core.ingest_paths([str(CARTER)]).ok
    assert core.ingest_paths([str(KENNEDY)]).ok
    store = LocalStore(core.index)
    try:
        assert len(segment_names(_data(core))) == 2
        records = [r for r, _ in store.iter_passages()]
        tids = {r.transcript_id for r in records}
        assert len(tids) == 2
        embedder = FakeEmbedder()
        for record, vector in store.iter_passages():
            expected = embedder.embed([record.passage().embedding_text()])[0]
            cosine = float(vector @ expected) / float(np.linalg.norm(vector) * np.linalg.norm(expected))
            assert vector.shape == expected.shape and cosine > 0.9999
        some = [records[0].id, records[-1].id, 10**9]  # one of each segment, and one no segment holds
        got = store.vectors_of(some)
        assert set(got) == {records[0].id, records[-1].id}
    finally:
        store.close()
    db = sqlite3.connect(Path(core.index) / DB)
    assert db.execute("SELECT max(length(vector)) FROM passages").fetchone()[0] == 0
    db.close()


def test_a_writer_closing_last_copies_its_log_into_the_database(tmp_path):
    """Case: a writer that closes the database last (an `onrecord ingest`, no server open on it)
    copies its pages into the database file and leaves no log. A log left for a later checkpoint
    is copied again whole by every next writer in its own process (the first connection rebuilds
    SQLite's index of the log without knowing what was copied already): benchmarks/recent_fold.py
    measured 3-6 MB an add once it passed 1,000 pages."""
    core = _core(tmp_path / "index")
    assert core.ingest_paths([str(SEED)]).ok
    db = Path(core.index) / DB
    before = db.read_bytes()
    writer = TablesWriter(Path(core.index), read_manifest(Path(core.index)), read_manifest(Path(core.index))["generation"] + 1)
    writer.add_repeats([])
    writer.finish()
    assert not Path(f"{db}-wal").exists() and db.read_bytes() != before
