"""Transcript files -> Transcript / Turn / Exchange (pure functions, no I/O but reading).

A file is decoded by its format (`formats`: text, Markdown, HTML, JSON, XML records and feeds,
captions, CSV/TSV, PDF) into Sources; each becomes *canonical text* (`text`: markup removed,
white space normalised, paragraphs joined by a blank line), so that every Turn's span points into
it and an answer is always a verbatim run of it. Paragraphs are classified (`labels`), labels
resolved to names (`names`) and given roles (`roles`), and the turn builder (`builder`) makes
the turns and the question/answer exchanges.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import TranscriptError
from ..models import Transcript
from .builder import parse_source
from .formats import SUFFIXES, decode, json_to_sources, sources_from_bytes
from .htmlpage import html_to_source
from .meta import find_date, guess_organisation, normalise_date, split_front_matter
from .names import us_president_on
from .source import Source
from .text import clean_paragraph, split_inline_labels, split_paragraphs

__all__ = [
    "SUFFIXES", "Source", "clean_paragraph", "decode", "find_date", "guess_organisation", "html_to_source",
    "json_to_sources", "normalise_date", "parse_bytes", "parse_file", "parse_source", "sources_from_bytes",
    "split_front_matter", "split_inline_labels", "split_paragraphs", "us_president_on",
]


def parse_bytes(data: bytes, file: str, meta: dict | None = None) -> list[Transcript]:
    """Parse one file's content into transcripts (a JSON Lines file may hold several)."""
    return [parse_source(s) for s in sources_from_bytes(data, file, meta)]


def parse_file(path: str | Path, meta: dict | None = None) -> list[Transcript]:
    """Parse a transcript file.

    Raises:
        TranscriptError: with the reason when the file cannot be read or parsed.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TranscriptError(f"cannot read the file: {exc.strerror or exc}") from None
    return parse_bytes(data, path.name, meta)
