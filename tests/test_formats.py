"""Formats beyond text, Markdown, HTML and JSON: captions (WebVTT, SRT, YouTube timedtext) with
their times, CSV/TSV data sets, PDF with a text layer. Realistic small files in tests/formats."""

from pathlib import Path

import pytest

from conftest import FakeEmbedder
from onrecord.config import Settings
from onrecord.contract import AnswerOut
from onrecord.errors import TranscriptError
from onrecord.models import QUESTIONER, SPOKESPERSON
from onrecord.service import Onrecord
from onrecord.transcripts import parse_bytes, parse_file
from onrecord.transcripts.captions import moment_link

FORMATS = Path(__file__).parent / "formats"


def roles(t):
    return [(tu.speaker, tu.role) for tu in t.turns]


def test_webvtt_voices_name_the_speakers_and_cues_keep_their_times():
    """General case: `<v Name>` voice tags; consecutive cues of one voice are one turn."""
    (t,) = parse_file(FORMATS / "doorstep.vtt")
    assert roles(t) == [("Jens Stoltenberg", SPOKESPERSON), ("Reporter", QUESTIONER), ("Jens Stoltenberg", SPOKESPERSON),
                        ("Reporter", QUESTIONER), ("Jens Stoltenberg", SPOKESPERSON)]
    assert t.turn_text(t.turns[2]) == ("Allies have already delivered more air defence, and I expect more announcements "
                                       "today, because Ukraine needs it now.")
    assert t.time_of(t.turns[2].span) == (13.2, 22.4)
    assert t.time_of(t.turns[4].span) == (26.5, 31.0)


def test_srt_labels_in_the_cue_text_and_the_double_chevron_change_of_speaker():
    """General case: labels inside cues ("MR. KIRBY:", ">> Q:"); a cue without one continues the turn."""
    (t,) = parse_file(FORMATS / "gaggle.srt")
    assert [r for _, r in roles(t)] == [SPOKESPERSON, QUESTIONER, SPOKESPERSON, QUESTIONER, SPOKESPERSON]
    assert t.turn_text(t.turns[0]).endswith("this morning about the hostages.")
    assert t.time_of(t.turns[0].span) == (0.5, 9.25) and t.time_of(t.turns[3].span) == (19.0, 21.0)


def test_youtube_timedtext_is_read_as_captions_not_as_an_archive_record():
    (t,) = parse_file(FORMATS / "timedtext.xml")
    assert [r for _, r in roles(t)] == [SPOKESPERSON, QUESTIONER, SPOKESPERSON]
    assert t.turn_text(t.turns[2]) == "It will cost two billion dollars over four years, and it is fully funded in the budget."
    assert t.time_of(t.turns[2].span) == (11.2, 17.3)


def test_an_answer_from_captions_carries_its_time_and_a_link_to_that_moment(tmp_path):
    core = Onrecord(Settings(index=tmp_path / "index"), embedder=FakeEmbedder())
    report = core.ingest_paths([str(FORMATS / "doorstep.vtt")], meta={"source_url": "https://www.youtube.com/watch?v=abc123"})
    assert report.ok, report.summary()
    a = core.ask("Article 5 ironclad attack on one Ally", top_k=1).answers[0]
    assert a.text.startswith("Our commitment to Article 5 is ironclad") and a.time == (26.5, 31.0)
    assert a.link == "https://www.youtube.com/watch?v=abc123&t=26s"
    body = AnswerOut.of(a).model_dump()
    assert body["time"] == [26.5, 31.0] and body["link"] == a.link
    # an answer from a transcript without times has neither
    core.ingest_paths([str(Path(__file__).parent / "data" / "nato-2020-01-06-stoltenberg.txt")])
    other = core.ask("Should Iran retaliate trigger Article 5 de-escalate", top_k=1).answers[0]
    assert other.time is None and other.link is None


def test_moment_links():
    assert moment_link("https://youtu.be/xyz", 12.7) == "https://youtu.be/xyz?t=12s"
    assert moment_link("https://www.youtube.com/watch?v=a&t=5s", 60) == "https://www.youtube.com/watch?v=a&t=60s"
    assert moment_link("https://example.org/media/briefing.mp4", 90) == "https://example.org/media/briefing.mp4#t=90"
    assert moment_link("https://example.org/page", 90) == "https://example.org/page"
    assert moment_link(None, 3) is None


def test_csv_rows_are_transcripts_with_their_columns_as_metadata():
    """General case: a data set, one transcript per row; columns found by name; an empty row skipped."""
    rows = parse_file(FORMATS / "conferences.csv")
    assert [(t.title, t.date, t.source_url, t.speakers) for t in rows] == [
        ("Press briefing on trade", "2019-03-04", "https://example.org/briefings/1", ("Sarah Sanders",)),
        ("Press briefing on the border", "2019-03-05", "https://example.org/briefings/2", ("Sarah Sanders",))]
    assert [r for _, r in roles(rows[1])] == [SPOKESPERSON, QUESTIONER, SPOKESPERSON]
    assert rows[1].turn_text(rows[1].turns[2]) == "Yes. The President has been very clear that he will veto it."


def test_tsv_columns_by_other_names_and_a_text_column_found_by_content():
    rows = parse_file(FORMATS / "statements.tsv")
    assert [(t.title, t.date, t.speakers) for t in rows] == [
        ("Statement on the invasion", "2022-02-24", ("Jens Stoltenberg",)),
        ("Statement after the summit", "2022-02-25", ("Jens Stoltenberg",))]
    (t,) = parse_bytes(b"when,who,words\n2020-01-01,Jane Roe,\"We will not comment on that, but we are watching it closely.\"\n",
                       "x.csv")
    assert t.turn_text(t.turns[0]).startswith("We will not comment") and t.date == "2020-01-01"


def make_pdf(pages: list[list[str]]) -> bytes:
    """A small PDF with a text layer (one line of Helvetica per string), built by hand."""
    objects = ["<< /Type /Catalog /Pages 2 0 R >>", None, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    kids = []
    for lines in pages:
        ops = ["BT /F1 10 Tf 12 TL 40 760 Td"] + [
            "(" + line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ") Tj T*" for line in lines] + ["ET"]
        stream = "\n".join(ops).encode("latin-1")
        objects.append(f"<< /Length {len(stream)} >>\nstream\n".encode("latin-1") + stream + b"\nendstream")
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {len(objects)} 0 R "
                       "/Resources << /Font << /F1 3 0 R >> >> >>")
        kids.append(len(objects))
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(f'{k} 0 R' for k in kids)}] /Count {len(kids)} >>"
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for n, obj in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{n} 0 obj\n".encode() + (obj if isinstance(obj, bytes) else obj.encode("latin-1")) + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


BRIEFING_PAGES = [
    ["Press Briefing by the Spokesperson", "MS. ROE: Good afternoon. Today the Minister met her counterparts",
     "to discuss the grain corridor and the safety of shipping.", "Q: Will the corridor reopen this week?",
     "MS. ROE: We expect it to reopen on Friday, if the", "Page 1 of 3"],
    ["Press Briefing by the Spokesperson", "inspections go as planned. We are in close contact with all sides.",
     "Q: And the insurance costs?", "MS. ROE: Those are for the shipping companies to decide.", "Page 2 of 3"],
    ["Press Briefing by the Spokesperson", "Q: Thank you.", "MS. ROE: Thank you all.", "Page 3 of 3"],
]


def test_a_pdf_text_layer_without_running_headers_and_page_numbers():
    """General case: a PDF transcript with running headers and page numbers on every page, labels at
    line starts with no blank lines between turns, and an answer broken by a page break."""
    (t,) = parse_bytes(make_pdf(BRIEFING_PAGES), "briefing.pdf")
    assert "Page 2 of 3" not in t.text and t.text.count("Press Briefing by the Spokesperson") == 0
    assert [r for _, r in roles(t)] == [SPOKESPERSON, QUESTIONER, SPOKESPERSON, QUESTIONER, SPOKESPERSON,
                                        QUESTIONER, SPOKESPERSON]
    assert t.turn_text(t.turns[2]) == ("We expect it to reopen on Friday, if the inspections go as planned. "
                                       "We are in close contact with all sides.")


def test_a_pdf_without_text_and_a_broken_pdf_are_refused_with_the_reason():
    with pytest.raises(TranscriptError, match="no text layer"):
        parse_bytes(make_pdf([[], []]), "scan.pdf")
    with pytest.raises(TranscriptError, match="not a readable PDF"):
        parse_bytes(b"%PDF-1.4\nthis is not a pdf at all", "broken.pdf")


def test_a_batch_of_mixed_formats_lands_whole(tmp_path):
    """Nothing in a batch is skipped for its type."""
    folder = tmp_path / "mixed"
    folder.mkdir()
    for f in FORMATS.iterdir():
        (folder / f.name).write_bytes(f.read_bytes())
    (folder / "briefing.pdf").write_bytes(make_pdf(BRIEFING_PAGES))
    (folder / "feed.rss").write_text('<rss><channel><item><title>T</title><description>MS. ROE: Hello there, everyone.'
                                     '</description></item></channel></rss>')
    core = Onrecord(Settings(index=tmp_path / "index"), embedder=FakeEmbedder())
    report = core.ingest_paths([str(folder)])
    assert report.ok, report.summary()
    assert {Path(t.file.split("#")[0]).suffix for t in report.added} == {".csv", ".tsv", ".vtt", ".srt", ".xml", ".pdf", ".rss"}
