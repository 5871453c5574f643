"""XML transcripts: archive records, RSS 2.0 and Atom feeds -> one Source per transcript.

    archive records   <transcripts><transcript><title/><release-date/><prime-minister/><content/>...
                      (the transcript is the record's largest text or HTML field; title, date,
                      speaker and link come from fields with those names)
    RSS 2.0           <rss><channel><item><title/><pubDate/><link/><content:encoded/> or <description/>
    Atom              <feed><entry><title/><published/><link href/><content/> or <summary/>

Field text that holds HTML is read as an HTML page is. The same transcript text in two items is
read once. Documents that declare entities are refused (no entity expansion, no external files).
"""

from __future__ import annotations

import email.utils
import re
import xml.etree.ElementTree as ET

from ..errors import TranscriptError
from .captions import is_timedtext, timedtext_text
from .htmlpage import html_to_source
from .meta import normalise_date
from .source import Source

TITLE_FIELDS = ("title", "headline", "name")
DATE_FIELDS = ("date", "release-date", "releasedate", "pubdate", "published", "updated", "issued", "created")
SPEAKER_FIELDS = ("speaker", "speakers", "prime-minister", "president", "minister", "spokesperson", "author", "creator")
LINK_FIELDS = ("link", "url", "source_url", "source", "guid", "id")
_HTML_HINT = re.compile(r"<\s*(?:p|br|div|strong|b|i|em|span|h[1-6]|li)\b", re.I)


def _local(tag: str) -> str:
    """A tag without its namespace, lower case: '{http://purl.org/rss/1.0/modules/content/}encoded' -> 'encoded'."""
    return tag.rsplit("}", 1)[-1].lower() if isinstance(tag, str) else ""


def _text(el: ET.Element) -> str:
    return "".join(el.itertext()).strip()


def parse_xml(text: str) -> ET.Element:
    if re.search(r"<!ENTITY", text[:100_000], re.I):
        raise TranscriptError("the XML declares entities, which onrecord does not expand")
    try:
        return ET.fromstring(text.encode("utf-8"))
    except ET.ParseError as exc:
        raise TranscriptError(f"not well-formed XML: {exc}") from None
    except RecursionError:
        raise TranscriptError("XML nested too deeply to be a transcript") from None


def _date(value: str) -> str | None:
    """A date field: ISO, YYYYMMDD, day/month/year (archives), or RFC 822 (feeds)."""

    value = value.strip()
    if re.fullmatch(r"\d{8}", value):
        value = f"{value[:4]}-{value[4:6]}-{value[6:]}"
    if re.match(r"\d{4}-\d{2}-\d{2}|\d{1,2}[/.]\d{1,2}[/.]\d{4}$", value):
        return normalise_date(value)
    try:
        return email.utils.parsedate_to_datetime(value).date().isoformat()
    except (TypeError, ValueError, IndexError):
        return normalise_date(value)


def _person(value: str) -> str:
    """'Turnbull, Malcolm' -> 'Malcolm Turnbull' (an archive's surname-first form)."""
    value = " ".join(value.split())
    m = re.fullmatch(r"([^,]+),\s*([^,]+)", value)
    return f"{m.group(2)} {m.group(1)}" if m else value


def _record_meta(record: ET.Element) -> dict:
    fields: dict[str, ET.Element] = {}
    for child in record:
        fields.setdefault(_local(child.tag), child)
    meta: dict = {}
    for name in TITLE_FIELDS:
        if name in fields and _text(fields[name]):
            meta["title"] = _text(fields[name])
            break
    for name in DATE_FIELDS:
        if name in fields and _text(fields[name]) and (d := _date(_text(fields[name]))):
            meta["date"] = d
            break
    for name in SPEAKER_FIELDS:
        if name in fields and _text(fields[name]):
            meta["speakers"] = [_person(_text(fields[name]))]
            break
    for name in LINK_FIELDS:
        el = fields.get(name)
        if el is None:
            continue
        link = el.get("href") or _text(el)
        if link.startswith(("http://", "https://")):
            meta["source_url"] = link
            break
    return meta


BODY_FIELDS = ("content", "encoded", "text", "transcript", "body", "description", "summary")


def _field_text(el: ET.Element) -> str:
    """A field's text; a field holding elements (HTML written as XML) keeps them as markup."""
    if len(el) == 0:
        return (el.text or "").strip()
    return ((el.text or "") + "".join(ET.tostring(c, encoding="unicode") for c in el)).strip()


def _body(record: ET.Element, prefer: tuple[str, ...]) -> str:
    """The transcript text of a record: a preferred field, else its largest text field."""
    fields = [(_local(c.tag), _field_text(c)) for c in record]
    for name in prefer:
        for tag, text in fields:
            if tag == name and text:
                return text
    skip = set(TITLE_FIELDS) | set(DATE_FIELDS) | set(LINK_FIELDS)
    return max((text for tag, text in fields if tag not in skip), key=len, default="")


def _records(root: ET.Element) -> list[ET.Element]:
    """An archive's records: its child elements that hold fields; the root itself when it is one
    record (its children are fields, the transcript among them)."""
    if any(_local(c.tag) in BODY_FIELDS and len(c) == 0 for c in root):
        return [root]
    return [c for c in root if len(c)] or [root]


def xml_to_sources(text: str, file: str) -> list:
    """An XML file's transcripts, each a Source (HTML fields decoded as HTML pages are)."""

    root = parse_xml(text)
    kind = _local(root.tag)
    if is_timedtext(root):  # YouTube captions: timed cues, not records
        body, cues = timedtext_text(root)
        return [Source(text=body, file=file, cues=cues)]

    if kind == "rss":
        records, prefer = [el for el in root.iter() if _local(el.tag) == "item"], ("encoded", "description")
    elif kind == "feed":
        records, prefer = [el for el in root if _local(el.tag) == "entry"], ("content", "summary")
    else:
        records, prefer = _records(root), ("content", "text", "transcript", "body")
    sources, seen = [], set()
    for n, record in enumerate(records, 1):
        body = _body(record, prefer)
        if not body.strip() or body in seen:
            continue  # an empty item, or the same text twice
        seen.add(body)
        name = file if len(records) == 1 else f"{file}#{n}"
        if _HTML_HINT.search(body):
            source = html_to_source(body, name)
        else:
            source = Source(text=body, file=name)
        source.meta = {**source.meta, **_record_meta(record)}
        sources.append(source)
    if not sources:
        raise TranscriptError("the XML holds no transcript text")
    return sources
