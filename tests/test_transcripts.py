"""Parser tests: golden files on real transcripts, and the formats' edge cases."""

import json
from pathlib import Path

import pytest

from make_golden import summary
from onrecord.errors import TranscriptError
from onrecord.evaluation import normalize
from onrecord.models import MODERATOR, QUESTIONER, SPOKESPERSON
from onrecord.transcripts import clean_paragraph, find_date, parse_bytes, parse_file

DATA = Path(__file__).parent / "data"
GOLDEN = Path(__file__).parent / "golden"
FILES = sorted(p for p in DATA.iterdir() if p.is_file())


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name[:40])
def test_golden_structure(path):
    """Speakers, roles, turn and exchange counts and the first turns match the reviewed golden file."""
    expected = json.loads((GOLDEN / (path.name + ".json")).read_text(encoding="utf-8"))
    assert json.loads(json.dumps(summary(path), ensure_ascii=False)) == expected


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name[:40])
def test_every_turn_is_a_verbatim_run_of_the_file(path):
    """Each turn's text is its canonical span, and its words stand in the same order in the raw file."""
    t = parse_file(path)[0]
    raw = " ".join(normalize(path.read_text(encoding="utf-8")))
    for turn in t.turns:
        text = t.turn_text(turn)
        assert text == t.text[turn.span[0] : turn.span[1]]
        assert text.strip() == text and text
        assert " ".join(normalize(text)) in raw, f"{turn.speaker}: {text[:80]!r} is not in {path.name}"


def test_seed_questions_and_answers():
    t = parse_file(DATA / "nato-2020-01-06-stoltenberg.txt")[0]
    assert (t.title, t.date, t.organisation) == ("NATO addresses Middle East tensions", "2020-01-06", "NATO")
    tv2 = next(i for i, tu in enumerate(t.turns) if tu.affiliation == "TV 2")
    assert t.turn_text(t.turns[tv2]).startswith("Should Iran retaliate in a way that makes the United States trigger Article 5?")
    answer = next(e for e in t.exchanges if e.question == (tv2,))
    assert t.turns[answer.answer[0]].speaker == "Jens Stoltenberg"
    assert t.turn_text(t.turns[answer.answer[0]]).startswith("I think the important thing now is to really try to de-escalate")
    # unlabelled questions: "Philip Lote [NRK], NRK, Norwegian Broadcasting. Was ..." is Lote asking
    lote = [tu for tu in t.turns if tu.speaker == "Philip Lote"]
    assert [tu.role for tu in lote] == [QUESTIONER, QUESTIONER]
    assert lote[0].affiliation == "NRK" and t.turn_text(lote[0]).startswith("Was the criticism")
    michael = next(tu for tu in t.turns if tu.speaker == "Michael")
    assert michael.affiliation == "DPA" and t.turn_text(michael).startswith("You just said")
    # the unlabelled speech before the Q&A is Stoltenberg's opening statement
    assert t.exchanges[0].question == () and t.turns[0].speaker == "Jens Stoltenberg"
    assert t.turn_text(t.turns[0]).startswith("I have just chaired a meeting of the North Atlantic Council.")
    # the answer after "[...]" (its question was cut) is not glued to the speech
    assert t.exchanges[1].question == () and len(t.exchanges[1].answer) == 1


def test_white_house_surnames_resolve_and_lines_reflow():
    t = parse_file(next(DATA.glob("2024-03-25-*")))[0]
    kirby = [tu for tu in t.turns if tu.label == "MR. KIRBY"]
    assert kirby and {tu.speaker for tu in kirby} == {"John Kirby"} and {tu.role for tu in kirby} == {SPOKESPERSON}
    assert {tu.role for tu in t.turns if tu.label == "MODERATOR"} == {MODERATOR}
    assert "\n" not in t.turn_text(kirby[1]).replace("\n\n", " ") and "  " not in t.text
    # the closing time stamp is not part of the last answer
    assert not t.text.rstrip().endswith("EDT") or t.turns[-1].span[1] < len(t.text) - 5


def test_markdown_escapes_and_strike_tags_are_removed():
    assert clean_paragraph(r"their <s>phone call</s> \[meeting\] this *morning*") == "their phone call [meeting] this morning"
    assert clean_paragraph("visit <https://example.org/a.pdf>") == "visit https://example.org/a.pdf"


def test_presidential_conference_topics_and_other_speakers():
    t = parse_file(DATA / "1977-09-21-carter-news-conference.md")[0]
    assert t.speakers == ("Jimmy Carter",)
    assert {e.topic for e in t.exchanges} == {"RESIGNATION OF BERT LANCE"}
    ford = parse_file(DATA / "1975-09-16-ford-news-conference.md")[0]
    # "REPORTER." alone on a line, then "[1.] Mr. President, ..." is a question
    assert ford.turns[0].role == QUESTIONER and ford.turn_text(ford.turns[0]).startswith("[1.] Mr. President, you are")
    assert any(tu.speaker == "Frank Cormier" and tu.role == QUESTIONER for tu in ford.turns)


def test_date_found_in_text():
    assert find_date("NATO Ambassadors met on Monday (6 January 2020) to address") == "2020-01-06"
    assert find_date("on March 10, 2021 and 31 February 2020") == "2021-03-10"


@pytest.mark.parametrize(
    "data, reason",
    [(b"", "empty"), (b"  \n\n", "empty"), (b"\x00\x01\x02binary", "binary"),
     (bytes(range(1, 32)) * 20 + b"\xe9", "binary"), (b"\xff\xfeA\x00\x00\xd8", "UTF-16")],
)
def test_bad_files_have_clear_reasons(data, reason):
    with pytest.raises(TranscriptError, match=reason):
        parse_bytes(data, "x.txt")


def test_windows_1252_and_utf16_are_read_and_said():
    from onrecord.transcripts import sources_from_bytes

    [src] = sources_from_bytes("MR. X: Caf\u00e9 \u201cquoted\u201d cr\u00e8me.".encode("cp1252"), "x.txt")
    assert "Windows-1252" in src.note and "Café “quoted” crème." in src.text
    [src] = sources_from_bytes("MR. X: Grüße.".encode("utf-16"), "y.txt")
    assert src.note == "decoded as UTF-16" and "Grüße" in src.text
    [src] = sources_from_bytes("MR. X: Grüße.".encode(), "z.txt")
    assert src.note is None


def test_nonsense_front_matter_date_falls_back_to_the_text():
    t = parse_bytes(b"---\ntitle: T\ndate: 2024-13-45\n---\nBriefing of March 3, 2021.\n\nMS. A: Yes.\n", "d.md")[0]
    assert t.date == "2021-03-03"
    t = parse_bytes(b"---\ntitle: T\ndate: soon\n---\nMS. A: Yes.\n", "d.md")[0]
    assert t.date is None


def test_malformed_front_matter_and_unknown_type():
    with pytest.raises(TranscriptError, match="front matter"):
        parse_bytes(b"---\ntitle: [unclosed\n---\nMR. A: hi there.\n", "x.md")
    with pytest.raises(TranscriptError, match="unsupported file type"):
        parse_bytes(b"hello", "x.pdf")


def test_text_without_labels_is_one_statement_by_the_named_speaker():
    t = parse_bytes(b"---\ntitle: Statement\ndate: 2024-01-02\nspeakers: [Ann Example]\n---\nWe will act.\n\nMore words here.", "s.md")[0]
    assert [(tu.speaker, tu.role) for tu in t.turns] == [("Ann Example", SPOKESPERSON)]
    assert t.turn_text(t.turns[0]) == "We will act.\n\nMore words here."


def test_json_lines_and_html():
    rows = b'{"title": "A", "date": "2024-05-01", "text": "MS. DOE: First answer here."}\n{"title": "B", "text": "Q Why?\\n\\nMR. ROE: Because."}\n'
    ts = parse_bytes(rows, "batch.jsonl")
    assert [t.title for t in ts] == ["A", "B"] and ts[1].turns[1].speaker == "Mr. Roe"
    page = (b"<html><head><title>Briefing</title><script>var x='Q: nope';</script></head><body><nav>Home</nav>"
            b"<p>MS. DOE: We <b>will</b> act.</p><p>Q Is that final?</p><p>MS. DOE: It is.</p></body></html>")
    t = parse_bytes(page, "page.html")[0]
    assert t.title == "Briefing" and "nope" not in t.text and "Home" not in t.text
    assert [t.turn_text(x) for x in t.turns] == ["We will act.", "Is that final?", "It is."]
    with pytest.raises(TranscriptError, match="'text'"):
        parse_bytes(b'{"title": "no text"}', "x.json")
