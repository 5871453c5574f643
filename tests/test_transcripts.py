"""Parser tests: golden files on real transcripts, and the formats' edge cases."""

import json
from pathlib import Path

import pytest

from make_golden import golden_files, summary
from onrecord.chunking import chunk
from onrecord.errors import TranscriptError
from onrecord.evaluation import normalize
from onrecord.models import MODERATOR, QUESTIONER, SPOKESPERSON
from onrecord.transcripts import clean_paragraph, find_date, parse_bytes, parse_file

DATA = Path(__file__).parent / "data"
GOLDEN = Path(__file__).parent / "golden"
READING = Path(__file__).parent / "reading"  # the real cases of reading rules (see its README)
FILES = sorted(p for folder in (DATA, READING) for p in folder.iterdir() if p.is_file() and p.name != "README.md")


@pytest.mark.parametrize("path", golden_files(), ids=lambda p: p.name[:40])
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
        parse_bytes(b"hello", "x.docx")


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


# --- other styles and formats (tests/styles: real files, see its README) ------------------------

STYLE = Path(__file__).parent / "styles"


def by_speaker(t):
    roles = {}
    for tu in t.turns:
        roles.setdefault(tu.speaker, set()).add(tu.role)
    return roles


def test_named_reporters_and_the_moderator_are_told_from_the_principal_by_what_they_do():
    """General case: labels are plain names ("Kseniya Sobchak:"), for reporters too. The one with
    most of the words answers; those who mostly ask or name themselves are reporters; the one
    whose short turns hand over to questions moderates."""
    (t,) = parse_file(STYLE / "kremlin-56378.html")
    roles = by_speaker(t)
    assert t.speakers[0] == "Vladimir Putin" and roles["Vladimir Putin"] == {SPOKESPERSON}
    assert roles["Dmitry Peskov"] == {MODERATOR}
    for reporter in ("Kseniya Sobchak", "Ilya Koshlyunov", "Yulia Permyakova", "Terry Moran"):
        assert roles[reporter] == {QUESTIONER}, reporter
    answered = [e for e in t.exchanges if e.question]
    assert len(answered) > 60
    assert all(t.turns[i].speaker == "Vladimir Putin" for e in answered for i in e.answer[:1])
    # a principal's stage note is not his affiliation
    assert {tu.affiliation for tu in t.turns if tu.speaker == "Vladimir Putin"} <= {None, "Noise in the audience"}
    assert sum(1 for tu in t.turns if tu.speaker == "Vladimir Putin" and tu.affiliation) <= 2


def test_an_xml_archive_record_gives_metadata_and_a_label_alone_labels_what_follows():
    """General cases: an XML record (the transcript in its largest HTML field; title, date,
    speaker from named fields, "Surname, Given" turned round); a label alone in its paragraph
    (`<p><strong>PRIME MINISTER: </strong></p>`) labels the paragraphs after it; the office of
    the principal is the principal the metadata names; `JOURNALIST:` is a reporter; `[ENDS]` ends."""
    (t,) = parse_file(STYLE / "pmtranscripts-transcript-41453.xml")
    assert (t.title, t.date) == ("Press Conference - Parliament House, Canberra", "2018-02-15")
    assert by_speaker(t) == {"Malcolm Turnbull": {SPOKESPERSON}, "Reporter": {QUESTIONER}}
    assert t.turn_text(t.turns[0]).startswith("Good afternoon.\n\nThis week, most attention")
    assert t.turn_text(t.turns[1]) == "Why would you not urge Barnaby Joyce to resign now?"
    assert len([e for e in t.exchanges if e.question]) == 5
    assert "ENDS" not in t.turn_text(t.turns[-1])


def test_a_file_without_usable_labels_is_one_statement_and_says_so():
    """General case: OCR that detached the labels from their text ("QUESTION WHITLAM QUESTION
    ..."): no turns are invented; the reading warns."""
    from onrecord.inspection import structure_warnings

    (t,) = parse_file(STYLE / "pmtranscripts-transcript-3625.xml")
    assert {tu.speaker for tu in t.turns} == {"Gough Whitlam"} and not any(tu.label for tu in t.turns)
    assert structure_warnings(t) == ["no speaker labels found: the whole text is one statement by Gough Whitlam"]


def test_one_paragraph_per_line_title_case_labels_and_headings():
    """General cases: a file that puts each paragraph on one long line with no blank lines;
    Title Case labels with a period ("The President.") that recur; Title Case topic lines before a
    question; "THE PRESIDENT" of a White House file named by its date."""
    (t,) = parse_file(STYLE / "voomer-bush.txt")
    assert by_speaker(t) == {"George H. W. Bush": {SPOKESPERSON}, "Reporter": {QUESTIONER}}
    assert t.turn_text(t.turns[0]).startswith("First I have a brief statement")
    assert t.turn_text(t.turns[1]).startswith("Mr. President, Mr. Gorbachev challenged you")
    assert {"Short-Range Nuclear Forces in Europe", "Environmental Issues", "Oliver North"} <= {e.topic for e in t.exchanges}
    assert len([e for e in t.exchanges if e.question]) == 20  # "Yes." to a premise is no answer: one question


def test_question_and_answer_blocks_with_an_unnamed_answerer():
    """General case: `**Question**:` / `**Answer**:` labels alone on their lines; "Answer" names a
    role, not a person: the answer is attributed to no invented name, and the reading warns."""
    from onrecord.inspection import structure_warnings

    (t,) = parse_file(STYLE / "trudeau-2020-04-06-R7E-NYge5sk-q_a.md")
    assert by_speaker(t) == {"Unknown speaker": {SPOKESPERSON}, "Reporter": {QUESTIONER}}
    assert [t.turns[i].role for e in t.exchanges for i in (*e.question, *e.answer)] == [QUESTIONER, SPOKESPERSON] * 16
    assert any("no known speaker" in w for w in structure_warnings(t))


def test_a_full_white_house_page_with_prettified_markup():
    """General case: an official page saved whole (scripts, navigation, one tag per line); the
    President named by the date, other officials by their labels."""
    (t,) = parse_file(STYLE / "jjgoings-white_house_briefing_April-08-2020.html")
    roles = by_speaker(t)
    assert t.date == "2020-04-08" and t.organisation == "The White House"
    assert roles["Donald J. Trump"] == {SPOKESPERSON} and roles["Mike Pompeo"] == {SPOKESPERSON}
    assert roles["Reporter"] == {QUESTIONER}
    assert t.turn_text(t.turns[0]).startswith("Thank you very much.")
    assert not any("function(" in t.turn_text(tu) or "googletag" in t.turn_text(tu) for tu in t.turns)


def test_calls_on_reporters_and_footnotes_belong_to_no_turn():
    """General cases: "[9.] Mr. Horner [Garnett D. Horner, Washington Evening Star]." alone, or as
    the whole of the President's turn, is the chair calling on a reporter (who then asks: named
    from the brackets); a numbered paragraph ("1 The Commission on ...") is an editorial footnote."""
    carter = parse_file(DATA / "1977-09-21-carter-news-conference.md")[0]
    thomas = next(tu for tu in carter.turns if tu.speaker == "Helen Thomas")
    assert thomas.role == QUESTIONER and thomas.affiliation == "United Press International"
    ford = parse_file(DATA / "1975-09-16-ford-news-conference.md")[0]
    assert not any(carter.turn_text(tu).startswith(("[1.] Miss", "Miss Thomas [")) for tu in carter.turns)
    assert not any(ford.turn_text(tu).startswith(("1 The Commission", "2 The Commission")) for tu in ford.turns)
    assert "1 The Commission on the Organization" in ford.text  # kept in the text, in no turn


def test_answer_passages_hold_no_label_footnote_or_call():
    """No answer passage of any test transcript holds another turn's label, a footnote or a call on a
    reporter (benchmarks/passage_check.py runs the same check over a whole corpus)."""
    from onrecord.chunking import chunk
    from onrecord.inspection import passage_problems

    passages = [p for f in golden_files() for t in parse_file(f) for p in chunk(t)]
    assert passages
    assert passage_problems(passages) == {"labels": [], "footnotes": [], "calls": [], "courtesies": []}


RSS = """<?xml version="1.0"?><rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>
<title>Briefings</title>
<item><title>Press briefing, 3 March</title><link>https://example.org/b/3</link><pubDate>Tue, 03 Mar 2020 14:00:00 GMT</pubDate>
<content:encoded><![CDATA[<p><b>MS. ORTAGUS:</b> Good afternoon. The Secretary travels to Kabul tomorrow.</p><p><b>QUESTION:</b> Will he meet the Taliban?</p><p><b>MS. ORTAGUS:</b> He will meet the Afghan government.</p>]]></content:encoded></item>
<item><title>Press briefing, 3 March (again)</title><link>https://example.org/b/3b</link><pubDate>Tue, 03 Mar 2020 15:00:00 GMT</pubDate>
<content:encoded><![CDATA[<p><b>MS. ORTAGUS:</b> Good afternoon. The Secretary travels to Kabul tomorrow.</p><p><b>QUESTION:</b> Will he meet the Taliban?</p><p><b>MS. ORTAGUS:</b> He will meet the Afghan government.</p>]]></content:encoded></item>
<item><title>Press briefing, 5 March</title><link>https://example.org/b/5</link><pubDate>Thu, 05 Mar 2020 14:00:00 GMT</pubDate>
<description>&lt;p&gt;MS. ORTAGUS: We have nothing new on Iran.&lt;/p&gt;&lt;p&gt;QUESTION: Nothing at all?&lt;/p&gt;&lt;p&gt;MS. ORTAGUS: Nothing.&lt;/p&gt;</description></item>
</channel></rss>"""

ATOM = """<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Press</title>
<entry><title>Doorstep</title><link href="https://example.org/d/1"/><published>2021-06-14T09:00:00Z</published>
<author><name>Jens Stoltenberg</name></author>
<content type="html">&lt;p&gt;Jens Stoltenberg: We will agree a new strategic concept.&lt;/p&gt;&lt;p&gt;Question [AFP]: When?&lt;/p&gt;&lt;p&gt;Jens Stoltenberg: Next year.&lt;/p&gt;</content></entry>
</feed>"""


def test_rss_and_atom_feeds_give_one_transcript_per_item_and_repeats_once():
    """General case: a feed's items (RSS `content:encoded` or `description`; Atom `content`), each a
    transcript with the item's title, date and link; the same text twice is read once."""
    items = parse_bytes(RSS.encode(), "state.rss")
    assert [(t.title, t.date, t.source_url) for t in items] == [
        ("Press briefing, 3 March", "2020-03-03", "https://example.org/b/3"),
        ("Press briefing, 5 March", "2020-03-05", "https://example.org/b/5")]
    assert [tu.role for tu in items[0].turns] == [SPOKESPERSON, QUESTIONER, SPOKESPERSON]
    assert items[0].turns[0].speaker == "Ms. Ortagus" and items[1].turn_text(items[1].turns[-1]) == "Nothing."
    (entry,) = parse_bytes(ATOM.encode(), "nato.atom")
    assert (entry.title, entry.date, entry.source_url) == ("Doorstep", "2021-06-14", "https://example.org/d/1")
    assert entry.turns[1].affiliation == "AFP" and entry.turns[2].speaker == "Jens Stoltenberg"


def test_xml_that_declares_entities_or_is_broken_is_refused():
    bomb = '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]><r><content>&b;</content></r>'
    with pytest.raises(TranscriptError, match="entities"):
        parse_bytes(bomb.encode(), "x.xml")
    with pytest.raises(TranscriptError, match="not well-formed"):
        parse_bytes(b"<r><content>unclosed</r>", "x.xml")


def test_page_furniture_is_not_speech():
    """General case: photo blocks (`<div class="media"><figure>...<span class="media__title">`),
    share widgets and "see also" boxes are not speech; a wrapper such as `media-body` is kept."""
    (t,) = parse_file(STYLE / "kremlin-56378.html")
    assert not any("annual news conference." in t.turn_text(tu) for tu in t.turns)
    assert any(t.turn_text(tu) == "What about merging the regions?" for tu in t.turns)
    page = ("<html><body><div class='share-buttons'>Share on Twitter</div><div class='see-also'>Read more: old news</div>"
            "<div class='media-body'><p>MR. DOE: We will act.</p><p>Q: When?</p><p>MR. DOE: Today.</p></div>"
            "<div class='related'><p>MR. DOE: A different briefing.</p></div></body></html>")
    (t,) = parse_bytes(page.encode(), "p.html")
    assert [t.turn_text(tu) for tu in t.turns] == ["We will act.", "When?", "Today."]


def test_html_saved_as_an_escaped_string_is_decoded():
    """General case: a page saved as the repr of its bytes (literal \\n, \\xc2\\xa0, b'...')."""
    page = ("<html><body>" + "".join(f"<p>MR. DOE: Point {n}.\\xc2\\xa0Done.</p>\\n" for n in range(30))
            + "<p>Q: Caf\\xc3\\xa9?</p>\\n</body></html>")
    (t,) = parse_bytes(("b'" + page + "'").encode(), "saved.html")
    assert t.turn_text(t.turns[0]) == "Point 0. Done." and t.turn_text(t.turns[-1]) == "Café?"
    assert "\\n" not in t.text and "xc2" not in t.text


def test_an_answer_a_reporter_cuts_into_and_that_goes_on_is_one_exchange():
    """General case: "It's a great —" / a short question cutting in / the same speaker goes on."""
    (t,) = parse_file(STYLE / "jjgoings-white_house_briefing_April-08-2020.html")
    cut = next(i for i, tu in enumerate(t.turns) if t.turn_text(tu) == "It’s a great —")
    exchange = next(e for e in t.exchanges if cut in e.answer)
    assert cut + 2 in exchange.answer and cut + 1 not in exchange.question
    assert t.turn_text(t.turns[exchange.question[-1]]).startswith("Sure. Mr. Secretary, that’s an amazing effort")


def test_an_interpreter_speaks_for_the_one_interpreted():
    """General case: `INTERPRETER:` turns carry the words of who spoke before them: the principal's
    answer (or the reporter's question) through an interpreter, never a speaker of its own."""
    doc = ("PRESIDENT ZELENSKYY: (As interpreted.) Thank you.\n\nQ: Mr. President, will you meet Putin?\n\n"
           "PRESIDENT ZELENSKYY: [Speaks Ukrainian.]\n\nINTERPRETER: I am ready to meet him, but only to end the war.\n\n"
           "Q: And the counteroffensive?\n\nPRESIDENT ZELENSKYY: It is going on.\n")
    (t,) = parse_bytes(doc.encode(), "joint.md")
    interpreted = next(tu for tu in t.turns if t.turn_text(tu).startswith("I am ready"))
    assert (interpreted.speaker, interpreted.role, interpreted.affiliation) == (
        "President Zelenskyy", SPOKESPERSON, "through an interpreter")
    assert "Interpreter" not in {tu.speaker for tu in t.turns}


def test_numbered_speakers_with_time_stamps_and_caption_chevrons_in_text():
    """General cases: a transcription service's `Speaker 35: (59:26)` labels (the time stamp is not
    speech; roles come from what each speaker does), and `>>` marking a change of speaker in a
    caption dump saved as text."""
    rev = ("Speaker 1: (00:04)\nGood afternoon. I will make a short statement and then take your questions about "
           "the budget, which we present today to the parliament and the country.\n\n"
           "Speaker 35: (01:26)\nMinister, will taxes rise next year?\n\n"
           "Speaker 1: (01:31)\nNo. Taxes will not rise next year, and the deficit will fall by half over four years.\n\n"
           "Speaker 12: (02:10)\nWhat about pensions?\n\n"
           "Speaker 1: (02:14)\nPensions will rise with inflation, as we promised in the campaign.\n")
    (t,) = parse_bytes(rev.encode(), "rev.txt")
    assert [(tu.speaker, tu.role) for tu in t.turns] == [
        ("Speaker 1", SPOKESPERSON), ("Speaker 35", QUESTIONER), ("Speaker 1", SPOKESPERSON),
        ("Speaker 12", QUESTIONER), ("Speaker 1", SPOKESPERSON)]
    assert t.turn_text(t.turns[1]) == "Minister, will taxes rise next year?"
    dump = (">> MR. DOE: We will announce the plan on Monday.\n>> Q: Why not today?\n"
            ">> MR. DOE: Because the cabinet meets on Monday.\n")
    (t,) = parse_bytes(dump.encode(), "captions.txt")
    assert [t.turn_text(tu) for tu in t.turns] == ["We will announce the plan on Monday.", "Why not today?",
                                                  "Because the cabinet meets on Monday."]
    from onrecord.registry import is_generic

    assert is_generic("Speaker 35") and not is_generic("Jens Stoltenberg")


def test_staff_operators_and_thanks_are_no_ones_answer():
    """General cases: an operator calling the next line ("... the line is open.") and a paragraph of
    only thanks and calls ("Thank you. Next question.") end the answer before them; `AIDE:` runs the
    room (a moderator, never a spokesperson); `MR: ZIENTS:` is an honorific whose period was typed as
    a colon."""
    (t,) = parse_file(STYLE / "trudeau-2020-04-06-R7E-NYge5sk-q_a.md")
    assert t.turn_text(t.turns[3]) == ("As I said, there are very productive conversations ongoing and we expect "
                                       "those shipments to be delivered.")
    assert not any("line is open" in t.turn_text(tu) for tu in t.turns)
    doc = ("MS. JEAN-PIERRE: We are proud of the plan.\n\nQ: Will it pass?\n\nMS. JEAN-PIERRE: It will pass.\n\n"
           "AIDE: Karine, you have time for one more.\n\nQ: On vaccines?\n\nMR: ZIENTS: We are ready to ship the doses.\n")
    (t,) = parse_bytes(doc.encode(), "briefing.md")
    assert [(tu.speaker, tu.role) for tu in t.turns][3] == ("Aide", MODERATOR)
    assert (t.turns[-1].speaker, t.turn_text(t.turns[-1])) == ("Mr. Zients", "We are ready to ship the doses.")


def _turns_with(t, words: str) -> list:
    return [u for u in t.turns if words in " ".join(t.turn_text(u).split())]


def test_a_label_typed_another_way_is_the_label_the_file_uses():
    """A label the file uses, typed with another closing mark ('THE PRESIDENT:' among 'THE
    PRESIDENT.'), stray punctuation ('THE, PRESIDENT.') or letter case ('The PRESIDENT.'), starts
    that speaker's turn: the speech is not lost, nor read as the reporter's question before it."""
    t = parse_file(READING / "1965-08-29-johnson-news-conference.md")[0]
    first = t.turns[0]
    assert (first.speaker, first.role) == ("Lyndon B. Johnson", SPOKESPERSON)
    assert t.turn_text(first).startswith("Good afternoon ladies and gentlemen")

    t = parse_file(READING / "1961-08-10-kennedy-news-conference.md")[0]
    [turn] = _turns_with(t, "It's my understanding that the hijacking which took place yesterday")
    assert (turn.speaker, turn.role) == ("John F. Kennedy", SPOKESPERSON)
    assert "THE, PRESIDENT" not in t.turn_text(turn)

    t = parse_file(READING / "1967-09-01-johnson-news-conference.md")[0]
    for words in ("I think that these men have expressed their opinion.", "I think, Mrs. McClendon"):
        [turn] = _turns_with(t, words)
        assert (turn.speaker, turn.role) == ("Lyndon B. Johnson", SPOKESPERSON), words
    assert not [u for u in t.turns if u.role == QUESTIONER and "PRESIDENT." in t.turn_text(u)]


def test_a_numbered_question_starts_the_question_when_spaced_or_run_into_a_heading():
    """'[ 13.] Q.' (spaces in the number's brackets) and 'HEADING [16.] Q.' (the topic heading and
    the numbered question on one line) start a reporter's turn, not part of the answer before."""
    for name, words, topic in (
        ("1969-01-27-nixon-news-conference.md", "in the last administration, the McClellan Committee", "THE TFX AND CONGRESSIONAL COMMITTEES"),
        ("1965-08-25-johnson-news-conference.md", "do you still consider the repeal of section 14(b)",
         "REPEAL OF SECTION 14(B) or THE TAFT-HARTLEY ACT"),
    ):
        t = parse_file(READING / name)[0]
        [turn] = _turns_with(t, words)
        assert turn.role == QUESTIONER and t.turn_text(turn).startswith("Mr. President,"), name
        assert not [u for u in t.turns if u.role == SPOKESPERSON and "Q. Mr. President" in t.turn_text(u)], name
        [exchange] = [e for e in t.exchanges if t.turns.index(turn) in e.question]
        assert exchange.topic == topic


def test_an_acknowledgement_that_cuts_a_question_in_two_answers_nothing():
    """A spokesperson's 'Mm-hmm.' / 'Yeah.' / 'Sure.' between two turns of a reporter's question is
    no answer: the answer after it is asked the whole question. 'No.' there still answers."""
    t = parse_file(DATA / "2021-05-11-press-briefing-by-press-secretary-jen-psaki-secretary-of-energy-jennifer-granholm-and-secretary-of-homeland-security-alejandro-mayorkas-may-11-2021.md")[0]
    passages = chunk(t)
    assert not [p for p in passages if p.text.strip() in ("Yeah.", "Sure.", "Mm-hmm.", "Okay.")]
    [overseas] = {p.asked for p in passages if p.asked and "What about Americans overseas?" in p.asked}
    assert overseas.startswith("Yes, Jen. The President assured governors today there will be enough vaccine")
    [pool] = {p.asked for p in passages if p.asked and "Why was the pool not invited" in p.asked}
    assert pool.startswith("Okay. And just one quick housekeeping item for us in the room here.")

    t = parse_file(DATA / "1961-03-23-kennedy-news-conference.md")[0]
    [no] = [p for p in chunk(t) if p.text == "No."]
    assert no.asked.endswith("the advisability of a meeting between you and Mr. Khrushchev?")


def test_a_short_question_back_to_the_reporter_answers_nothing():
    """'... the latest hijacking plane incidents involving' / 'The Cuban one or the American one?'
    / 'Both. [Laughter]' / the answer: the spokesperson's question back (short, every sentence a
    question) is no answer, and the answer after the reporter's reply is asked the whole question."""
    t = parse_file(READING / "1961-08-10-kennedy-news-conference.md")[0]
    passages = chunk(t)
    assert not [p for p in passages if p.text.startswith("The Cuban one or the American one?")]
    answer = next(p for p in passages if p.text.startswith("It's my understanding that the hijacking"))
    assert answer.asked.startswith("Mr. President, would you give us your views on the latest hijacking")
    assert answer.asked.endswith("Both. [Laughter]") and answer.speaker == "John F. Kennedy"


def test_greetings_and_calls_on_reporters_are_neither_question_nor_answer():
    """A reporter's 'Hello.' asks nothing (the statement after it is a statement); a spokesperson's
    'Hi.' or 'Go ahead, Nancy.' answers nothing; a stage note alone ('(Laughter.)') is no answer."""
    name = ("2024-05-14-press-briefing-by-press-secretary-karine-jean-pierre-and-united-states-trade-representative"
            "-katherine-tai.md")
    t = parse_file(READING / name)[0]
    passages = chunk(t)
    statement = next(p for p in passages if p.text.startswith("It’s raining outside."))
    assert statement.asked is None and statement.speaker == "Karine Jean-Pierre"
    assert not [p for p in passages if p.text.strip() in ("Hi.", "Go ahead, Nancy.", "Go ahead, Steve.")]
    assert not [p for p in passages if p.text.startswith("(") and p.text.endswith(")")]
    tariffs = next(p for p in passages if p.asked and p.asked.startswith("Thanks, Ambassador. When Trump hiked tariffs"))
    assert tariffs.speaker == "Katherine Tai"


def test_calls_and_the_floor_given_to_a_reporter_answer_nothing():
    """'THE PRESIDENT. Yes, Mr. Scali [John A. Scali, ABC News].' calls on a reporter; 'Q. Mr.
    President?' / 'THE PRESIDENT. Yes, sir.' / 'Q. Democrats in the House ...' is one question,
    the floor asked for and given: neither 'Yes, sir.' nor the call is an answer."""
    t = parse_file(READING / "1969-04-18-nixon-news-conference.md")[0]
    passages = chunk(t)
    assert not [p for p in passages if "[John A. Scali, ABC News]" in p.text]
    tax = next(p for p in passages if p.asked and "7 percent investment tax credit" in p.asked)
    assert tax.asked.startswith("Democrats in the House have voted to repeal") and tax.speaker == "Richard Nixon"
    floor = next(i for i, u in enumerate(t.turns) if t.turn_text(u) == "Mr. President?"
                 and "investment tax credit" in t.turn_text(t.turns[i + 2]))
    assert t.turn_text(t.turns[floor + 1]) == "Yes, sir."
    assert not [e for e in t.exchanges if floor + 1 in e.answer]
    # after his own answer (and a heading), "Yes, sir." gives the next reporter the floor
    given = next(i for i, u in enumerate(t.turns) if t.turn_text(u) == "Yes, sir."
                 and t.turn_text(t.turns[i + 1]).startswith("To follow that up, then,"))
    assert t.turns[given - 1].speaker == "Richard Nixon" and not [e for e in t.exchanges if given in e.answer]

    t = parse_file(READING / "1977-06-30-carter-news-conference.md")[0]
    [insist] = [i for i, u in enumerate(t.turns) if t.turn_text(u) == "Yes, if you insist."]
    assert not [e for e in t.exchanges if insist in e.answer]
    assert not [p for p in chunk(t) if p.text == "Yes, if you insist."]


def test_inspect_shows_which_turns_answer_nothing():
    """`onrecord inspect` gives each turn's answer passages: none for a spokesperson's call on a
    reporter ('Aamer.', shown as '-'), some for an answer, none (blank) for a reporter."""
    from onrecord.inspection import describe, format_inspection

    t = parse_file(DATA / ("2021-05-11-press-briefing-by-press-secretary-jen-psaki-secretary-of-energy-jennifer-"
                           "granholm-and-secretary-of-homeland-security-alejandro-mayorkas-may-11-2021.md"))[0]
    turns = describe(t)["turns"]
    call = next(u for u in turns if u["starts"] == "Aamer.")
    assert call["passages"] == 0 and turns[call["index"] + 1]["role"] == QUESTIONER
    assert turns[call["index"] + 2]["passages"] >= 1 and sum(u["passages"] for u in turns) == len(chunk(t))
    lines = format_inspection(t).splitlines()
    assert any(line.split()[0] == str(call["index"]) and line.rstrip().endswith("-  Aamer.") for line in lines if line.strip())


def test_a_name_alone_that_gives_the_floor_is_no_answer():
    """A spokesperson's turn of names alone gives the floor: to a reporter right after the
    spokesperson's own words ('Aamer.', 'Matt Viser.', 'Russell — Gabe.', 'J.J.'), or to the
    colleague it names, who speaks next ('Dr. Walensky.' after a reporter's question). A name is a
    capitalised word the transcript never writes in lower case; a short answer ('No.') stays."""
    t = parse_file(DATA / ("2021-05-11-press-briefing-by-press-secretary-jen-psaki-secretary-of-energy-jennifer-"
                           "granholm-and-secretary-of-homeland-security-alejandro-mayorkas-may-11-2021.md"))[0]
    texts = {p.text.strip() for p in chunk(t)}
    assert not texts & {"Aamer.", "Nandita.", "Matt Viser."}
    name = ("2024-05-14-press-briefing-by-press-secretary-karine-jean-pierre-and-united-states-trade-representative"
            "-katherine-tai.md")
    texts = {p.text.strip() for p in chunk(parse_file(READING / name)[0])}
    assert not texts & {"J.J.", "Russell — Gabe.", "All right. Go ahead, Aamer."}
    t = parse_file(READING / "2021-05-13-press-briefing-by-white-house-covid-19-response-team-and-public-health-"
                             "officials-36.md")[0]
    [call] = [i for i, u in enumerate(t.turns) if t.turn_text(u).strip() == "Dr. Walensky."]
    assert t.turns[call - 1].role == QUESTIONER and "Walensky" in t.turns[call + 1].speaker
    passages = chunk(t)
    assert not [p for p in passages if p.turn_index == call]
    answer = next(p for p in passages if p.turn_index == call + 1)  # the colleague's answer is asked the question
    assert answer.asked == t.turn_text(t.turns[call - 1]).strip()
    kennedy = chunk(parse_file(DATA / "1961-03-23-kennedy-news-conference.md")[0])
    assert [p for p in kennedy if p.text.strip() == "No." and "Mr. Khrushchev" in (p.asked or "")]


def test_thanks_after_all_right_and_a_turn_cut_off_at_its_start_are_no_answer():
    """'All right, thank you.' thanks the room as 'Thank you.' does; a turn cut off before its first
    sentence ended ('So —', 'Actually, you’re the —', 'Hey, Nick —') says nothing a reporter can
    quote."""
    t = parse_file(DATA / ("2021-05-11-press-briefing-by-press-secretary-jen-psaki-secretary-of-energy-jennifer-"
                           "granholm-and-secretary-of-homeland-security-alejandro-mayorkas-may-11-2021.md"))[0]
    texts = {p.text.strip() for p in chunk(t)}
    assert not texts & {"All right, thank you.", "Actually, you’re the —", "So —"}
    t = parse_file(DATA / "2024-03-25-on-the-record-press-gaggle-by-white-house-national-security-communications-"
                          "advisor-john-kirby-6.md")[0]
    assert "Hey, Nick —" in t.text and not [p for p in chunk(t) if p.text.strip() == "Hey, Nick —"]


def test_the_press_officer_who_hands_over_each_question_moderates_whatever_the_labels():
    """A speaker, not the principal, whose turns are short and mostly hand over to a reporter's
    question ("MS. SIMONS: Next, we'll go to John Biers from Agence-France Presse.") moderates,
    also where labels tell reporters from officials (`Q`, `MS. SIMONS:`): the moderator's words are
    no one's answer, and the officials' answers are asked the reporters' questions."""
    t = parse_file(READING / "2021-10-13-background-press-call-on-global-transportation-supply-chain-bottlenecks.md")[0]
    simons = [u for u in t.turns if u.speaker == "Ms. Simons"]
    assert len(simons) == 12 and {u.role for u in simons} == {MODERATOR}
    passages = chunk(t)
    assert {p.speaker for p in passages} == {"Senior Administration Official"}
    assert not [p for p in passages if "we’ll go to John Biers" in p.text]
    answer = next(p for p in passages if p.text.startswith("It’s important that the market signal be out there"))
    assert answer.asked.startswith("Thank you. Thank you for taking my question. I’m wondering how much")


def test_a_turn_that_only_runs_the_room_is_no_answer():
    """A short turn every sentence of which runs the room (calls and the floor: 'Okay. Go ahead, in
    the back.', 'Go ahead, Anita. Just a couple more.', 'Dr. Walensky, you want to start with
    that?'; closing: 'Thank you all and have a great day.'), or thanks, greets or names, answers
    nothing; a short answer stays ('No.')."""
    cases = {
        DATA / ("2021-05-11-press-briefing-by-press-secretary-jen-psaki-secretary-of-energy-jennifer-granholm-and-"
                "secretary-of-homeland-security-alejandro-mayorkas-may-11-2021.md"):
            {"Okay. Go ahead, in the back.", "We’re going to do that last one, in the back."},
        READING / "2021-05-13-press-briefing-by-white-house-covid-19-response-team-and-public-health-officials-36.md":
            {"Dr. Walensky, you want to start with that?", "Thank you all and have a great day."},
        READING / ("2024-05-14-press-briefing-by-press-secretary-karine-jean-pierre-and-united-states-trade-"
                   "representative-katherine-tai.md"): {"Go ahead, Anita. Just a couple more."},
    }
    for path, room in cases.items():
        t = parse_file(path)[0]
        said = {" ".join(t.turn_text(u).split()) for u in t.turns}
        assert room <= said
        assert not room & {" ".join(p.text.split()) for p in chunk(t)}
    kennedy = chunk(parse_file(DATA / "1961-03-23-kennedy-news-conference.md")[0])
    assert [p for p in kennedy if p.text.strip() == "No."]


def test_a_yes_that_takes_in_a_reporters_premise_lets_the_question_go_on():
    """'Q. Mr. President, the Soviet Union has shown great concern about the cruise missile
    capability ...' / 'THE PRESIDENT. Yes.' / 'Q. What limits are you ready to accept ...?': a
    reporter's statement that asks nothing yet, a 'Yes.' that takes the premise in, and the
    question. The 'Yes.' answers nothing; the answer after it is asked the whole question."""
    for path, premise, question in (
            (READING / "1977-06-30-carter-news-conference.md",
             "Mr. President, the Soviet Union has shown great concern about the cruise missile", "What limits are you"),
            (STYLE / "voomer-bush.txt",
             "Mr. President, you say that America is leading the way in environmental issues.", "All the time, we hear"),
    ):
        t = parse_file(path)[0]
        [yes] = [i for i, u in enumerate(t.turns) if t.turn_text(u).strip() == "Yes."
                 and t.turn_text(t.turns[i - 1]).startswith(premise)]
        assert t.turn_text(t.turns[yes + 1]).startswith(question)
        assert not [e for e in t.exchanges if yes in e.answer]
        answer = next(p for p in chunk(t) if p.turn_index == yes + 2)
        assert answer.asked.startswith(premise) and question in answer.asked
