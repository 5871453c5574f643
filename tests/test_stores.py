"""The store contract, one set of tests run against both stores: the local folder (SQLite + FAISS)
and Milvus (Milvus Lite, the same engine API in the process). Each test goes through the product's
own paths (ingest, ask, documents, the HTTP API), never a store's internals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from conftest import DATA, SEED, FakeEmbedder
from onrecord.chunking import chunk
from onrecord.cli import main
from onrecord.config import Settings
from onrecord.errors import BadQuery, ModelMismatch, NotFound
from onrecord.service import Onrecord
from onrecord.store import Filters, describe, open_store, open_writer
from onrecord.transcripts import parse_file

CARTER = DATA / "1977-09-21-carter-news-conference.md"
KENNEDY = DATA / "1961-03-23-kennedy-news-conference.md"
KIRBY = DATA / "2024-03-25-on-the-record-press-gaggle-by-white-house-national-security-communications-advisor-john-kirby-6.md"


@pytest.fixture(params=["local", "milvus-lite"])
def location(request, tmp_path) -> str:
    if request.param == "local":
        return str(tmp_path / "index")
    return f"milvus-lite://{tmp_path}/onrecord.db"


@pytest.fixture
def core(location) -> Onrecord:
    return Onrecord(Settings(index=location, samples=DATA), embedder=FakeEmbedder())


@pytest.fixture
def loaded(core) -> Onrecord:
    report = core.ingest_paths([str(SEED), str(CARTER), str(KENNEDY), str(KIRBY)])
    assert report.ok and len(report.added) == 4, report.summary()
    return core


def test_the_seed_question_is_answered_verbatim_with_its_question(loaded):
    result = loaded.ask('"Article 5" retaliate', top_k=3)
    top = result.answers[0]
    seed = loaded.store().transcript(top.transcript.id)
    assert top.speaker == "Jens Stoltenberg" and top.transcript.date == "2020-01-06"
    assert "Article 5" in top.asked and top.text == seed.text[top.span[0]:top.span[1]]
    assert top.transcript.title and top.transcript.file == SEED.name


def test_re_ingest_is_a_no_op(loaded):
    before = describe(loaded.index)
    report = loaded.ingest_paths([str(SEED), str(CARTER)])
    assert report.duplicates == [SEED.name, CARTER.name] and not report.added
    after = describe(loaded.index)
    assert (after.transcripts, after.passages) == (before.transcripts, before.passages) == (4, before.passages)


def test_remove_deletes_everywhere(loaded):
    store = loaded.store()
    seed = next(i for i in store.transcripts() if i.file == SEED.name)
    n_seed = len(chunk(store.transcript(seed.id)))
    before = describe(loaded.index)
    assert store.document_frequency(["stoltenberg"])["stoltenberg"] > 0
    assert main(["documents", "remove", seed.id, "--index", loaded.index], onrecord=loaded) == 0
    store = loaded.store()
    assert seed.id not in {i.id for i in store.transcripts()}
    assert store.info.passages == before.passages - n_seed and store.info.transcripts == 3
    assert store.document_frequency(["stoltenberg"]).get("stoltenberg", 0) == 0
    assert "Jens Stoltenberg" not in {s.name for s in store.speaker_registry()}
    assert all(a.transcript.id != seed.id for a in loaded.ask("Article 5 Iran retaliate", top_k=10).answers)
    with pytest.raises(NotFound):
        store.transcript(seed.id)
    with pytest.raises(NotFound):
        loaded.remove([seed.id])


def test_filters_run_inside_the_store(loaded):
    store = loaded.store()
    q = FakeEmbedder().embed_query("nuclear weapons Iran")
    kirby = store.dense(q, Filters(speaker="kirby"), 50)
    assert kirby and {r.speaker for r in store.passages(kirby).values()} == {"John Kirby"}
    old = store.dense(q, Filters(until="1970-01-01"), 50)
    assert old and {r.date for r in store.passages(old).values()} == {"1961-03-23"}
    window = store.lexical(("president",), (), Filters(since="1970-01-01", until="2021-01-01"), 50)
    assert window and {r.date for r in store.passages([i for i, _ in window]).values()} <= {"1977-09-21", "2020-01-06"}
    seed = next(i.id for i in store.transcripts() if i.file == SEED.name)
    within = store.dense(q, Filters(transcript=seed), 200)
    assert within and {r.transcript_id for r in store.passages(within).values()} == {seed}
    assert store.dense(q, Filters(speaker="nobody at all"), 10) == []
    result = loaded.ask("What did they say about the hostages?", speaker="Kirby")
    assert result.answers and {a.speaker for a in result.answers} == {"John Kirby"}
    with pytest.raises(BadQuery, match="no speaker matches"):
        loaded.ask("hostages", speaker="Nobody Atall")


def test_lexical_sides_and_phrases(loaded):
    store = loaded.store()
    answer = store.lexical(("deescalate", "restraint"), (), Filters(), 10)
    assert answer and all(s > 0 for _, s in answer) and [s for _, s in answer] == sorted((s for _, s in answer), reverse=True)
    assert "restraint" in store.passages([answer[0][0]])[answer[0][0]].text.lower()
    asked = store.lexical(("retaliate",), (), Filters(), 10, side="question")
    assert asked and all("retaliate" in (store.passages([i])[i].asked or "").lower() for i, _ in asked)
    phrase = loaded.ask('"Global Coalition"', top_k=10)
    assert phrase.answers and all("global coalition" in " ".join(f"{a.text} {a.asked or ''}".split()).lower()
                                  for a in phrase.answers)
    assert not loaded.ask('"coalition global unicorn"', top_k=5).answers


def test_passages_turns_and_text_agree(loaded):
    store = loaded.store()
    seed = next(i for i in store.transcripts() if i.file == SEED.name)
    t = store.transcript(seed.id)
    ids = store.dense(FakeEmbedder().embed_query("Iran Soleimani"), Filters(transcript=seed.id), 5)
    rows = store.passages(ids)
    vectors = store.vectors_of(ids)
    assert set(rows) == set(vectors) == set(ids)
    for pid, r in rows.items():
        assert r.text == t.text[r.start:r.end] == store.text_span(seed.id, r.start, r.end)
        assert np.isclose(np.linalg.norm(vectors[pid]), 1.0, atol=1e-3)
        parts = store.turn_passages(seed.id, r.turn_index)
        assert pid in {p.id for p in parts} and [p.start for p in parts] == sorted(p.start for p in parts)
        assert store.turn_shapes({(seed.id, r.turn_index)})[(seed.id, r.turn_index)] == (parts[0].start, len(parts))
        if r.asked:
            assert pid in {p.id for p in store.exchange_passages(seed.id, r.asked)}
    exported = [p for p, _ in store.iter_passages()]
    assert len(exported) == store.info.passages and len({p.id for p in exported}) == len(exported)


def test_transcripts_page_in_date_order(loaded):
    store = loaded.store()
    every = store.transcripts()
    assert [i.date for i in every] == ["1961-03-23", "1977-09-21", "2020-01-06", "2024-03-25"]
    assert store.transcripts(limit=2) == every[:2] and store.transcripts(limit=2, offset=3) == every[3:]
    assert store.transcripts(limit=5, offset=9) == []
    assert store.transcript_info(every[0].id) == every[0]


def test_speakers_one_name_per_person(loaded):
    registry = {s.name: s for s in loaded.store().speaker_registry()}
    assert {"Jens Stoltenberg", "John Kirby"} <= set(registry)
    assert registry["Jens Stoltenberg"].transcripts == 1 and registry["Jens Stoltenberg"].answers > 0
    assert set(loaded.store().speaker_names()) >= set(registry)


def test_a_half_written_transcript_is_never_searched(core, monkeypatch):
    core.ingest_paths([str(SEED)])
    before = describe(core.index)
    t = parse_file(CARTER)[0]
    passages = chunk(t)
    vectors = FakeEmbedder().embed([p.embedding_text() for p in passages])
    with pytest.raises(RuntimeError, match="power cut"):
        with open_writer(core.index, "fake-hash-64", 64, "fake") as w:
            _die_before_visible(w, monkeypatch)
            w.add(t, passages, vectors)
            w.commit()
    store = open_store(core.index)
    assert (store.info.transcripts, store.info.passages) == (before.transcripts, before.passages)
    assert t.id not in {i.id for i in store.transcripts()}
    hits = store.lexical(("lance",), (), Filters(), 50) + [(i, 0) for i in store.dense(vectors[0], Filters(), 50)]
    assert not {r.transcript_id for r in store.passages([i for i, _ in hits]).values()} & {t.id}
    monkeypatch.undo()
    report = core.ingest_paths([str(CARTER)])  # and the next ingest writes it whole
    assert [x.id for x in report.added] == [t.id]
    assert core.ask('"Bert Lance"', top_k=1).answers[0].transcript.id == t.id


def _die_before_visible(writer, monkeypatch) -> None:
    """Make the writer fail at the last step before its additions become visible."""
    if hasattr(writer, "tables"):  # the local store: before the manifest names the new generation
        import onrecord.store.local as local

        def publish(*a, **k):
            raise RuntimeError("power cut")
        monkeypatch.setattr(local, "publish", publish)
        return
    client, real = writer.c.client, writer.c.client.upsert  # Milvus: its passages written, not yet published

    def upsert(name, rows, **kw):
        if name == writer.c.passages and rows and rows[0].get("published"):
            raise RuntimeError("power cut")
        return real(name, rows, **kw)
    monkeypatch.setattr(client, "upsert", upsert)


def test_an_index_keeps_its_model(loaded):
    with pytest.raises(ModelMismatch):
        with open_writer(loaded.index, "another-model", 64, "fake"):
            pass


def test_health_names_the_store_and_the_api_reads_through_it(loaded, location):
    from onrecord.api import create_app

    with TestClient(create_app(loaded.settings, loaded, ui=False)) as http:
        health = http.get("/api/health").json()
        assert health["store"] == ("local" if location.startswith("/") else "milvus-lite")
        assert (health["transcripts"], health["passages"]) == (4, describe(loaded.index).passages)
        listed = http.get("/api/transcripts").json()
        assert len(listed) == 4
        one = http.get(f"/api/transcripts/{listed[0]['id']}").json()
        assert one["text"] and one["turns"]
        ask = http.post("/api/ask", json={"question": '"Article 5" retaliate', "top_k": 2}).json()
        assert ask["answers"][0]["speaker"] == "Jens Stoltenberg"
        assert {s["name"] for s in http.get("/api/speakers").json()} >= {"Jens Stoltenberg", "John Kirby"}


PRESS_POINT = Path(__file__).parent / "talking-points" / "nato-2020-01-09-stoltenberg-press-point.txt"  # repeats the seed's Article 5 answer


def _article5(core) -> list:
    return core.ask("Would NATO respond under Article 5 if Iran retaliated?", top_k=10).answers


@pytest.mark.parametrize("batches", [[[SEED, PRESS_POINT]], [[SEED], [PRESS_POINT]]], ids=["one-batch", "later-batch"])
def test_a_talking_point_is_returned_once_with_its_other_occasions(core, batches):
    """Case: one speaker gives (nearly) the same answer at two briefings, found whether both arrive
    in one ingest or the second joins an index holding the first."""
    for batch in batches:
        assert core.ingest_paths([str(p) for p in batch]).ok
    answers = _article5(core)
    said = [a for a in answers if "if I start to speculate on how we will react" in a.text]
    assert len(said) == 1, [(a.transcript.date, a.text[:60]) for a in answers]  # once, not twice in the top ten
    top = said[0]
    assert [x.transcript.date for x in top.also_said] == ["2020-01-09" if top.transcript.date == "2020-01-06" else "2020-01-06"]
    other = top.also_said[0]
    assert 0.8 < other.similarity < 1.0  # one word differs
    text = core.store().text_span(other.transcript.id, *other.span)
    assert "if I start to speculate on how we will react" in text and other.transcript.id != top.transcript.id
    assert top.first_said == "2020-01-06"
    lone = next(a for a in answers if a is not top)
    assert lone.also_said == () and lone.first_said == lone.transcript.date


def test_removing_an_occasion_forgets_the_repeat(core):
    assert core.ingest_paths([str(SEED), str(PRESS_POINT)]).ok
    press = next(i for i in core.store().transcripts() if i.file == PRESS_POINT.name)
    core.remove([press.id])
    top = next(a for a in _article5(core) if "if I start to speculate" in a.text)
    assert top.also_said == () and top.transcript.date == "2020-01-06"
    assert core.ingest_paths([str(PRESS_POINT)]).ok  # and found again when it comes back
    top = next(a for a in _article5(core) if "if I start to speculate" in a.text)
    assert len(top.also_said) == 1
