"""Checking a quote (issue 14): verbatim up to typography, an omission marked by an ellipsis, a
reworded quote as close with what differs, a quote by someone else, stock phrases refused; and the
API's query parameters (unknown ones are a 422), transcript paging and a search within one transcript."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from conftest import DATA, SEED, FakeEmbedder
from onrecord.api import create_app
from onrecord.cli import main
from onrecord.config import Settings
from onrecord.errors import BadQuery
from onrecord.service import Onrecord
from onrecord.ui import verdict_card
from onrecord.verify import match_turn, quote_parts, sentence_run

KIRBY = DATA / "2024-03-25-on-the-record-press-gaggle-by-white-house-national-security-communications-advisor-john-kirby-6.md"


@pytest.fixture(scope="module")
def core(tmp_path_factory) -> Onrecord:
    app = Onrecord(Settings(index=tmp_path_factory.mktemp("verify") / "index"), embedder=FakeEmbedder())
    assert app.ingest_paths([str(SEED), str(KIRBY), str(DATA / "1977-09-21-carter-news-conference.md")]).ok
    return app


def _original(core, v):
    t = core.store().transcript(v.match.transcript.id)
    return t.text[v.match.span[0]:v.match.span[1]]


def test_a_quote_with_other_typography_is_verbatim(core):
    v = core.verify("we believe in the importance of de–escalation and restraint")  # en dash, lower-case first letter
    assert v.verdict == "verbatim" and v.similarity == 1.0 and not v.differences
    assert v.match.speaker == "Jens Stoltenberg" and v.match.transcript.date == "2020-01-06"
    assert v.match.text == _original(core, v) == "We believe in the importance of de-escalation and restraint."


def test_an_ellipsis_marks_an_omission_within_one_answer(core):
    v = core.verify("I will not speculate … That will only increase tensions.")
    assert v.verdict == "verbatim" and v.match.text.startswith("I will not speculate") and v.match.text == _original(core, v)
    assert v.match.text.endswith("That will only increase tensions.")
    assert core.verify("That will only increase tensions ... I will not speculate").verdict != "verbatim"  # order counts


def test_a_reworded_quote_is_close_and_says_what_differs(core):
    v = core.verify("NATO believes strongly in the importance of de-escalation and of restraint")
    assert v.verdict == "close" and 0.6 <= v.similarity < 1
    assert v.match.text == "We believe in the importance of de-escalation and restraint."
    assert [d.quoted for d in v.differences] == ["NATO", "strongly", "of"] and all(d.said == "" for d in v.differences)


def test_a_quote_attributed_to_the_wrong_speaker_is_not_found_with_who_said_it(core):
    v = core.verify("We believe in the importance of de-escalation and restraint.", speaker="Kirby")
    assert v.verdict == "not_found" and v.match is None
    assert v.elsewhere.speaker == "Jens Stoltenberg" and "Jens Stoltenberg" in v.reason
    assert core.verify("We believe in the importance of de-escalation and restraint.",
                       speaker="Stoltenberg").verdict == "verbatim"


def test_common_words_and_absent_quotes_are_not_found(core):
    short = core.verify("we believe that")
    assert short.verdict == "not_found" and short.match is None and "too few words" in short.reason
    assert core.verify("The quick brown fox jumps over the lazy dog near the river bank").verdict == "not_found"
    for bad in ("", "   ", "x" * 2001):
        with pytest.raises(BadQuery):
            core.verify(bad)


def test_alignment_and_sentence_runs_on_their_own():
    text = "First point. We agree Iran must never acquire a nuclear weapon. Next point."
    m = match_turn(quote_parts("Iran must never be allowed a nuclear weapon"), "Iran must never be allowed a nuclear weapon", text)
    assert 0.6 <= m.similarity < 1 and [(d.quoted, d.said) for d in m.differences] == [("be allowed", "acquire")]
    assert text[slice(*sentence_run(text, m.span))] == "We agree Iran must never acquire a nuclear weapon."
    assert [len(p) for p in quote_parts("one two . . . three [...] four")] == [2, 1, 1]


def test_the_api_cli_and_ui_check_quotes(core, capsys):
    with TestClient(create_app(core.settings, core, ui=False)) as http:
        body = http.post("/api/verify", json={"quote": "We believe in the importance of de-escalation and restraint"}).json()
        assert body["verdict"] == "verbatim" and body["match"]["speaker"] == "Jens Stoltenberg" and body["differences"] == []
        got = http.get("/api/verify", params={"quote": "We believe in the importance of de-escalation and restraint",
                                              "speaker": "Kirby"}).json()
        assert got["verdict"] == "not_found" and got["elsewhere"]["speaker"] == "Jens Stoltenberg"
        assert http.post("/api/verify", json={"quote": ""}).status_code == 422
        assert http.get("/api/verify", params={"quote": "x" * 2001}).status_code == 422
    assert main(["verify", "NATO believes strongly in the importance of de-escalation and of restraint", "--json",
                 "--index", core.index], onrecord=core) == 0
    assert '"verdict": "close"' in capsys.readouterr().out
    html = verdict_card(core.verify("We believe in the importance of de-escalation and restraint.", speaker="Kirby"))
    assert "Not on the record" in html and "Said by someone else" in html and "Jens Stoltenberg" in html


def test_unknown_query_parameters_are_refused(core):
    with TestClient(create_app(core.settings, core, ui=False)) as http:
        r = http.get("/api/ask", params={"q": "Article 5", "speakr": "Kirby"})
        assert r.status_code == 422 and "speakr" in r.json()["detail"] and "speaker" in r.json()["detail"]
        assert http.get("/api/health", params={"x": "1"}).status_code == 422
        assert http.get("/api/ask", params={"q": "Article 5", "speaker": "Stoltenberg"}).status_code == 200


def test_transcripts_page_and_filter_and_ask_within_one(core):
    with TestClient(create_app(core.settings, core, ui=False)) as http:
        every = http.get("/api/transcripts")
        assert every.headers["X-Total-Count"] == "3" and [t["date"] for t in every.json()] == sorted(
            t["date"] for t in every.json())
        page = http.get("/api/transcripts", params={"limit": 1, "offset": 1})
        assert page.json() == every.json()[1:2] and page.headers["X-Total-Count"] == "3"
        recent = http.get("/api/transcripts", params={"since": "2020-01-01"})
        assert recent.headers["X-Total-Count"] == "2" and {t["date"] for t in recent.json()} == {"2020-01-06", "2024-03-25"}
        titled = http.get("/api/transcripts", params={"q": "middle east"}).json()
        assert [t["date"] for t in titled] == ["2020-01-06"]
        assert http.get("/api/transcripts", params={"limit": 0}).status_code == 422
        kirby = next(t["id"] for t in every.json() if t["date"] == "2024-03-25")
        answers = http.get("/api/ask", params={"q": "Iran", "transcript": kirby, "top_k": 10}).json()["answers"]
        assert answers and {a["transcript"]["id"] for a in answers} == {kirby}
        assert http.get("/api/ask", params={"q": "Iran", "transcript": "no-such-id"}).status_code == 404
