"""Attacks on a real server and a real ingest, each as an attacker would make it (issue 10). Every
test performs the attack and checks that it fails cleanly; without the fix it succeeds."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from conftest import DATA, SEED, FakeEmbedder
from live_server import call_ui, serving
from onrecord.cli import main as cli
from onrecord.config import Settings
from onrecord.errors import IndexError_
from onrecord.service import Onrecord
from onrecord.store import DB, MANIFEST, LocalStore, read_manifest

GOOD = DATA / "1977-09-21-carter-news-conference.md"


@pytest.fixture
def seeded(app) -> Onrecord:
    assert app.ingest_paths([str(SEED)]).ok
    return app


def keyed(settings, **keys) -> Onrecord:
    core = Onrecord(settings.model_copy(update=keys), embedder=FakeEmbedder())
    assert core.ingest_paths([str(SEED)]).ok
    return core


# --- 1, 2: the UI reads no file it did not receive -------------------------------------------


def forged_history(path: str) -> list:
    return [{"role": "user", "content": [{"type": "file", "file": {"path": path, "meta": {"_type": "gradio.FileData"}}}]}]


def test_a_forged_chat_history_cannot_make_the_ui_serve_a_server_file(settings):
    core = keyed(settings, read_key="reader")  # the attack of the issue: with a read key, a reader learns the API key
    secret = Path(settings.index).parent / "secret.txt"
    secret.write_text("ONRECORD_API_KEY=s3cret\n")
    with serving(core) as base:
        auth = httpx.post(base + "/login", data={"username": "x", "password": "reader"})
        cookies = auth.cookies
        for target in ("/etc/passwd", "/proc/self/environ", str(secret)):
            kind, payload = call_ui(base, "ask", ["Article 5", forged_history(target), "Any speaker", "", "", {}],
                                    cookies=cookies)
            text = json.dumps(payload)
            assert "gradio_api/file=" not in text and Path(target).name not in text
            assert "root:x:0" not in text and "s3cret" not in text
            served = httpx.get(f"{base}/gradio_api/file={target}", cookies=cookies)
            assert served.status_code in (403, 404) and "root:x:0" not in served.text and "s3cret" not in served.text
        # the question itself was answered from the index (the forged history was ignored)
        kind, payload = call_ui(base, "ask", ["Article 5 retaliate", [], "Any speaker", "", "", {}], cookies=cookies)
        assert kind == "complete" and "Stoltenberg" in json.dumps(payload)


def test_the_ui_upload_event_ingests_only_files_the_browser_uploaded(seeded, tmp_path):
    planted = tmp_path / "elsewhere" / "planted.md"
    planted.parent.mkdir()
    planted.write_text("---\ntitle: Planted\n---\nMS. ROE: A file that was never uploaded.\n")
    with serving(seeded) as base:
        entry = {"path": str(planted), "orig_name": "planted.md", "meta": {"_type": "gradio.FileData"}}
        kind, payload = call_ui(base, "upload", [[entry], ""])
        assert "Added 1 transcript" not in json.dumps(payload)
        assert seeded.store().info.transcripts == 1 and planted.exists()
        # a real upload through the page's upload endpoint is ingested, and then deleted
        with open(GOOD, "rb") as fh:
            up = httpx.post(base + "/gradio_api/upload", files={"files": (GOOD.name, fh, "text/markdown")})
        assert up.status_code == 200, up.text
        stored = up.json()[0]
        kind, payload = call_ui(base, "upload", [[{"path": stored, "orig_name": GOOD.name,
                                                  "meta": {"_type": "gradio.FileData"}}], ""])
        assert kind == "complete" and "Added 1 transcript(s)" in json.dumps(payload), payload
        assert seeded.store().info.transcripts == 2 and not Path(stored).exists()


def test_ui_uploads_need_the_key_when_one_is_set_and_are_size_capped(settings):
    core = keyed(settings, api_key="s3cret", max_upload_mb=0.05)
    with serving(core) as base:
        files = {"files": ("a.md", b"MS. ROE: Hello.\n", "text/markdown")}
        assert httpx.post(base + "/gradio_api/upload", files=files).status_code == 401
        ok = httpx.post(base + "/gradio_api/upload", files=files, cookies={"onrecord_key": "s3cret"})
        assert ok.status_code == 200, ok.text
        big = {"files": ("b.md", b"MS. ROE: x\n" * 20_000, "text/markdown")}
        assert httpx.post(base + "/gradio_api/upload", files=big, cookies={"onrecord_key": "s3cret"}).status_code == 413


# --- 3, 4, 6, 7: hostile files are each that file's failure, bounded in time and memory ------

BILLION_LAUGHS = """---
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
title: *i
---
MS. ROE: Hello.
"""


def hostile_files(folder: Path) -> dict[str, str]:
    """File name -> what its failure must say."""
    files = {
        "laughs.md": (BILLION_LAUGHS, "alias"),
        "deep.md": ("---\nx: " + "[" * 5000 + "]" * 5000 + "\n---\nMS. ROE: Hello.\n", "nested"),
        "deep.json": ('{"text": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested"),
        "huge-front.md": ("---\n" + "k: v\n" * 20_000 + "---\nMS. ROE: Hello.\n", "longer than"),
    }
    for name, (text, _) in files.items():
        (folder / name).write_text(text)
    return {name: why for name, (_, why) in files.items()}


def test_hostile_files_fail_alone_and_the_rest_of_the_batch_lands(app, tmp_path, capsys):
    folder = tmp_path / "batch"
    folder.mkdir()
    expected = hostile_files(folder)
    (folder / "keys.md").write_text("---\n1: one\n~: nothing\ntitle: Numeric keys\n---\nMS. ROE: Keys that are not strings.\n")
    shutil.copy(GOOD, folder / GOOD.name)
    code = cli(["ingest", str(folder), "--json"], onrecord=app)
    out, err = capsys.readouterr()
    assert code == 1 and "Traceback" not in err
    report = json.loads(out)
    failed = {Path(f["file"]).name: f["reason"] for f in report["failed"]}
    assert set(failed) == set(expected)
    for name, why in expected.items():
        assert why in failed[name], (name, failed[name])
    assert {a["file"] for a in report["added"]} == {GOOD.name, "keys.md"}


def test_hostile_files_over_http_are_reported_not_500(seeded):
    with serving(seeded, ui=False) as base:
        files = [("files", ("laughs.md", BILLION_LAUGHS.encode())), ("files", (GOOD.name, GOOD.read_bytes())),
                 ("files", ("deep.json", ('{"text": ' + "[" * 100_000 + "]" * 100_000 + "}").encode()))]
        r = httpx.post(base + "/api/transcripts", files=files, timeout=60)
        assert r.status_code == 200, r.text
        body = r.json()
        assert {f["file"] for f in body["failed"]} == {"laughs.md", "deep.json"}
        assert [a["file"] for a in body["added"]] == [GOOD.name]


def _parse_seconds(name: str, data: bytes) -> float:
    from onrecord.chunking import chunk
    from onrecord.errors import TranscriptError
    from onrecord.transcripts import parse_bytes

    t0 = time.perf_counter()
    try:
        for t in parse_bytes(data, name):
            chunk(t)
    except TranscriptError:  # refused (oversized front matter): as good, if quick
        pass
    return time.perf_counter() - t0



def test_adversarial_files_parse_in_linear_time():
    """Quadratic cases of the issue at sizes where quadratic parsing takes minutes (21 s for 100k
    spaces before; 8k labels 61 s); linear parsing takes well under a second. The 20 MB figures
    are benchmarks/adversarial.py's."""
    sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))
    from adversarial import CASES

    for name, make in CASES.items():
        suffix = ".html" if name.startswith("html") else ".md"
        data = make(2_000_000)
        assert _parse_seconds(name + suffix, data) < 15, name


def test_no_passage_is_larger_than_the_model_can_read():
    from onrecord.chunking import MAX_CHARS, chunk
    from onrecord.transcripts import parse_bytes

    for body in ("MS. ROE: " + "?!;" * 300_000, "MS. ROE: " + "*" * 500_000, "MS. ROE: " + "word " * 50_000):
        (t,) = parse_bytes(body.encode(), "x.md")
        passages = chunk(t)
        assert passages and max(len(p.text) for p in passages) <= MAX_CHARS
        assert all(p.text == t.text[p.span[0]:p.span[1]] for p in passages)
        assert len(passages[0].embedding_text()) <= MAX_CHARS + 4000


# --- 5: an upload does not stop the server answering ------------------------------------------


class SlowEmbedder(FakeEmbedder):
    """The fake model at the pace of a real one (0.2 s a batch of 16 passages), the GIL released."""

    def embed(self, texts, progress=None):
        out = []
        for i in range(0, len(texts), 16):
            time.sleep(0.2)
            out.append(super().embed(texts[i:i + 16], progress=progress))
        import numpy as np

        return np.concatenate(out) if out else np.zeros((0, self.dim), dtype="float32")


def test_a_large_upload_runs_as_a_job_while_questions_are_answered(settings, tmp_path):
    core = Onrecord(settings, embedder=SlowEmbedder())
    assert core.ingest_paths([str(SEED)]).ok
    big = "\n\n".join(f"Q Question {k} on topic {k % 17}?\n\nMS. ROE: Answer {k}: " + f"the policy on {k} stands. " * 20
                      for k in range(1000))

    data = ("---\ntitle: Long briefing\n---\n" + big).encode()
    assert len(data) > 512 * 1024
    with serving(core, ui=False) as base, httpx.Client(base_url=base, timeout=30) as client:
        r = client.post("/api/transcripts", files=[("files", ("long.md", data))])
        assert r.status_code == 202, r.text
        job = r.json()
        assert job["status"] in ("queued", "running") and r.headers["location"] == job["url"]
        waits = []
        while True:
            t0 = time.perf_counter()
            assert client.get("/api/health").status_code == 200
            assert client.post("/api/ask", json={"question": "Article 5"}).status_code == 200
            waits.append(time.perf_counter() - t0)
            state = client.get(job["url"]).json()
            if state["status"] in ("done", "failed"):
                break
            time.sleep(0.2)
        assert state["status"] == "done" and state["report"]["added"][0]["file"] == "long.md"
        assert state["done"] == state["total"] > 0
        assert len(waits) >= 3 and max(waits) < 2.0  # answered all along (the ingest takes several seconds)
        assert client.get("/api/health").json()["transcripts"] == 2
        small = client.post("/api/transcripts", files=[("files", (GOOD.name, GOOD.read_bytes()))])
        assert small.status_code == 200 and small.json()["added"][0]["file"] == GOOD.name
        assert client.get("/api/jobs/nope").status_code == 404


# --- 8: control characters never reach FTS5 ----------------------------------------------------


def test_a_nul_inside_a_quoted_phrase_is_answered_and_the_connection_lives(seeded):
    with serving(seeded, ui=False) as base, httpx.Client(base_url=base) as client:
        for q in ('"war\x00peace"', '"Article\x005"', "\x00\x01\x1f", '"\x7f"'):
            r = client.get("/api/ask", params={"q": q})
            assert r.status_code in (200, 422), (q, r.text)
        r = client.get("/api/ask", params={"q": "Article 5"})  # the same keep-alive connection
        assert r.status_code == 200 and r.json()["answers"]


# --- 9: a full disk releases the lock and says so ----------------------------------------------


@pytest.fixture
def small_disk(tmp_path):
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path) -> Path:
    filler = disk / "filler"
    with open(filler, "wb") as fh:
        try:
            while True:
                fh.write(b"\0" * 65536)
                fh.flush()
        except OSError:
            pass
    return filler


def test_a_full_disk_during_delete_is_a_clean_error_and_frees_the_lock(small_disk, capsys):
    from onrecord.config import Settings

    core = Onrecord(Settings(index=small_disk / "index"), embedder=FakeEmbedder())
    assert core.ingest_paths([str(SEED), str(GOOD)]).ok
    ids = [t.id for t in core.store().transcripts()]
    filler = fill(small_disk)
    with serving(core, ui=False) as base:
        r = httpx.delete(f"{base}/api/transcripts/{ids[0]}", timeout=60)
        assert r.status_code == 503 and "could not write the index" in r.json()["detail"]
        assert cli(["documents", "remove", ids[0]], onrecord=core) == 2
        err = capsys.readouterr().err
        assert "could not write the index" in err and "Traceback" not in err
        assert httpx.get(base + "/api/health").json()["transcripts"] == 2  # the previous index answers
        filler.unlink()  # space returns: the next write goes through at once (no lock left held)
        r = httpx.delete(f"{base}/api/transcripts/{ids[0]}", timeout=60)
        assert r.status_code == 200, r.text
        assert httpx.get(base + "/api/health").json()["transcripts"] == 1


# --- 10, 11: per-request cost does not grow with generations or speakers -------------------------


def _deleted_files_held(index: Path) -> list[str]:
    held = []
    for fd in Path("/proc/self/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith(str(index)) and target.endswith("(deleted)"):
            held.append(target)
    return held


def test_old_generations_are_closed_once_no_search_uses_them(seeded):
    with serving(seeded, ui=False) as base, httpx.Client(base_url=base, timeout=30) as client:
        for n in range(20):
            doc = f"---\ntitle: Briefing {n}\n---\nQ Why {n}?\n\nMS. ROE: Because of reason {n}, said Jane Roe.\n"
            r = client.post("/api/transcripts", files=[("files", (f"b{n}.md", doc.encode()))])
            assert r.status_code == 200, r.text
            assert client.post("/api/ask", json={"question": f"reason {n}"}).status_code == 200
        assert client.get("/api/health").json()["transcripts"] == 21
    assert _deleted_files_held(seeded.index) == []


def test_many_speakers_live_in_the_database_not_the_manifest(app, tmp_path):
    import random
    import string

    rng = random.Random(7)
    names = {"".join(rng.choice(string.ascii_uppercase) for _ in range(9)) for _ in range(20_000)}
    turns = [f"MR. {n}: I speak for the {n.lower()} office on the budget." for n in sorted(names)]
    path = tmp_path / "crowd.md"
    path.write_text("---\ntitle: A crowded briefing\n---\n" + "\n\n".join(turns) + "\n")
    t0 = time.perf_counter()
    assert app.ingest_paths([str(path), str(SEED)]).ok
    assert time.perf_counter() - t0 < 60
    manifest_bytes = (Path(app.index) / MANIFEST).stat().st_size
    assert manifest_bytes < 4096 and "speakers" not in read_manifest(app.index)
    assert len(app.store().speaker_registry()) > 19_000
    app.ask("budget office", top_k=5)  # warm
    times = []
    for _ in range(15):
        t0 = time.perf_counter()
        app.ask("What did Stoltenberg say about Article 5?", top_k=5)
        times.append(time.perf_counter() - t0)
    assert sorted(times)[7] < 0.1  # the median; 565 ms when every request read a 1 MB manifest


# --- 12: nothing from the index before login ---------------------------------------------------


def test_with_a_read_key_the_page_embeds_nothing_from_the_index(settings):
    core = keyed(settings, read_key="reader")
    assert core.ingest_paths([str(GOOD)]).ok
    with serving(core) as base:
        for path in ("/", "/config", "/gradio_api/info", "/login"):
            body = httpx.get(base + path).text
            assert "Stoltenberg" not in body and "Carter" not in body, path
        cookies = httpx.post(base + "/login", data={"username": "x", "password": "reader"}).cookies
        assert httpx.get(base + "/api/health").status_code == 200
        assert httpx.get(base + "/api/transcripts").status_code == 401
        assert "Middle East tensions" in httpx.get(base + "/api/transcripts", headers={"Authorization": "Bearer reader"}).text
        assert httpx.get(base + "/config", cookies=cookies).status_code == 200
        kind, loaded = call_ui(base, "on_load", [], cookies=cookies)  # after login, the page loads them
        assert kind == "complete" and "Jens Stoltenberg" in json.dumps(loaded)


# --- 13, 14: leftovers and damage --------------------------------------------------------------


def test_a_generation_left_by_a_crash_is_swept_by_the_next_writer(seeded):
    current = Path(seeded.index) / read_manifest(seeded.index)["data"]
    orphan = Path(seeded.index) / "gen-000000"
    shutil.copytree(current, orphan)  # as if a writer died between publishing and deleting the old one
    assert seeded.ingest_paths([str(GOOD)]).ok
    assert not orphan.exists() and [p.name for p in Path(seeded.index).glob("gen-*")] == [read_manifest(seeded.index)["data"]]


@pytest.mark.parametrize("manifest, says", [
    ("[1, 2]", "not an index manifest"),
    ('{"format": 2}', "'model' is missing"),
    ('{"format": 2, "model": "fake-hash-64", "dim": 64, "generation": 1, "data": "../../etc"}', "damaged"),
    ('{"format": 2, "model": "fake-hash-64", "dim": 64, "generation": 1, "data": "gen-000001", "checksums": [1]}', "damaged"),
])
def test_a_damaged_manifest_is_named_with_the_fix(seeded, manifest, says, capsys):
    (Path(seeded.index) / MANIFEST).write_text(manifest)
    with pytest.raises(IndexError_, match=says):
        LocalStore(seeded.index)
    fresh = Onrecord(seeded.settings, embedder=FakeEmbedder())
    assert cli(["ask", "Article 5"], onrecord=fresh) == 2
    err = capsys.readouterr().err
    assert says in err and "rebuild" in err and "Traceback" not in err and "None" not in err


def test_old_manifest_speakers_field_of_another_shape_is_no_crash(seeded):
    manifest = read_manifest(seeded.index)
    manifest["speakers"] = [1, 2]
    (Path(seeded.index) / MANIFEST).write_text(json.dumps(manifest))
    assert Onrecord(seeded.settings, embedder=FakeEmbedder()).ask("Article 5").answers


def test_a_manifest_garbled_while_serving_keeps_the_loaded_generation_answering(seeded):
    with serving(seeded, ui=False) as base:
        assert httpx.post(base + "/api/ask", json={"question": "Article 5"}).status_code == 200
        (Path(seeded.index) / MANIFEST).write_text('{"format": 2, "data": ')
        for _ in range(3):
            r = httpx.post(base + "/api/ask", json={"question": "Article 5 retaliate"})
            assert r.status_code == 200 and r.json()["answers"][0]["speaker"] == "Jens Stoltenberg"
        assert httpx.get(base + "/api/health").status_code == 200


def test_a_database_overwritten_in_place_is_a_503_that_says_rebuild(seeded):
    """Case: the shared database's pages overwritten on disk. A reader of a WAL database keeps the
    pages it has already read while SQLite's own log says nothing changed, so the damage is met by
    the next server to read it: every request is a 503 that says rebuild, not a 500."""
    db = Path(seeded.index) / DB  # the shared database (store/versions.py), and its write-ahead log
    for f in (db, Path(f"{db}-wal")):
        if f.exists():
            with open(f, "r+b") as fh:  # the same file, its pages overwritten
                fh.write(os.urandom(f.stat().st_size))
    fresh = Onrecord(seeded.settings, embedder=FakeEmbedder())
    with serving(fresh, ui=False) as base:
        for call in (lambda: httpx.post(base + "/api/ask", json={"question": "Article 5 retaliate"}),
                     lambda: httpx.get(base + "/api/transcripts")):
            r = call()
            assert r.status_code == 503 and "rebuild" in r.json()["detail"], r.text


def test_flipped_bytes_in_the_vectors_are_found_at_load(seeded):
    vectors = Path(seeded.index) / read_manifest(seeded.index)["data"] / "vectors-000001.faiss"
    data = bytearray(vectors.read_bytes())
    for i in range(1000, len(data) // 2, max(1, len(data) // 10_000)):  # inside the vectors, not the header
        data[i] ^= 0x5A

    vectors.write_bytes(bytes(data))
    with pytest.raises(IndexError_, match="vectors-000001.faiss is corrupt .*checksum.*rebuild"):
        LocalStore(seeded.index)


def test_the_shared_database_is_not_checksummed_but_a_damaged_one_is_refused(tmp_path):
    """Case: the one database all generations share changes in place at every write, so the
    manifest records checksums of the generation's own files (vectors) only; a database cut short
    is refused at load with the rebuild message."""
    core = Onrecord(Settings(index=tmp_path / "index"), embedder=FakeEmbedder())
    assert core.ingest_paths([str(SEED)]).ok
    manifest = read_manifest(core.index)
    assert DB not in manifest["checksums"] and manifest["tables"] == DB
    assert manifest["checksums"]["vectors-000001.faiss"].startswith("crc32:")
    LocalStore(core.index).close()
    db = Path(core.index) / DB
    db.write_bytes(db.read_bytes()[:1000])
    with pytest.raises(IndexError_, match="onrecord.sqlite is corrupt"):
        LocalStore(core.index)
