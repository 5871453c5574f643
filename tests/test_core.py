"""Chunking, the index directory, ingestion, retrieval and the CLI (fake embedder: fast)."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import DATA, SEED, FakeEmbedder
from onrecord.chunking import MAX_WORDS, chunk, split_span
from onrecord.cli import main
from onrecord.errors import BadQuery, IndexError_, IndexLocked, ModelMismatch
from onrecord.query import SpeakerNames
from onrecord.ranking import FEATURES, Ranker, fit_listwise
from onrecord.search import parse_query
from onrecord.store import Filters, LocalStore, LocalWriter, read_manifest
from onrecord.store.tables import fts_query
from onrecord.transcripts import parse_file


def test_passages_are_verbatim_never_cross_turns_and_fit_the_window():
    for path in DATA.iterdir():
        t = parse_file(path)[0]
        for p in chunk(t):
            turn = t.turns[p.turn_index]
            assert turn.span[0] <= p.span[0] < p.span[1] <= turn.span[1]
            assert p.text == t.text[p.span[0] : p.span[1]]
            assert len(p.text.split()) <= MAX_WORDS * 1.3
            assert p.role == "spokesperson"


def test_long_answer_is_split_at_sentence_ends():
    text = " ".join(f"Sentence number {i} is here with some words." for i in range(60))
    spans = split_span(text, 0, len(text))
    assert len(spans) > 1
    assert all(text[a:b].endswith(".") for a, b in spans)
    assert "".join(text[a:b] + " " for a, b in spans).strip() == text


def test_seed_passage_carries_question_and_asker():
    t = parse_file(SEED)[0]
    p = next(p for p in chunk(t) if p.asked and "Article 5" in p.asked)
    assert p.asked_by == "TV 2" and p.speaker == "Jens Stoltenberg"
    assert p.text.startswith("I think the important thing now is to really try to de-escalate")
    assert p.embedding_text().startswith("Should Iran retaliate")


def test_ingest_search_reingest_and_remove(app, fake_embedder):
    report = app.ingest_paths([str(DATA)])
    assert report.ok and len(report.added) == len(list(DATA.iterdir()))
    manifest = read_manifest(app.index)
    assert manifest["passages"] == report.passages and manifest["model"] == "fake-hash-64"

    embedded = fake_embedder.texts_embedded
    again = app.ingest_paths([str(DATA)])
    assert not again.added and len(again.duplicates) == len(report.added)
    assert fake_embedder.texts_embedded == embedded, "re-ingest must not re-embed"
    assert read_manifest(app.index)["generation"] == manifest["generation"]

    result = app.ask('"Article 5" retaliate', top_k=3)  # the fake embedder ranks loosely: quote to pin it
    top = result.answers[0]
    assert top.speaker == "Jens Stoltenberg" and top.asked_by == "TV 2"
    seed = next(i for i in app.store().transcripts() if i.file.endswith("nato-2020-01-06-stoltenberg.txt"))
    full = app.store().transcript(seed.id)
    assert full.text[top.span[0] : top.span[1]] == top.text

    app.remove([seed.id])
    reader = app.store()
    assert seed.id not in {i.id for i in reader.transcripts()}
    assert reader.vectors.ntotal == reader.info.passages == manifest["passages"] - len(chunk(full))
    assert reader.lexical(("stoltenberg", "soleimani"), (), Filters(), 10) == []  # the lexical index forgot it too
    assert reader.document_frequency(["stoltenberg", "soleimani"]) in ({}, {"stoltenberg": 0, "soleimani": 0})
    assert all(a.transcript.id != seed.id for a in app.ask("Article 5 Iran retaliate", top_k=10).answers)


def test_bad_files_are_reported_and_the_rest_lands(app, tmp_path, capsys):
    batch = tmp_path / "batch"
    (batch / "sub").mkdir(parents=True)
    shutil.copy(SEED, batch / "seed.txt")
    (batch / "empty.txt").write_bytes(b"")
    (batch / "binary.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    (batch / "sub" / "latin1.txt").write_bytes("MR. X: caf\xe9 cr\xe8me br\xfbl\xe9e.".encode("latin-1"))
    (batch / "bad-front.md").write_text("---\ntitle: [oops\n---\nMS. A: hi.\n")
    (batch / "no-text.json").write_text('{"title": "only a title"}')
    (batch / "script.html").write_text("<html><script>alert('x')</script><nav>Menu</nav><p>MS. A: Real words.</p></html>")
    (batch / "dangling.txt").symlink_to(tmp_path / "gone.txt")
    (batch / "loop").symlink_to(batch)  # a link to a folder is not followed
    (batch / "notes.docx").write_bytes(b"PK\x03\x04")  # not a transcript type: ignored in folders
    (batch / "huge.txt").write_bytes(b"MR. A: " + b"word " * (2 * 1024 * 1024 // 5))
    app.settings = app.settings.model_copy(update={"max_upload_mb": 1.0})
    code = main(["ingest", str(batch), "--index", str(app.index)], onrecord=app)
    out = capsys.readouterr().out
    assert code == 1
    assert "3 transcript(s) added" in out and "6 failed" in out
    assert "empty.txt: the file is empty" in out
    assert "binary.md: the file is binary" in out
    assert "latin1.txt: not UTF-8 (byte at offset 10): decoded as Windows-1252" in out
    assert "bad-front.md: malformed YAML front matter" in out
    assert "no-text.json: record 1 has no 'text' field" in out
    assert "dangling.txt: cannot read the file" in out
    assert "huge.txt: the file is 2.0 MB; the limit is 1 MB" in out
    titles = {i.file for i in app.store().transcripts()}
    assert titles == {"seed.txt", "latin1.txt", "script.html"}
    html = app.store().transcript(next(i.id for i in app.store().transcripts() if i.file == "script.html"))
    assert "alert" not in html.text and "Menu" not in html.text
    latin = next(i for i in app.store().transcripts() if i.file == "latin1.txt")
    assert "café crème brûlée." in app.store().transcript(latin.id).text


def test_folder_with_thousands_of_files(app, tmp_path):
    batch = tmp_path / "many"
    batch.mkdir()
    for i in range(2000):
        (batch / f"{i:04d}.md").write_text(f"---\ntitle: Briefing {i}\ndate: 2024-01-01\n---\nMS. A: Answer number {i} about topic {i % 7}.\n")
    report = app.ingest_paths([str(batch)])
    assert report.ok and len(report.added) == 2000 and report.passages == 2000
    assert (app.store().info.transcripts, app.store().info.passages) == (2000, 2000)


def test_cli_ask_json_matches_the_contract(app, capsys):
    assert main(["ingest", str(SEED), "--index", str(app.index)], onrecord=app) == 0
    capsys.readouterr()
    assert main(["ask", "Article 5 retaliate Iran", "--json", "-k", "2", "--index", str(app.index)], onrecord=app) == 0
    payload = json.loads(capsys.readouterr().out)
    assert set(payload) == {"question", "answers", "no_answer", "interpreted"}
    assert set(payload["interpreted"]) == {"speakers", "read_as", "organisation", "years", "months", "phrases",
                                           "speaker", "since", "until"}
    a = payload["answers"][0]
    assert {"text", "asked", "asked_by", "speaker", "score", "highlights", "span", "transcript", "excerpt"} <= set(a)
    assert 0 <= a["score"] <= 1
    assert set(a["transcript"]) >= {"id", "title", "date", "source_url", "file"}
    assert a["transcript"]["date"] == "2020-01-06"
    for start, end in a["highlights"]:
        assert 0 <= start < end <= len(a["text"])
    assert main(["documents", "list", "--index", str(app.index)], onrecord=app) == 0
    assert "NATO addresses Middle East tensions" in capsys.readouterr().out


def test_cli_reports_missing_index_cleanly(app, capsys):
    assert main(["ask", "anything", "--index", str(Path(app.index) / "nope")], onrecord=app) == 2
    assert "no index at" in capsys.readouterr().err


def test_index_refuses_another_model_and_a_second_writer(app):
    app.ingest_paths([str(SEED)])
    with pytest.raises(ModelMismatch, match="fake-hash-64"):
        LocalWriter(app.index, "other-model", 64, "fake")
    with pytest.raises(ModelMismatch, match="ONRECORD_BACKEND=fake"):  # vectors of one backend only
        LocalWriter(app.index, "fake-hash-64", 64, "onnx-int8")
    with LocalWriter(app.index, "fake-hash-64", 64, "fake"):
        with pytest.raises(IndexLocked, match="being written"):
            LocalWriter(app.index, "fake-hash-64", 64, "fake")


def test_failed_write_leaves_previous_generation_answering(app):
    app.ingest_paths([str(SEED)])
    before = read_manifest(app.index)
    t = parse_file(DATA / "1977-09-21-carter-news-conference.md")[0]
    with pytest.raises(IndexError_, match="could not write the index .*the previous index is unchanged"):
        with LocalWriter(app.index, "fake-hash-64", 64, "fake") as w:
            w.add(t, chunk(t), FakeEmbedder().embed([p.embedding_text() for p in chunk(t)]))
            raise OSError(28, "No space left on device")
    # a bug (any other error) is not passed off as a write error, and loses nothing either
    with pytest.raises(RuntimeError, match="crash before commit"):
        with LocalWriter(app.index, "fake-hash-64", 64, "fake") as w:
            w.add(t, chunk(t), FakeEmbedder().embed([p.embedding_text() for p in chunk(t)]))
            raise RuntimeError("crash before commit")
    assert read_manifest(app.index) == before
    assert not list(Path(app.index).glob("gen-*.tmp"))
    reader = LocalStore(app.index)
    assert (reader.info.transcripts, reader.info.passages) == (1, before["passages"]) and reader.vectors.ntotal == before["passages"]


def test_reader_switches_to_a_new_generation(app):
    app.ingest_paths([str(SEED)])
    reader = app.store()
    other = type(app)(app.settings, embedder=FakeEmbedder())
    other.ingest_paths([str(DATA / "1977-09-21-carter-news-conference.md")])
    assert reader.info.transcripts == 1, "a reader keeps its generation"
    assert app.store() is not reader and app.store().info.transcripts == 2


def test_corrupt_vectors_file_is_named(app):
    app.ingest_paths([str(SEED)])
    manifest = read_manifest(app.index)
    (Path(app.index) / manifest["data"] / "vectors.faiss").write_bytes(b"garbage")
    with pytest.raises(Exception, match="vectors.faiss is corrupt"):
        LocalStore(app.index)


def test_filters_speaker_and_dates(app):
    app.ingest_paths([str(DATA)])
    only = app.ask("Iran", top_k=10, speaker="Kirby")
    assert only.answers and {a.speaker for a in only.answers} == {"John Kirby"}
    dated = app.ask("the President", top_k=10, since="1975-01-01", until="1977-12-31")
    assert dated.answers and all("1975" <= a.transcript.date[:4] <= "1977" for a in dated.answers)


def test_quoted_phrase_must_match_exactly(app):
    app.ingest_paths([str(DATA)])
    result = app.ask('what was said about "Article 5"', top_k=10)
    assert result.answers
    assert all("article 5" in (a.text + " " + (a.asked or "")).lower() for a in result.answers)


def test_query_parsing():
    q = parse_query('What did Kirby say about "Rafah" in 2024?', ["John Kirby", "Karine Jean-Pierre", "Moderator"])
    assert q.named_speakers == ("John Kirby",) and q.phrases == ("Rafah",) and q.years == ("2024",)
    assert parse_query("What did NATO say about Article 5?", []).organisation == "NATO"
    # a month of a year, however it is written; a month alone or a year alone is not one
    dated = parse_query("Masks in May 2021, or on June 3rd, 2021, or in March of 1963?", [])
    assert dated.months == ("2021-05", "2021-06", "1963-03") and dated.years == ("2021", "1963")
    assert parse_query("What did Psaki say in May about 2021?", []).months == ()
    assert parse_query("What did the President say about steel", []).president
    assert not parse_query("Who decides, the President or the Senate?", []).president
    with pytest.raises(BadQuery, match="empty"):
        parse_query("   ", [])
    with pytest.raises(BadQuery, match="limit"):
        parse_query("x" * 10_000, [])


def test_fts_query_is_always_quoted():
    expr = fts_query(("near", "or", 'a"b', "x*"), ('he said "no',))
    assert expr.count('"') % 2 == 0 and "NEAR(" not in expr


@pytest.mark.parametrize("question", ['"', "NEAR(a b)", "a AND OR", "*", "col:value", "((", "')--", "\\"])
def test_hostile_questions_do_not_break_search(app, question):
    app.ingest_paths([str(SEED)])
    result = app.ask(question, top_k=3)
    assert isinstance(result.no_answer, bool)


def test_misspelt_names_are_read_as_the_speaker_they_misspell():
    """A word the index does not know, within one edit of a speaker's surname (two with the first
    name beside it), names that speaker; known words and short words never do."""
    names = SpeakerNames(["John Kirby", "Jen Psaki", "Karine Jean-Pierre", "Jens Stoltenberg", "Ned Price"])
    unknown = lambda words: {}  # noqa: E731 (no word occurs in the index)

    def read(text, frequency=unknown):
        q = parse_query(text, names, frequency=frequency)
        return q.named_speakers, q.read_as

    assert read("What did Kirbey say about Rafah?") == (("John Kirby",), (("Kirbey", "John Kirby"),))
    assert read("Jen Saki on the border") == (("Jen Psaki",), (("Saki", "Jen Psaki"),))
    assert read("what did Psacki say")[0] == ("Jen Psaki",)  # a letter added: within one edit
    assert read("Stoltenburg on Iran")[0] == ("Jens Stoltenberg",)
    assert read("Jean-Piere on tariffs")[0] == ("Karine Jean-Pierre",)
    assert read("What did Kirby say?") == (("John Kirby",), ())  # exact: nothing to report
    assert read("the pricez of eggs")[0] == ("Ned Price",)  # a word the index does not know, one edit from Price
    assert read("the prices of eggs", frequency=lambda words: {w: 50 for w in words})[0] == ()  # a word it knows: no
    assert read("Price on Gaza")[0] == ("Ned Price",)
    assert read("Psaki?", frequency=None)[0] == ("Jen Psaki",)


def test_initials_typed_in_capitals_name_the_speaker_of_three_or_more_names():
    """'LBJ' is Lyndon B. Johnson and 'KJP' Karine Jean-Pierre (a hyphen parts names too); the
    same letters in lower case are a word, and two initials are too few to tell anyone."""
    names = SpeakerNames(["Lyndon B. Johnson", "Karine Jean-Pierre", "John Kirby", "Senior Administration Official"])
    read = lambda text: (parse_query(text, names).named_speakers, parse_query(text, names).read_as)  # noqa: E731
    assert read("Looking back, what was LBJ's proudest achievement?") == (
        ("Lyndon B. Johnson",), (("LBJ", "Lyndon B. Johnson"),))
    assert read("What did KJP say about Gaza?")[0] == ("Karine Jean-Pierre",)
    assert read("what did lbj say")[0] == ()
    assert read("What did JK say?")[0] == ()
    assert read("Did the SAO brief on Gaza?")[0] == ()  # a role, not a name


def test_the_ranker_learns_which_features_mark_the_answer_and_scores_0_to_1():
    rng = np.random.default_rng(0)
    xs, ys = [], []
    for _ in range(60):  # questions of 30 candidates; the answer has a higher first feature
        x = rng.normal(size=(30, len(FEATURES)))
        y = np.zeros(30)
        y[0] = 1
        x[0, 0] += 2.5
        xs.append(x)
        ys.append(y)
    model = fit_listwise(xs, ys, l2=1.0)
    assert model.weights[0] > 0 and abs(model.weights[0]) == max(abs(model.weights))
    test = rng.normal(size=(30, len(FEATURES)))
    test[0, 0] += 2.5
    s = model.scores(test)
    assert ((0 <= s) & (s <= 1)).all() and int(np.argmax(s)) == 0


def test_the_shipped_ranker_matches_the_features(tmp_path):
    model = Ranker.load()
    assert len(model.weights) == len(FEATURES) and model.info["held_out"]
    model.save(tmp_path / "r.json")
    again = Ranker.load(tmp_path / "r.json")
    x = np.ones((2, len(FEATURES)))
    assert np.allclose(again.scores(x), model.scores(x), atol=1e-5)
    (tmp_path / "bad.json").write_text(json.dumps({"features": ["cos"], "weights": [1], "bias": 0, "mean": [0],
                                                   "scale": [1]}))
    with pytest.raises(ValueError, match="fitted on features"):
        Ranker.load(tmp_path / "bad.json")


def test_embedder_vectors_are_normalised(fake_embedder):
    v = fake_embedder.embed(["a b c", "d e"])
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0)


def test_graph_index_above_the_threshold_is_kept_in_step(app, monkeypatch):
    """Case: over the threshold the vectors are one segment with a graph; a later write adds a
    small exact segment beside it (the graph is not rewritten) until the vectors outside the graph
    pass TAIL_MAX, when they are folded into it; removals are skipped until HNSW_MAX_REMOVED."""
    import onrecord.store.vectors as store

    monkeypatch.setattr(store, "HNSW_THRESHOLD", 20)
    monkeypatch.setattr(store, "TAIL_MAX", 100)
    monkeypatch.setattr("onrecord.store.local.RECENT_MAX", 0)  # every write to the files (no recent passages)
    app.ingest_paths([str(SEED), str(DATA / "1977-09-21-carter-news-conference.md")])
    reader = app.store()
    data = Path(app.index) / read_manifest(app.index)["data"]
    graph_file = data / store.graph_name(store.segment_names(data)[0])
    assert graph_file.is_file() and reader.vectors.graph is not None
    assert reader.vectors.graph.ntotal == reader.vectors.ntotal == reader.info.passages
    inode = graph_file.stat().st_ino
    app.ingest_paths([str(DATA / "1961-03-23-kennedy-news-conference.md")])  # a small segment beside the graph
    reader = app.store()
    data = Path(app.index) / read_manifest(app.index)["data"]
    assert len(store.segment_names(data)) == 2 and (data / graph_file.name).stat().st_ino == inode  # linked
    assert reader.vectors.ntotal == reader.info.passages > reader.vectors.graph.ntotal
    q = FakeEmbedder().embed_query("Laos")
    assert len(set(reader.dense(q, Filters(), 10)) & set(reader.exact_search(q, 10))) >= 9
    kennedy = next(i.id for i in reader.transcripts() if i.date == "1961-03-23")
    kennedy_ids = [r[0] for r in reader.tables.db.execute("SELECT id FROM passages WHERE transcript_id=?", (kennedy,))]
    assert set(kennedy_ids) & set(reader.dense(q, Filters(), 50))  # found in the exact segment
    app.ingest_paths([str(DATA / "2021-05-11-press-briefing-by-press-secretary-jen-psaki-secretary-of-energy-jennifer-"
                              "granholm-and-secretary-of-homeland-security-alejandro-mayorkas-may-11-2021.md")])
    reader = app.store()  # over TAIL_MAX outside the graph: folded into it, one segment again
    data = Path(app.index) / read_manifest(app.index)["data"]
    assert len(store.segment_names(data)) == 1
    assert reader.vectors.graph.ntotal == reader.vectors.ntotal == reader.info.passages
    seed, carter = (next(i.id for i in reader.transcripts() if i.date == d) for d in ("2020-01-06", "1977-09-21"))
    seed_ids = [r[0] for r in reader.tables.db.execute("SELECT id FROM passages WHERE transcript_id=?", (seed,))]
    seed_vectors = np.stack(list(reader.vectors_of(seed_ids).values()))
    n_graph = reader.vectors.graph.ntotal

    app.remove([seed])  # 10 of 191 passages: the graph stays, the removed ids are skipped
    reader = app.store()
    data = Path(app.index) / read_manifest(app.index)["data"]
    assert sorted(np.load(data / store.REMOVED)) == sorted(seed_ids)
    assert reader.vectors.graph.ntotal == n_graph == reader.info.passages + len(seed_ids)
    for v in seed_vectors:  # the removed passages' own vectors find everything but them
        _, got = reader.vectors.graph.search(v.reshape(1, -1), 50, params=reader.vectors.params)
        assert len(got[0][got[0] >= 0]) == 50 and not set(got[0]) & set(seed_ids)
        assert not set(reader.dense(v, Filters(), 50)) & set(seed_ids)
    assert all(a.transcript.id != seed for a in app.ask("Article 5 Iran", top_k=10).answers)

    app.remove([carter])  # now over HNSW_MAX_REMOVED: rebuilt from the exact vectors
    reader = app.store()
    data = Path(app.index) / read_manifest(app.index)["data"]
    assert not (data / store.REMOVED).exists() and reader.vectors.params is None
    assert reader.vectors.graph.ntotal == reader.vectors.ntotal == reader.info.passages
    assert all(a.transcript.id not in (seed, carter) for a in app.ask("Bert Lance Article 5", top_k=10).answers)


@pytest.mark.parametrize("text, question, answer, fragment", [
    # the fragment before the real answer, a stage note between them
    ("Q: What about the deficits?\n\nMR. DOE: Well — deficits.\n\n[Laughter]\n\nThe deficit will fall next year "
     "because revenues are up and spending is flat, and that is good news for everyone who pays taxes.\n\n",
     "deficits", "The deficit will fall next year", "Well — deficits."),
    # the fragment after it: the rest of an answer a reporter cut into ("... work —" / "This year?" / "— and ...")
    ("Q: When will children go back to school?\n\nMR. DOE: The plan we announced today sets out how teachers and "
     "children will go back to work —\n\nQ: This year?\n\nMR. DOE: — and to school.\n\n",
     "go back to school", "The plan we announced today", "— and to school."),
])
def test_a_fragment_stands_for_the_real_answer_of_its_exchange(app, tmp_path, text, question, answer, fragment):
    """A fragment and the real answer are two turns of one exchange (by the same speaker): the
    fragment is never returned in the real answer's place, whether it comes before or after it."""
    doc = tmp_path / "briefing.md"
    doc.write_text(f"---\ntitle: Briefing\n---\n{text}Q: And the debt?\n\nMR. DOE: The debt is stable.\n")
    assert app.ingest_paths([str(doc)]).ok
    answers = app.ask(question, top_k=3).answers
    assert answers[0].text.startswith(answer)
    assert not any(a.text == fragment for a in answers)


def test_cli_edges_end_cleanly(app, capsys):
    """`ask` with since after until is a usage error (as in the API); `serve` on a port in use says
    so before anything else; `ask --json | head` ends without a traceback."""
    import socket
    import subprocess
    import sys

    from onrecord.cli import main

    assert app.ingest_paths([str(SEED)]).ok
    assert main(["ask", "Article 5", "--since", "2021-01-01", "--until", "2020-01-01"], onrecord=app) == 2
    assert "since (2021-01-01) is after until (2020-01-01)" in capsys.readouterr().err
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--port", str(port)], onrecord=app) == 2
        err = capsys.readouterr().err
        assert f"cannot serve on 127.0.0.1:{port}" in err and "serving on" not in err
    script = ("import sys; sys.path.insert(0, 'tests'); from conftest import FakeEmbedder; from onrecord.config import "
              "Settings; from onrecord.service import Onrecord; from onrecord.cli import main; "
              f"sys.exit(main(['ask', 'Article 5', '-k', '20', '--json'], onrecord=Onrecord(Settings(index={str(app.index)!r}), "
              "embedder=FakeEmbedder())))")
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            cwd=str(SEED.parent.parent.parent))
    proc.stdout.close()  # the reader is gone before anything is written: `| head` that has had enough
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141
    assert "Traceback" not in err and "BrokenPipe" not in err and "Exception ignored" not in err


def test_eval_takes_several_query_files_and_pools_their_kinds(app, tmp_path, capsys):
    from onrecord.cli import main

    assert app.ingest_paths([str(SEED)]).ok
    gold = ["I think the important thing now is to really try to de-escalate"]
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_text(json.dumps({"id": "a1", "query": '"Article 5" retaliate', "kind": "handwritten", "gold": gold}) + "\n")
    b.write_text(json.dumps({"id": "b1", "query": "Iran de-escalate restraint", "kind": "handwritten", "gold": gold}) + "\n")
    assert main(["eval", str(a), str(b), "--results", str(tmp_path / "r.jsonl")], onrecord=app) == 0
    out = capsys.readouterr().out
    assert f"== {a} (1 queries)" in out and "== all 2 files (2 queries)" in out
    pooled = out.split("== all 2 files")[1]
    assert "handwritten     2" in pooled
    assert len((tmp_path / "r.jsonl").read_text().splitlines()) == 2
