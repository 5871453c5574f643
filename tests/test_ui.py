"""The UI's rendering: everything from a transcript or a question is escaped; citations read well."""

from onrecord.models import Answer, SearchResult, TranscriptInfo
from onrecord.query import parse_query
from onrecord.ui import card, citation, highlighted, long_date, reading_notes, render

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def answer(**kw) -> Answer:
    base = dict(
        text="We will act. " + HOSTILE, speaker="Jens Stoltenberg", score=0.7, span=(10, 60),
        transcript=TranscriptInfo(id="t", title="NATO addresses Middle East tensions", date="2020-01-06",
                                  source_url="https://example.org/a", file="a.txt", organisation="NATO"),
        asked="Why? " + HOSTILE, asked_by="TV 2", highlights=((0, 12),),
    )
    base.update(kw)
    return Answer(**base)


def test_transcript_and_question_html_is_escaped():
    html = render(SearchResult(question=HOSTILE, answers=(answer(speaker=HOSTILE),), no_answer=False))
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;" in html and "<mark>We will act.</mark>" in html


def test_javascript_links_are_not_made_clickable():
    html = card(1, answer(transcript=TranscriptInfo(id="t", title="T", date=None, source_url="javascript:alert(1)", file="f")))
    assert "javascript" not in html and "undated" in html
    assert html.count("href") == 1 and 'href="/a/t-10-60"' in html  # the permalink only, not the javascript: source


def test_citation_and_dates():
    assert long_date("2020-01-06") == "6 January 2020"
    c = citation(answer(text="I think  the important\n\nthing."))
    assert c == ("Jens Stoltenberg, NATO, NATO addresses Middle East tensions, 6 January 2020: "
                 "“I think the important thing.” (https://example.org/a)")


def test_no_answer_is_said_plainly():
    html = render(SearchResult(question="q", answers=(answer(weak=True),), no_answer=True))
    assert "Nothing on the record answers this." in html and "weak match" in html
    assert "Nothing on the record" in render(SearchResult(question="q", answers=(), no_answer=True))


def test_highlight_offsets_are_respected():
    assert highlighted("abc def ghi", [(4, 7)]) == "abc <mark>def</mark> ghi"


def test_the_per_year_chart_shows_years_as_labels_not_numbers():
    import gradio as gr

    from onrecord.ui import per_year

    chart = gr.BarPlot(x="year", y="answers")
    for years in ({}, {"2020": 5, "2024": 1}):  # the empty frame fixes the axis type for later updates
        assert chart.postprocess(per_year(years)).datatypes["year"] == "nominal"


def test_example_questions_are_complete_and_choices_tell_answers_apart():
    from onrecord.ui import complete_question, first_words

    assert complete_question("Should Iran retaliate in a way that makes the United States trigger Article 5?")
    for fragment in ("— if I could, on the hostages, is there any update?", "And what about the tariffs on steel?",
                     "So is there — is there a timeline, Secretary? I know you're…", "is there a timeline for the deal?",
                     "What about it? And when will the decision on the pipeline be made?"):
        assert not complete_question(fragment), fragment
    assert first_words("We will act today on the bill, and then we will see.", 5) == "We will act today on…"


def test_the_ui_offers_complete_example_questions(app):
    from conftest import DATA
    from onrecord.ui import complete_question, example_questions

    assert app.ingest_paths([str(DATA)]).ok
    examples = example_questions(app)
    assert len(examples) == 4 and all(complete_question(e) for e in examples)


def test_a_citation_of_the_highlighted_sentences_is_one_verbatim_run():
    from onrecord.ui import citation, quoted_part

    a = answer(text="First we met. Then we agreed on the plan. Then we left. Nothing else.",
               highlights=((14, 41), (42, 55)), weak=False)
    assert quoted_part(a, True) == "Then we agreed on the plan. Then we left." and quoted_part(a, True) in a.text
    assert citation(a, True).endswith("“Then we agreed on the plan. Then we left.” (https://example.org/a)")
    assert "Nothing else." in citation(a)


def test_the_ui_upload_reports_each_file_and_a_reader_with_the_key_can_remove(settings):
    """Through a real server: the upload result lists each file with its title, date, id and the
    speakers found (and a near-duplicate warning); removal needs the API key."""
    import json

    import httpx

    from conftest import SEED, FakeEmbedder
    from live_server import call_ui, serving
    from onrecord.service import Onrecord

    core = Onrecord(settings.model_copy(update={"api_key": "s3cret"}), embedder=FakeEmbedder())
    assert core.ingest_paths([str(SEED)]).ok
    other = "---\ntitle: NATO addresses Middle East tensions\ndate: 2020-01-06\n---\nJens Stoltenberg: A shorter version.\n"
    with serving(core) as base:
        up = httpx.post(base + "/gradio_api/upload", files={"files": ("v2.md", other.encode(), "text/markdown")},
                        cookies={"onrecord_key": "s3cret"})
        path = up.json()[0]
        kind, out = call_ui(base, "upload", [[{"path": path, "orig_name": "v2.md", "meta": {"_type": "gradio.FileData"}}],
                                             "s3cret"])
        text = json.dumps(out)
        assert kind == "complete" and "v2.md: \\u201cNATO addresses Middle East tensions\\u201d (6 January 2020)" in text
        assert "Jens Stoltenberg" in text and "may be another version of indexed transcript" in text
        added = next(t for t in core.store().transcripts() if t.file == "v2.md")
        kind, out = call_ui(base, "remove", [added.id, "wrong"])
        assert "Removal refused" in json.dumps(out) and core.store().info.transcripts == 2
        kind, out = call_ui(base, "remove", [added.id, "s3cret"])
        assert "Removed" in json.dumps(out) and core.store().info.transcripts == 1


def test_the_reading_of_a_question_is_said():
    """The chat tells the reader how their question was read: a misspelt name, and a month of a
    year (whose press conferences rank higher)."""
    q = parse_query("What did Kirbey say in May 2024 and June 3rd, 2024?", ["John Kirby"], frequency=lambda ws: {})
    assert reading_notes(q) == ["Reading ‘Kirbey’ as John Kirby", "Answers from May 2024 and June 2024 first"]
    assert reading_notes(parse_query("What did Kirby say in May?", ["John Kirby"])) == []
