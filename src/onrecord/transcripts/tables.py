"""CSV and TSV data sets of transcripts: one transcript per row.

The columns are found by name (text/transcript/content, title, date, speaker, url and the like,
in any case); without a text column by name, the column whose values are longest is the text.
"""

from __future__ import annotations

import csv
import io
import re

from ..errors import TranscriptError
from .source import Source

TEXT_COLUMNS = ("text", "transcript", "content", "body", "full_text", "fulltext", "remarks", "transcript_text")
TITLE_COLUMNS = ("title", "headline", "event", "name_of_event", "subject")
DATE_COLUMNS = ("date", "published", "release_date", "datetime", "day", "event_date", "when")
SPEAKER_COLUMNS = ("speaker", "speakers", "president", "spokesperson", "principal", "person", "who")
_DATE_VALUE = re.compile(r"\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{4}|[A-Z][a-z]+ \d{1,2}, \d{4}|\d{1,2} [A-Z][a-z]+ \d{4}")
URL_COLUMNS = ("url", "link", "source_url", "source", "href")


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


def table_to_sources(text: str, file: str, delimiter: str) -> list:
    """A CSV/TSV file's transcripts, each a Source with its row's metadata."""

    csv.field_size_limit(max(csv.field_size_limit(), len(text) + 1))
    try:
        rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    except csv.Error as exc:
        raise TranscriptError(f"not a readable {'TSV' if delimiter == chr(9) else 'CSV'} file: {exc}") from None
    if len(rows) < 2:
        raise TranscriptError("the table has no rows under its header")
    header = [_key(h) for h in rows[0]]

    def column(names: tuple[str, ...]) -> int | None:
        return next((header.index(n) for n in names if n in header), None)

    text_col = column(TEXT_COLUMNS)
    if text_col is None:  # found by content: the longest values
        widths = [sum(len(r[i]) for r in rows[1:] if i < len(r)) for i in range(len(header))]
        text_col = max(range(len(header)), key=widths.__getitem__)
    date_col = column(DATE_COLUMNS)
    if date_col is None:  # by content: a column whose values are dates
        date_col = next((i for i in range(len(header)) if i != text_col and all(
            i < len(r) and _DATE_VALUE.match(r[i].strip()) for r in rows[1:] if any(r))), None)
    cols = {"title": column(TITLE_COLUMNS), "date": date_col, "speakers": column(SPEAKER_COLUMNS),
            "source_url": column(URL_COLUMNS)}

    sources = []
    for n, row in enumerate(rows[1:], 1):
        body = row[text_col] if text_col < len(row) else ""
        if not body.strip():
            continue
        meta = {key: row[i].strip() for key, i in cols.items() if i is not None and i < len(row) and row[i].strip()}
        if "speakers" in meta:
            meta["speakers"] = [meta["speakers"]]
        if "source_url" in meta and not meta["source_url"].startswith(("http://", "https://")):
            del meta["source_url"]
        sources.append(Source(text=body.replace("\r\n", "\n"), file=f"{file}#{n}", meta=meta))
    if not sources:
        raise TranscriptError("no row of the table holds transcript text")
    return sources
