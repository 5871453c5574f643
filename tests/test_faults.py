"""Faults: kill -9 mid-ingest, a second writer, a full disk, corrupt or truncated index files, and
a server answering while another process ingests. Ingests run as real processes
(tests/ingest_harness.py: the real ingest path with the fake embedder)."""

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from conftest import SEED, FakeEmbedder
from onrecord.api import create_app
from onrecord.errors import IndexError_
from onrecord.service import Onrecord
from onrecord.store import DB, MANIFEST, Filters, LocalStore, LocalWriter, read_manifest

HARNESS = Path(__file__).parent / "ingest_harness.py"


def harness(index: Path, paths: list[Path], delay: float = 0.0, max_file_bytes: int | None = None,
            kill_before_publish: bool = False) -> subprocess.Popen:
    cmd = [sys.executable, str(HARNESS), str(index), *map(str, paths), "--delay", str(delay)]
    if max_file_bytes:
        cmd += ["--max-file-bytes", str(max_file_bytes)]
    if kill_before_publish:
        cmd += ["--kill-before-publish"]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture
def corpus(tmp_path) -> Path:
    """40 distinct small briefings (about 400 passages): several embedding batches."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    for n in range(40):
        turns = []
        for k in range(10):
            turns.append(f"Q    Question {k} of briefing {n} about topic {(n * k) % 13}?")
            turns.append(f"MS. DOE:  Answer {k} of briefing {n}: the policy on topic {(n * k) % 13} is unchanged. " * 3)
        (folder / f"b{n:02d}.md").write_text(
            f"---\ntitle: Briefing {n} by Jane Doe\ndate: 2024-02-{n % 28 + 1:02d}\n---\n\n" + "\n\n".join(turns) + "\n"
        )
    return folder


@pytest.fixture
def seeded(app) -> Onrecord:
    report = app.ingest_paths([str(SEED)])
    assert report.ok
    return app


def assert_answers(index: Path, transcripts: int) -> None:
    reader = LocalStore(index)
    assert reader.info.transcripts == transcripts
    assert reader.vectors.ntotal == reader.info.passages
    from onrecord.search import Searcher

    result = Searcher(reader, FakeEmbedder()).search('"Article 5" retaliate', top_k=1)
    assert result.answers[0].speaker == "Jens Stoltenberg"
    reader.close()


def killed_before_publishing(index: Path, paths: list[Path]) -> dict:
    """An ingest killed with its rows committed and its generation not published (the worst
    moment for the shared database): the manifest as it was, the one transcript answering. Returns
    that manifest."""
    before = read_manifest(index)
    proc = harness(index, paths, kill_before_publish=True)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == -9 and "committed, killing before publishing" in out
    assert read_manifest(index) == before
    assert_answers(index, 1)
    return before


def test_kill_9_at_many_moments_leaves_the_old_index_and_a_rerun_completes(seeded, corpus):
    index = Path(seeded.index)
    moments = ["start", 0.3, 0.8, 1.5, "embedding", "after-embedding", 2.5]
    hit = []
    for moment in moments:
        proc = harness(index, [corpus], delay=0.05)
        if moment == "start":
            pass
        elif moment == "embedding":
            proc.stdout.readline()  # the first batch is embedded
        elif moment == "after-embedding":
            for line in proc.stdout:  # "embedded 96/400" ... until the last batch
                if line.startswith("embedded "):
                    done, total = line.split()[1].split("/")
                    if done == total:
                        break
        else:
            time.sleep(moment)
        proc.kill()
        proc.wait()
        hit.append(moment)
        manifest = read_manifest(index)
        assert manifest["transcripts"] in (1, 41)
        assert_answers(index, manifest["transcripts"])
    rerun = harness(index, [corpus])
    out, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err
    report = json.loads(out[out.index("{"):])
    assert len(report["added"]) + len(report["duplicates"]) == 40
    assert_answers(index, 41)
    assert not list(index.glob("gen-*.tmp")) and len(list(index.glob("gen-*"))) == 1
    assert hit == moments


def test_a_second_ingest_is_refused_while_one_runs(seeded, corpus, tmp_path):
    first = harness(seeded.index, [corpus], delay=0.1)
    first.stdout.readline()  # it holds the lock and is embedding
    other = tmp_path / "other.md"
    other.write_text("---\ntitle: Other\n---\nMS. ROE: Something else entirely.\n")
    second = harness(seeded.index, [other])
    _, err = second.communicate(timeout=60)
    assert second.returncode == 2 and "is being written by pid" in err and "try again" in err
    first.communicate(timeout=120)
    assert first.returncode == 0
    assert read_manifest(seeded.index)["transcripts"] == 41


def test_full_disk_fails_cleanly_with_the_old_index_intact(seeded, corpus):
    index = Path(seeded.index)
    before = read_manifest(index)
    db_size = (index / DB).stat().st_size  # the shared database, which the new rows would grow
    proc = harness(index, [corpus], max_file_bytes=db_size + 4096)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 2
    assert "could not write the index" in err and "the previous index is unchanged" in err
    assert "Traceback" not in err
    assert read_manifest(index) == before
    assert not list(index.glob("gen-*.tmp"))
    assert_answers(index, 1)


def test_server_answers_from_the_old_generation_while_an_ingest_runs(seeded, corpus):
    client = TestClient(create_app(seeded.settings, seeded, ui=False))
    proc = harness(seeded.index, [corpus], delay=0.1)
    proc.stdout.readline()
    for _ in range(5):
        assert client.get("/api/health").json()["transcripts"] == 1
        r = client.post("/api/ask", json={"question": '"Article 5" retaliate'})
        assert r.status_code == 200 and r.json()["answers"][0]["speaker"] == "Jens Stoltenberg"
    proc.communicate(timeout=120)
    assert client.get("/api/health").json()["transcripts"] == 41


def test_kill_9_before_publishing_a_small_write_leaves_the_old_generation(seeded, tmp_path):
    """Case: a small write (its rows and vectors appended to the recent files, store/rowlog.py and
    store/recent.py) killed with both appended and its generation not published: readers see the
    old generation; the next writer cuts what it appended and a rerun lands."""
    index = Path(seeded.index)
    small = tmp_path / "doorstep.md"
    small.write_text("---\ntitle: Doorstep on the summit\ndate: 2024-07-10\n---\n\n"
                     "Q: Will the summit agree on the capability targets?\n\n"
                     "MS. DOE: Yes. Allies will agree on the capability targets this week.\n")
    before = killed_before_publishing(index, [small])
    reader = LocalStore(index)
    assert reader.lexical(("capability",), (), Filters(), 5) == [] and reader.recent is None
    reader.close()
    rerun = harness(index, [small])
    out, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err
    after = read_manifest(index)
    assert after["data"] == before["data"] and after["generation"] == before["generation"] + 1
    reader = LocalStore(index)
    assert reader.recent is not None and reader.lexical(("capability",), (), Filters(), 5)
    reader.close()
    assert_answers(index, 2)


def test_truncated_or_corrupt_index_files_are_named_with_the_fix(seeded):
    index = Path(seeded.index)
    db = index / DB
    db.write_bytes(db.read_bytes()[:2000])
    with pytest.raises(IndexError_, match=r"onrecord\.sqlite is corrupt .*rebuild the index"):
        LocalStore(index)
    (index / MANIFEST).write_text('{"format": 1, "data": ')
    with pytest.raises(IndexError_, match=r"manifest\.json is unreadable"):
        LocalStore(index)


def test_missing_vectors_file_is_named(seeded):
    index = Path(seeded.index)
    data = index / read_manifest(index)["data"]
    for segment in data.glob("vectors*.faiss"):
        segment.unlink()
    with pytest.raises(IndexError_, match=r"vectors-000001\.faiss is missing"):
        LocalStore(index)


def test_stale_temporary_generation_is_cleaned_by_the_next_writer(seeded):
    stale = Path(seeded.index) / "gen-000099.tmp"
    stale.mkdir()
    (stale / DB).write_bytes(b"half written")
    with LocalWriter(seeded.index, "fake-hash-64", 64, "fake") as w:
        w.commit()
    assert not stale.exists()
    assert_answers(seeded.index, 1)


def asking_while(core: Onrecord, write) -> None:
    """Readers in four threads asking while `write()` runs: no error, every answer right."""
    import threading

    errors, answered = [], []
    stop = threading.Event()

    def ask():
        while not stop.is_set():
            try:
                r = core.ask('"Article 5" retaliate', top_k=3)
                answered.append(r.answers[0].speaker == "Jens Stoltenberg")
            except Exception as exc:  # any error at all is a failure here
                errors.append(repr(exc))

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        write()
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors, errors[:3]
    assert answered and all(answered)
    assert core.store().info.generation == read_manifest(core.index)["generation"]


def test_concurrent_questions_while_generations_change(seeded, corpus):
    """Readers in several threads while another process publishes generations: no errors."""
    def write():
        for _ in range(2):  # publish, then publish again with nothing new and a removal in between
            proc = harness(seeded.index, [corpus], delay=0.02)
            proc.communicate(timeout=120)
            assert proc.returncode == 0
            other = Onrecord(seeded.settings, embedder=FakeEmbedder())
            ids = [i.id for i in other.store().transcripts() if i.date != "2020-01-06"][:20]
            other.remove(ids)
    asking_while(seeded, write)


def test_concurrent_questions_while_small_writes_publish(seeded, corpus):
    """Case: briefings added one at a time by other processes (small writes: rows and vectors
    appended to the recent files, no new folder) while readers ask: no errors, and the
    readers' store moves on to each new generation."""
    files = sorted(corpus.iterdir())
    first = harness(seeded.index, files[:20])  # to the files: the next ones fit beside them
    assert first.wait(timeout=120) == 0

    def write():
        for path in files[20:26]:
            proc = harness(seeded.index, [path])
            _, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
    before = read_manifest(seeded.index)
    asking_while(seeded, write)
    after = read_manifest(seeded.index)
    assert after["data"] == before["data"] and after["generation"] == before["generation"] + 6
    assert seeded.store().recent is not None and len(seeded.store().recent) >= 60  # the six, at least


def test_kill_9_after_the_rows_are_committed_and_before_publishing(seeded, corpus):
    """Case: the worst moment for the shared database: the new generation's rows are committed,
    its manifest not yet written. Readers answer from the previous generation and never see the
    rows; the next writer takes them back and a rerun completes."""
    index = Path(seeded.index)
    killed_before_publishing(index, [corpus])
    reader = LocalStore(index)
    hits = [pid for pid, _ in reader.lexical(("policy", "topic", "unchanged"), (), Filters(), 50)]
    seed = reader.transcripts()[0].id
    assert len(reader.transcripts()) == 1 and all(r.transcript_id == seed for r in reader.passages(hits).values())
    reader.close()
    rerun = harness(index, [corpus])
    out, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err
    assert len(json.loads(out[out.index("{"):])["added"]) == 40
    assert_answers(index, 41)
    import sqlite3

    db = sqlite3.connect(index / DB)
    assert db.execute("SELECT count(*) FROM transcripts").fetchone()[0] == 41  # none left twice
