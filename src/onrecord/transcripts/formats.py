"""A file's bytes -> Sources, by its suffix: text and Markdown, HTML, JSON, XML records and feeds,
captions, CSV/TSV, PDF."""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import TranscriptError
from .captions import caption_text
from .htmlpage import html_to_source
from .meta import split_front_matter
from .pdf import pdf_text
from .source import Source
from .tables import table_to_sources
from .xmlfeeds import xml_to_sources

TEXT_SUFFIXES = {".txt", ".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm"}
JSON_SUFFIXES = {".json", ".jsonl"}
XML_SUFFIXES = {".xml", ".rss", ".atom"}
CAPTION_SUFFIXES = {".vtt", ".srt"}
TABLE_SUFFIXES = {".csv", ".tsv"}
PDF_SUFFIXES = {".pdf"}
SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | JSON_SUFFIXES | XML_SUFFIXES | CAPTION_SUFFIXES | TABLE_SUFFIXES | PDF_SUFFIXES


def json_to_sources(payload: str, file: str, lines: bool) -> list[Source]:
    try:
        records = [json.loads(line) for line in payload.splitlines() if line.strip()] if lines else json.loads(payload)
    except json.JSONDecodeError as exc:
        raise TranscriptError(f"not valid JSON: {exc.msg} at line {exc.lineno}") from None
    except RecursionError:
        raise TranscriptError("JSON nested too deeply to be a transcript record") from None
    if isinstance(records, dict):
        records = records.get("transcripts", [records]) if "text" not in records else [records]
    if not isinstance(records, list) or not records:
        raise TranscriptError("JSON holds no transcript records")
    sources = []
    for n, record in enumerate(records, 1):
        if not isinstance(record, dict) or not isinstance(record.get("text"), str) or not record["text"].strip():
            raise TranscriptError(f"record {n} has no 'text' field with the transcript")
        meta = {k: v for k, v in record.items() if k != "text"}
        name = file if len(records) == 1 else f"{file}#{n}"
        sources.append(Source(text=record["text"], file=name, meta=meta))
    return sources


def decode(data: bytes) -> tuple[str, str | None]:
    """Bytes of a transcript file -> (text, a note when it was not UTF-8).

    UTF-8 (with or without BOM) and UTF-16 with a BOM are read as such; other text is read as
    Windows-1252 (which also covers Latin-1's printable characters), and the note says so.

    Raises:
        TranscriptError: for empty, binary or undecodable files.
    """
    if not data.strip():
        raise TranscriptError("the file is empty")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "decoded as UTF-16"
        except UnicodeDecodeError:
            raise TranscriptError("the file starts with a UTF-16 mark but is not UTF-16 text") from None
    if b"\x00" in data[:8192]:
        raise TranscriptError("the file is binary, not text")
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        offset = exc.start
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        raise TranscriptError(f"the file is not UTF-8 text (undecodable byte at offset {offset})") from None
    controls = sum(1 for c in text if ord(c) < 32 and c not in "\t\n\r\f")
    if controls > len(text) / 100:
        raise TranscriptError("the file is binary, not text")
    return text, f"not UTF-8 (byte at offset {offset}): decoded as Windows-1252"


def _decoded_sources(text: str, file: str, suffix: str) -> list[Source]:
    """A text file's sources, by its suffix."""
    if suffix in HTML_SUFFIXES:
        return [html_to_source(text, file)]
    if suffix in JSON_SUFFIXES:
        return json_to_sources(text, file, lines=suffix == ".jsonl")
    if suffix in XML_SUFFIXES:
        return xml_to_sources(text, file)
    if suffix in TABLE_SUFFIXES:
        return table_to_sources(text, file, "\t" if suffix == ".tsv" else ",")
    if suffix in CAPTION_SUFFIXES:
        body, cues = caption_text(text, suffix)
        return [Source(text=body, file=file, cues=cues)]
    front, body = split_front_matter(text)
    return [Source(text=body, file=file, meta=front)]


def sources_from_bytes(data: bytes, file: str, meta: dict | None = None) -> list[Source]:
    """Decode one file's bytes by its suffix into sources with their metadata."""
    suffix = Path(file).suffix.lower()
    if suffix not in SUFFIXES:
        raise TranscriptError(f"unsupported file type '{suffix or file}' (expected one of {', '.join(sorted(SUFFIXES))})")
    note = None
    if suffix in PDF_SUFFIXES:  # binary: read by its own library, not decoded as text
        body, pdf_meta = pdf_text(data)
        sources = [Source(text=body, file=file, meta=pdf_meta)]
    else:
        text, note = decode(data)
        sources = _decoded_sources(text.replace("\r\n", "\n").replace("\r", "\n"), file, suffix)
    for s in sources:
        s.meta.update({k: v for k, v in (meta or {}).items() if v})
        s.note = note
    return sources


