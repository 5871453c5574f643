"""The HTTP API through FastAPI's TestClient (fake embedder), every endpoint and bad input."""

import pytest
from fastapi.testclient import TestClient

from conftest import DATA, SEED, FakeEmbedder
from onrecord.api import create_app
from onrecord.service import Onrecord


@pytest.fixture
def client(app):
    app.ingest_paths([str(SEED), str(DATA / "1977-09-21-carter-news-conference.md")])
    return TestClient(create_app(app.settings, app, ui=False))


@pytest.fixture
def keyed(settings):
    core = Onrecord(settings.model_copy(update={"api_key": "s3cret"}), embedder=FakeEmbedder())
    core.ingest_paths([str(SEED)])
    return TestClient(create_app(core.settings, core, ui=False))


def test_health(client):
    body = client.get("/api/health").json()
    assert body["status"] == "ok" and body["transcripts"] == 2 and body["passages"] > 10
    assert body["model"] == "fake-hash-64"


def test_ask_post_and_get_give_the_contract_shape(client):
    r = client.post("/api/ask", json={"question": '"Article 5" retaliate', "top_k": 2})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["question"] == '"Article 5" retaliate' and body["no_answer"] in (True, False)
    a = body["answers"][0]
    assert a["speaker"] == "Jens Stoltenberg" and a["asked_by"] == "TV 2"
    assert a["transcript"]["date"] == "2020-01-06" and a["transcript"]["file"].endswith(".txt")
    assert len(a["span"]) == 2 and all(len(h) == 2 for h in a["highlights"])
    g = client.get("/api/ask", params={"q": '"Article 5" retaliate', "top_k": 2})
    assert g.status_code == 200 and g.json()["answers"][0]["text"] == a["text"]


def test_ask_filters(client):
    r = client.post("/api/ask", json={"question": "resignation", "speaker": "Carter", "since": "1977-01-01", "until": "1977-12-31"})
    assert r.status_code == 200
    assert {a["speaker"] for a in r.json()["answers"]} == {"Jimmy Carter"}


@pytest.mark.parametrize(
    "body, fragment",
    [
        ({"question": ""}, "question"),
        ({"question": "   "}, "empty"),
        ({"question": "x" * 10_000}, "question"),
        ({"question": "iran", "top_k": 0}, "top_k"),
        ({"question": "iran", "top_k": 51}, "top_k"),
        ({"question": "iran", "since": "2020-13-45"}, "since"),
        ({"question": "iran", "since": "2021-01-01", "until": "2020-01-01"}, "after"),
        ({"top_k": 3}, "question"),
    ],
)
def test_bad_ask_input_is_a_clear_4xx(client, body, fragment):
    r = client.post("/api/ask", json=body)
    assert 400 <= r.status_code < 500, r.text
    assert fragment in r.json()["detail"]


def test_bad_get_and_content_type(client):
    assert client.get("/api/ask", params={"q": "", "top_k": 3}).status_code == 422
    assert client.get("/api/ask", params={"q": "iran", "top_k": "many"}).status_code == 422
    r = client.post("/api/ask", content=b"question=iran", headers={"content-type": "text/plain"})
    assert r.status_code == 422 and "detail" in r.json()


def test_transcripts_list_get_and_unknown_id(client):
    listed = client.get("/api/transcripts").json()
    assert {t["title"] for t in listed} == {"NATO addresses Middle East tensions", "The President's News Conference"}
    seed = next(t for t in listed if t["date"] == "2020-01-06")
    full = client.get(f"/api/transcripts/{seed['id']}").json()
    assert full["speakers"] == ["Jens Stoltenberg"]
    turn = full["turns"][0]
    assert full["text"][turn["span"][0] : turn["span"][1]] == turn["text"]
    missing = client.get("/api/transcripts/doesnotexist")
    assert missing.status_code == 404 and "doesnotexist" in missing.json()["detail"]
    assert client.delete("/api/transcripts/doesnotexist").status_code == 404


def test_upload_reports_per_file_and_delete(client):
    files = [
        ("files", ("ford.md", (DATA / "1975-09-16-ford-news-conference.md").read_bytes(), "text/markdown")),
        ("files", ("../../etc/evil.txt", b"", "text/plain")),
        ("files", ("seed.txt", SEED.read_bytes(), "text/plain")),
    ]
    r = client.post("/api/transcripts", files=files)
    assert r.status_code == 200, r.text
    body = r.json()
    assert [a["file"] for a in body["added"]] == ["ford.md"]
    assert body["failed"] == [{"file": "evil.txt", "reason": "the file is empty"}]
    assert body["duplicates"] == ["seed.txt"]
    assert client.get("/api/health").json()["transcripts"] == 3
    tid = body["added"][0]["id"]
    assert client.delete(f"/api/transcripts/{tid}").json() == {"deleted": tid}
    assert client.get("/api/health").json()["transcripts"] == 2


def test_a_small_upload_is_answered_at_once_from_the_recent_passages(client, app):
    """Case: a briefing uploaded to a running server is a small write (no new files: store/recent.py);
    the next question is answered from it, and deleting it takes it out again."""
    from onrecord.store import read_manifest

    before = read_manifest(app.index)
    doorstep = (b"---\ntitle: Doorstep on the summit\ndate: 2024-07-10\n---\n\n"
                b"Q: Will the summit agree on the capability targets?\n\n"
                b"MS. DOE: Yes. Allies will agree on the capability targets this week.\n")
    r = client.post("/api/transcripts", files=[("files", ("doorstep.md", doorstep, "text/markdown"))])
    assert r.status_code == 200 and len(r.json()["added"]) == 1, r.text
    after = read_manifest(app.index)
    assert after["data"] == before["data"] and after["recent"]["bytes"] > 0
    answer = client.post("/api/ask", json={"question": "capability targets summit", "top_k": 1}).json()["answers"][0]
    assert answer["speaker"] == "Ms. Doe" and "capability targets" in answer["text"]
    tid = r.json()["added"][0]["id"]
    assert client.delete(f"/api/transcripts/{tid}").json() == {"deleted": tid}
    answers = client.post("/api/ask", json={"question": "capability targets summit", "top_k": 3}).json()["answers"]
    assert all(a["speaker"] != "Ms. Doe" for a in answers)


def test_oversized_upload_and_missing_files(client):
    big = b"MR. A: " + b"word " * (21 * 1024 * 1024 // 5)
    r = client.post("/api/transcripts", files=[("files", ("big.txt", big, "text/plain"))])
    assert r.status_code == 413 and "larger than" in r.json()["detail"]
    assert client.post("/api/transcripts").status_code == 422


def test_oversized_bodies_are_refused_before_reading(client):
    huge = b'{"question": "' + b"a" * 200_000 + b'"}'
    r = client.post("/api/ask", content=huge, headers={"content-type": "application/json"})
    assert r.status_code == 413 and "larger than" in r.json()["detail"]

    def stream():  # no Content-Length: counted while it streams
        for _ in range(100):
            yield b"x" * 1024

    r = client.post("/api/ask", content=stream(), headers={"content-type": "application/json"})
    assert r.status_code == 413
    r = client.post("/api/ask", content=b"{}", headers={"content-type": "application/json", "content-length": "abc"})
    assert r.status_code in (400, 413)


def test_writes_need_the_key_reads_do_not(keyed):
    assert keyed.get("/api/health").status_code == 200
    assert keyed.post("/api/ask", json={"question": "iran"}).status_code == 200
    files = [("files", ("seed.txt", SEED.read_bytes(), "text/plain"))]
    assert keyed.post("/api/transcripts", files=files).status_code == 401
    assert keyed.post("/api/transcripts", files=files, headers={"Authorization": "Bearer wrong"}).status_code == 401
    ok = keyed.post("/api/transcripts", files=files, headers={"Authorization": "Bearer s3cret"})
    assert ok.status_code == 200 and ok.json()["duplicates"] == ["seed.txt"]
    tid = keyed.get("/api/transcripts").json()[0]["id"]
    assert keyed.delete(f"/api/transcripts/{tid}").status_code == 401


def test_read_key_closes_reads_but_not_health(settings):
    core = Onrecord(settings.model_copy(update={"api_key": "w", "read_key": "r"}), embedder=FakeEmbedder())
    core.ingest_paths([str(SEED)])
    c = TestClient(create_app(core.settings, core, ui=False))
    assert c.get("/api/health").status_code == 200
    for call in (lambda h: c.post("/api/ask", json={"question": "iran"}, headers=h),
                 lambda h: c.get("/api/ask", params={"q": "iran"}, headers=h),
                 lambda h: c.get("/api/transcripts", headers=h)):
        assert call({}).status_code == 401
        assert call({"Authorization": "Bearer nope"}).status_code == 401
        assert call({"Authorization": "Bearer r"}).status_code == 200
        assert call({"Authorization": "Bearer w"}).status_code == 200
    files = [("files", ("seed.txt", SEED.read_bytes(), "text/plain"))]
    assert c.post("/api/transcripts", files=files, headers={"Authorization": "Bearer r"}).status_code == 401


def test_every_error_has_the_same_shape(client):
    for r in (client.get("/api/transcripts/x"), client.post("/api/ask", json={}), client.get("/api/ask")):
        assert set(r.json()) == {"detail"} and isinstance(r.json()["detail"], str)


def test_openapi_and_docs(client):
    spec = client.get("/openapi.json").json()
    assert {"/api/health", "/api/ask", "/api/transcripts", "/api/transcripts/{tid}"} <= set(spec["paths"])
    assert client.get("/docs").status_code == 200


def test_no_index_is_a_503_with_the_fix(tmp_path, settings):
    core = Onrecord(settings.model_copy(update={"index": tmp_path / "none"}), embedder=FakeEmbedder())
    r = TestClient(create_app(core.settings, core, ui=False)).get("/api/health")
    assert r.status_code == 503 and "onrecord ingest" in r.json()["detail"]


def test_server_picks_up_a_new_generation(client, settings):
    before = client.get("/api/health").json()["transcripts"]
    other = Onrecord(settings, embedder=FakeEmbedder())
    other.ingest_paths([str(DATA / "1961-03-23-kennedy-news-conference.md")])
    assert client.get("/api/health").json()["transcripts"] == before + 1


def test_speakers_are_one_name_per_person_with_their_labels(app):
    """The registry: surname labels resolved within a file ("MR. KIRBY" -> John Kirby), a short
    form in another file ("Mr. Kirby", an SRT that never names him) merged into the full name the
    index knows, labels kept as aliases, role labels not listed; the speaker filter takes a label."""
    kirby = next(DATA.glob("2024-03-25-*"))
    srt = DATA.parent / "formats" / "gaggle.srt"
    assert app.ingest_paths([str(kirby), str(SEED)]).ok and app.ingest_paths([str(srt)]).ok
    client = TestClient(create_app(app.settings, app, ui=False))
    speakers = {s["name"]: s for s in client.get("/api/speakers").json()}
    assert "Mr. Kirby" not in speakers and speakers["John Kirby"]["transcripts"] == 2
    assert "MR. KIRBY" in speakers["John Kirby"]["aliases"] and speakers["John Kirby"]["role"] == "spokesperson"
    assert not {"Moderator", "Reporter", "Aide", "Answer"} & set(speakers)
    r = client.post("/api/ask", json={"question": "hostages timeline", "speaker": "MR. KIRBY", "top_k": 3})
    assert r.status_code == 200 and {a["speaker"] for a in r.json()["answers"]} == {"John Kirby"}


def test_short_forms_stay_apart_when_the_surname_is_ambiguous():
    from onrecord.models import SPOKESPERSON, Transcript, Turn
    from onrecord.registry import canonical_names, is_full_name, is_short_form

    assert is_short_form("Mr. Kirby") and is_short_form("Acting Administrator Slavitt") and not is_short_form("John Kirby")
    assert is_full_name("George H. W. Bush") and not is_full_name("Administration Mccarthy")
    t = Transcript(id="x", title="t", date=None, source_url=None, file="f", organisation=None, text="Hello there.",
                   turns=(Turn(speaker="Mr. Bush", role=SPOKESPERSON, span=(0, 12)),), exchanges=())
    (same,) = canonical_names([t], ["George Bush", "George W. Bush"])
    assert same.turns[0].speaker == "Mr. Bush"
    (merged,) = canonical_names([t], ["George W. Bush"])
    assert merged.turns[0].speaker == "George W. Bush" and merged.speakers == ("George W. Bush",)


def test_short_forms_of_one_surname_merge_only_when_they_can_be_one_person():
    from onrecord.models import SPOKESPERSON, Transcript, Turn
    from onrecord.registry import canonical_names

    def said_by(*names):
        return Transcript(id="x", title="t", date=None, source_url=None, file="f", organisation=None, text="Hi there.",
                          turns=tuple(Turn(speaker=n, role=SPOKESPERSON, span=(0, 9)) for n in names), exchanges=())

    (t,) = canonical_names([said_by("Surgeon General Murthy")], ["Dr. Murthy"])
    assert t.turns[0].speaker == "Dr. Murthy"
    (t,) = canonical_names([said_by("Ms. Johnson", "Dr. Johnson")], ["Mr. Johnson"])
    assert [tu.speaker for tu in t.turns] == ["Ms. Johnson", "Dr. Johnson"]


def test_an_unknown_speaker_filter_says_so(client):
    r = client.post("/api/ask", json={"question": "Article 5", "speaker": "Nobody Atall"})
    assert r.status_code == 422 and r.json()["detail"] == "no speaker matches 'Nobody Atall'"
    assert client.post("/api/ask", json={"question": "Article 5", "speaker": "stoltenberg"}).status_code == 200


def _article5(client) -> dict:
    return client.post("/api/ask", json={"question": '"Article 5" retaliate', "top_k": 3}).json()["answers"][0]


def test_an_answer_by_its_id_comes_with_its_exchange(client):
    """Case: the permalink of an answer to a reporter's question (the question turn, the answer
    turn, the turns around them)."""
    a = _article5(client)
    assert a["id"] == f"{a['transcript']['id']}-{a['span'][0]}-{a['span'][1]}"
    r = client.get(f"/api/answers/{a['id']}")
    assert r.status_code == 200, r.text
    page = r.json()
    got = page["answer"]
    assert (got["id"], got["text"], got["speaker"], got["asked"], got["span"]) == (a["id"], a["text"], a["speaker"], a["asked"], a["span"])
    assert "score" not in got and page["permalink"] == f"/a/{a['id']}"
    roles = [t["role"] for t in page["exchange"]]
    assert roles == ["questioner", "spokesperson"] and page["exchange"][0]["text"] == a["asked"]
    assert page["exchange"][1]["text"].startswith(a["text"][:200])
    assert page["before"]["speaker"] == "Jens Stoltenberg" and page["after"]["role"] == "questioner"


@pytest.mark.parametrize("bad", ["nope", "0000000000000000-1-2", "{tid}-5-3", "{tid}-0-10", "{q_start}"])
def test_an_id_that_names_no_answer_is_404(client, bad):
    """Case: a made-up id, an unknown transcript, an empty span, the title, a reporter's question:
    a permalink never presents anything but one answer turn's words."""
    a = _article5(client)
    tid = a["transcript"]["id"]
    page = client.get(f"/api/answers/{a['id']}").json()
    q = page["exchange"][0]["span"]
    value = bad.format(tid=tid, q_start=f"{tid}-{q[0]}-{q[1]}")
    assert client.get(f"/api/answers/{value}").status_code == 404
    assert client.get(f"/a/{value}").status_code == 404


def test_the_answer_page_is_a_small_embeddable_page(client):
    a = _article5(client)
    r = client.get(f"/a/{a['id']}")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "script-src" not in r.headers["content-security-policy"] and "default-src 'none'" in r.headers["content-security-policy"]
    body = r.text
    assert "<script" not in body and "Jens Stoltenberg" in body and "6 January 2020" in body
    assert "on the record via onrecord" in body and f'href="http://testserver/a/{a["id"]}"' in body
    assert "I think the important thing now is to really try to de-escalate" in body
    assert 'type="application/json+oembed"' in body


def test_oembed_points_an_iframe_at_the_answer_page(client):
    a = _article5(client)
    url = f"http://testserver/a/{a['id']}"
    r = client.get("/api/oembed", params={"url": url, "maxwidth": 400})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["type"] == "rich" and body["version"] == "1.0" and body["provider_name"] == "onrecord"
    assert body["author_name"] == "Jens Stoltenberg" and body["width"] == 400 and body["height"] == 300
    assert f'<iframe src="{url}" width="400"' in body["html"]
    assert client.get("/api/oembed", params={"url": url, "format": "xml"}).status_code == 501
    assert client.get("/api/oembed", params={"url": "http://testserver/api/health"}).status_code == 422
    assert client.get("/api/oembed", params={"url": "http://testserver/a/nope-1-2"}).status_code == 404


def test_docs_work_offline(client):
    """/docs loads Swagger UI from the app itself, not from a CDN."""
    page = client.get("/docs").text
    assert "cdn." not in page and "jsdelivr" not in page and "unpkg" not in page
    assert "/docs-assets/swagger-ui-bundle.js" in page
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        r = client.get(f"/docs-assets/{asset}")
        assert r.status_code == 200 and len(r.content) > 10_000


def test_transcripts_by_speaker(client):
    r = client.get("/api/transcripts", params={"speaker": "Carter"})
    assert r.status_code == 200 and [t["file"] for t in r.json()] == ["1977-09-21-carter-news-conference.md"]
    assert r.headers["X-Total-Count"] == "1"
    assert client.get("/api/transcripts", params={"speaker": "Stoltenberg"}).json()[0]["date"] == "2020-01-06"
    assert client.get("/api/transcripts", params={"speaker": "Nobody Atall"}).status_code == 422
