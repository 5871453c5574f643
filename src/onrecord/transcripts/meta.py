"""Metadata: YAML front matter (bounded), dates written out or numeric, the organisation."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlparse

import yaml

from ..errors import TranscriptError
from .text import _WS_RE

MONTHS = (
    "January February March April May June July August September October November December".split()
)




MAX_FRONT_MATTER = 64 * 1024  # bytes of YAML between the '---' lines; metadata is a few lines
MAX_YAML_DEPTH = 20  # nesting of mappings and lists in front matter


class _FrontMatterLoader(yaml.SafeLoader):
    """Safe YAML that leaves dates as text (a nonsense date is checked by us, not a crash in YAML),
    refuses aliases (a few hundred bytes of nested `*alias` expand to gigabytes: "billion laughs")
    and nesting past MAX_YAML_DEPTH (deep nesting exhausts the stack)."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            raise TranscriptError("front matter uses a YAML alias (*name); write the value out instead")
        self._depth = getattr(self, "_depth", 0) + 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise TranscriptError(f"front matter is nested more than {MAX_YAML_DEPTH} levels deep")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


_FrontMatterLoader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def split_front_matter(text: str) -> tuple[dict, str]:
    """YAML front matter (between two '---' lines at the top) and the rest of the text."""
    if not text.startswith("---"):
        return {}, text
    match = re.match(r"---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|$)", text[: MAX_FRONT_MATTER + 16], re.S)
    if not match:
        if re.search(r"\n---[ \t]*(?:\r?\n|$)", text[MAX_FRONT_MATTER:]):
            raise TranscriptError(f"front matter is longer than {MAX_FRONT_MATTER // 1024} KB")
        raise TranscriptError("front matter starts with '---' but has no closing '---' line")
    try:
        meta = yaml.load(match.group(1), Loader=_FrontMatterLoader) or {}
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else "invalid YAML"
        raise TranscriptError(f"malformed YAML front matter: {first}") from None
    if not isinstance(meta, dict):
        raise TranscriptError("front matter is not a mapping of keys to values")
    return {str(k): v for k, v in meta.items()}, text[match.end() :]


def _clean_meta(value) -> str | None:
    if value is None:
        return None
    text = " ".join(_WS_RE.sub(" ", str(value)).split())
    return text or None


def normalise_date(value) -> str | None:
    """A date from front matter or text -> 'YYYY-MM-DD', or None when it is not a real date."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value).strip()
    match = re.match(r"(\d{4})-(\d{1,2})-(\d{1,2})", text)
    if match:
        try:
            return dt.date(*map(int, match.groups())).isoformat()
        except ValueError:
            return None
    match = re.fullmatch(r"(\d{1,2})[/.](\d{1,2})[/.](\d{4})", text)
    if match:  # day/month/year, as archives write it; month/day when the day cannot be a month
        d, m, y = map(int, match.groups())
        if m > 12 >= d:
            d, m = m, d
        try:
            return dt.date(y, m, d).isoformat()
        except ValueError:
            return None
    return find_date(text)



_DATE_DMY = re.compile(r"\b(\d{1,2})\s+(" + "|".join(MONTHS) + r")\s+(\d{4})\b")
_DATE_MDY = re.compile(r"\b(" + "|".join(MONTHS) + r")\s+(\d{1,2}),?\s+(\d{4})\b")


def find_date(text: str) -> str | None:
    """The first real calendar date written out in `text` ('6 January 2020', 'March 10, 2021')."""
    found = []
    for m in _DATE_DMY.finditer(text):
        found.append((m.start(), int(m.group(3)), MONTHS.index(m.group(2)) + 1, int(m.group(1))))
    for m in _DATE_MDY.finditer(text):
        found.append((m.start(), int(m.group(3)), MONTHS.index(m.group(1)) + 1, int(m.group(2))))
    for _, year, month, day in sorted(found):
        try:
            return dt.date(year, month, day).isoformat()
        except ValueError:
            continue
    return None


_ORG_BY_HOST = {
    "nato.int": "NATO",
    "whitehouse.gov": "The White House",
    "bidenwhitehouse.archives.gov": "The White House",
    "trumpwhitehouse.archives.gov": "The White House",
    "obamawhitehouse.archives.gov": "The White House",
    "presidency.ucsb.edu": "The White House",
}


def guess_organisation(meta: dict, title: str, source_url: str | None) -> str | None:
    """The organisation a transcript speaks for: front matter, the source's site, or the title."""
    for key in ("organisation", "organization", "org"):
        if meta.get(key):
            return _clean_meta(meta[key])
    if source_url:
        host = (urlparse(source_url).hostname or "").lower()
        for suffix, org in _ORG_BY_HOST.items():
            if host == suffix or host.endswith("." + suffix):
                return org
    if re.search(r"\bNATO\b", title):
        return "NATO"
    if re.search(r"\bWhite\s+House\b|President's News Conference", title, re.I):
        return "The White House"
    if "American Presidency Project" in str(meta.get("source", "")):
        return "The White House"
    return None


