"""Parse transcript files into Transcript / Turn / Exchange (pure functions, no I/O but reading).

The parser first turns a file into *canonical text*: the file's words with markup removed
(front matter, markdown escapes, HTML tags) and whitespace normalised, paragraphs joined by a
blank line. Every Turn's span points into that text, so an answer is always a verbatim run of it.
Then each paragraph is classified (speaker label, heading, marker, continuation) and turns and
question/answer exchanges are built from the sequence.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import html
import json
import re
from dataclasses import dataclass, field, replace
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlparse

import yaml

from .errors import TranscriptError
from .models import MODERATOR, QUESTIONER, SPOKESPERSON, UNKNOWN, Exchange, Transcript, Turn

TEXT_SUFFIXES = {".txt", ".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm"}
JSON_SUFFIXES = {".json", ".jsonl"}
XML_SUFFIXES = {".xml", ".rss", ".atom"}
CAPTION_SUFFIXES = {".vtt", ".srt"}
TABLE_SUFFIXES = {".csv", ".tsv"}
PDF_SUFFIXES = {".pdf"}
SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | JSON_SUFFIXES | XML_SUFFIXES | CAPTION_SUFFIXES | TABLE_SUFFIXES | PDF_SUFFIXES

MONTHS = (
    "January February March April May June July August September October November December".split()
)

# --- canonical text -------------------------------------------------------------------------

_ESCAPE_RE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|<>~\"'$&])")
_TAG_RE = re.compile(r"</?[A-Za-z][^<>]{0,200}>")
_AUTOLINK_RE = re.compile(r"<((?:https?|mailto):[^<>\s]+)>")
_EMPHASIS_RE = re.compile(r"(?<![\w*])(\*{1,2})(?=\S)([^*\n]+?)(?<=\S)\1(?![\w*])")
_WS_RE = re.compile(r"[ \t\u00a0\u2000-\u200b\u202f\u205f\u3000\u2060\ufeff]+")


def clean_paragraph(raw: str) -> str:
    """One paragraph of source text -> its canonical form (markup removed, whitespace folded)."""
    text = raw
    if "<" in text:
        text = _TAG_RE.sub("", _AUTOLINK_RE.sub(r"\1", text))
    if "\\" in text:
        text = _ESCAPE_RE.sub(r"\1", text)
    if "*" in text:
        text = _EMPHASIS_RE.sub(r"\2", text)
    text = html.unescape(text) if "&" in text else text
    return " ".join(_WS_RE.sub(" ", text).split())


INLINE_LABELS = 100  # at most this many of a file's labels are looked for inside paragraphs
_INLINE_CANDIDATE = re.compile(r"[A-Z][A-Z.'’\- ]{0,60}[A-Z.](?=: )")


def split_inline_labels(paras: list[str]) -> list[str]:
    """A speaker label of the file that stands inside a paragraph, right after a sentence end
    ("... tracking that. MR. ZIENTS: Next question."), starts a new paragraph. Only ALL-CAPS colon
    labels that also start at least two paragraphs of the file count (a capitalised phrase and a
    colon inside speech is no label otherwise)."""
    counts: dict[str, int] = {}
    for p in paras:
        m = _INLINE_CANDIDATE.match(p)
        if m:
            counts[m.group()] = counts.get(m.group(), 0) + 1
    known = sorted((label for label, n in counts.items() if n >= 2 and len(label) >= 2), key=lambda x: -counts[x])
    if not known:
        return paras
    inline = re.compile(r"(?<=[.?!\"”]) (?=(?:" + "|".join(map(re.escape, known[:INLINE_LABELS])) + r"): )")
    out = []
    for p in paras:
        out.extend(inline.split(p) if ": " in p else [p])
    return out


UNWRAPPED_LINE = 120  # a block whose lines are longer than this (median) was not hard-wrapped
# a speaker label at the start of a line: "MR. KIRBY:", "Q.", "Q:", "Jens Stoltenberg:", "Question:"
_LINE_LABEL = re.compile(
    r"(?P<label>Q[.:]|(?:QUESTION|Question|ANSWER|Answer|MODERATOR|Moderator):|[A-Z][A-Z.'’\- ]{0,60}[A-Z.]:|"
    r"[A-Z][\w.'’\-]+(?: [A-Z][\w.'’\-]+){1,3}:)(?=\s)"
)


def _line_labels(lines: list[str]) -> set[str]:
    """Labels that start at least two lines of the file and stand inside a block of lines at
    least once (a PDF or a hard-wrapped file without blank lines between turns)."""
    counts: dict[str, int] = {}
    inside = set()
    previous_blank = True
    for line in lines:
        stripped = line.strip()
        m = _LINE_LABEL.match(stripped) if stripped else None
        if m:
            counts[m.group("label")] = counts.get(m.group("label"), 0) + 1
            if not previous_blank:
                inside.add(m.group("label"))
        previous_blank = not stripped
    return {label for label in inside if counts[label] >= 2}




def split_paragraphs(body: str) -> list[str]:
    """Blank-line separated blocks of the body, each cleaned; empty blocks dropped. A block of
    hard-wrapped lines is one paragraph (the lines are reflowed); a block whose lines are long
    (median over UNWRAPPED_LINE characters: a file that puts each paragraph on one line, with no
    blank lines) is a paragraph per line."""
    blocks, current = [], []
    lines = body.splitlines()
    starters = _line_labels(lines)

    def flush():
        if len(current) > 1 and sorted(len(x) for x in current)[len(current) // 2] > UNWRAPPED_LINE:
            blocks.extend(current)
        elif current:
            run: list[str] = []
            for line in current:  # a label of the file at the start of a line, inside a block: a new turn
                if run and starters and (m := _LINE_LABEL.match(line.lstrip())) and m.group("label") in starters:
                    blocks.append(" ".join(run))
                    run = []
                run.append(line)
            blocks.append(" ".join(run))
        current.clear()

    for line in lines:
        if _WS_RE.sub("", line).strip():
            current.append(line)
        else:
            flush()
    flush()

    return [p for p in (clean_paragraph(b) for b in blocks) if p]


# --- front matter and metadata ----------------------------------------------------------------


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


# --- paragraph classification -----------------------------------------------------------------

_NUMBERING = r"(?:\[[0-9IlL]{1,3}\.?\]\.?\s*)?"
_Q_RE = re.compile(_NUMBERING + r"(?P<label>Q[.:]?|QUESTION:|Question:)(?=\s|$)\s*")
# the chair calling on a reporter, alone as a paragraph: "[9.] Mr. Horner [Garnett D. Horner,
# Washington Evening Star]." (the name in brackets is who asks next)
_CALL_RE = re.compile(
    r"(?:\[\d{1,3}\.?\]\.?\s*)?(?:Mr|Mrs|Ms|Miss|Dr)\.? [A-Z][\w'’\-]+(?: [A-Z][\w'’\-]+){0,2}\s*"
    r"\[(?P<who>[^\[\]]{3,120})\]\.?"
)
# an editorial footnote: a paragraph that starts with a figure and a capitalised word ("1 The
# text of the final communique ..."); speech never does (a sentence does not start with a figure)
_NUMBERED_RE = re.compile(r"\d{1,2} [A-Z]")
# "MS. JEAN-PIERRE:", "SENIOR ADMINISTRATION OFFICIAL:", "THE PRESIDENT:"
# (a label may stand alone on its line, its text in the next paragraphs: hence `:(?:\s+|$)`)
_CAPS_COLON_RE = re.compile(r"(?P<label>[A-Z][A-Z.'’\- ]{0,60}[A-Z.]):(?:\s+|$)")
# "THE PRESIDENT.", "MR. CORMIER.", "FRANCES L. LEWINE (Associated Press).", "REPORTER."
_CAPS_PERIOD_RE = re.compile(
    _NUMBERING
    + r"(?P<label>(?:THE\.? )?(?:(?:MR|MRS|MS|MISS|DR)\. )?[A-Z][A-Z'’\-]*(?: [A-Z]\.)?"
    r"(?: [A-Z][A-Z'’\-]+){0,3})(?: \((?P<outlet>[^()]{1,60})\))?\.(?:\s+|$)"
)
# "Jens Stoltenberg:", "Question [TV 2]:", "Merriman Smith (United Press International):"
_NAME_COLON_RE = re.compile(
    r"(?P<label>[A-Z][\w.'’\-]*(?: (?:[A-Z][\w.'’\-]*|de|van|von|der)){0,3})"
    r"(?: [\[(](?P<outlet>[^\]()]{1,60})[\])])?:(?:\s+|$)"
)
# Unlabelled question: "Philip Lote [NRK], NRK, Norwegian Broadcasting. Was the criticism ..."
_NAMED_QUESTION_RE = re.compile(
    r"(?P<label>[A-Z][\w'’\-]*(?: [A-Z][\w'’\-]*){0,3}) \[(?P<outlet>[^\]]{1,40})\],[^.?!]{0,80}\.\s+"
)
_TIME_RE = re.compile(r"(?:END\s*)?\(?\d{1,2}:\d{2}\s*[AP]\.\s*M\.(?:\s*[A-Z]{2,4})?\)?$")
_TRAILING_TIME_RE = re.compile(r"\s+(?:END\s+)?\d{1,2}:\d{2}\s*[AP]\.\s*M\.(?:\s*[A-Z]{2,4})?$")
_SEPARATOR_RE = re.compile(r"(?:\*\s*){3,}|-{3,}|_{3,}|#+|•")
_SPEECH_MARKER_RE = re.compile(
    r"(?P<name>[A-Z][\w.'’\-]*(?: [A-Z][\w.'’\-]*){0,3})['’]s? "
    r"(?:speech|statement|opening statement|opening remarks|remarks|introductory remarks)$",
    re.I,
)
_FOOTNOTE_RE = re.compile(r"\d{1,2}[A-Z][a-z]")
_QUESTIONER_LABELS = {"Q", "Q.", "QUESTION:", "Question:", "QUESTION", "Question", "REPORTER"}
# labels that name a role, not a person: a reporter, or the (unnamed) one who answers
GENERIC_QUESTIONERS = {"Q", "QUESTION", "UESTION", "REPORTER", "JOURNALIST", "AUDIENCE MEMBER", "QUESTIONER",
                       "REMARK", "VOICE", "VOICES", "AUDIENCE"}

GENERIC_ANSWERERS = {"A", "ANSWER"}
# the office of the one a transcript is about: the principal its metadata names, when it names one
PRINCIPAL_OFFICES = {"THE PRESIDENT", "THE. PRESIDENT", "PRESIDENT", "PRIME MINISTER", "THE PRIME MINISTER",
                     "CHANCELLOR", "THE CHANCELLOR", "PREMIER", "THE PREMIER"}
_HONORIFICS = {"MR", "MRS", "MS", "MISS", "DR", "MR.", "MRS.", "MS.", "MISS.", "DR."}
_TITLE_WORDS = {
    "acting", "administrator", "admiral", "ambassador", "attorney", "chair", "chairman",
    "chairwoman", "chief", "commissioner", "deputy", "director", "general", "governor",
    "secretary", "senator", "surgeon", "representative", "mayor", "minister", "prime",
    "president", "vice", "lieutenant", "colonel", "captain", "commander", "judge", "justice",
    "sheriff", "special", "envoy", "coordinator", "adviser", "advisor", "press", "principal",
    "national", "security", "senior", "spokesperson", "spokesman", "spokeswoman", "leader",
    "sec", "gen", "mr", "ms", "mrs", "dr", "miss", "the", "and", "doctor", "doctors", "professor",
}  # fmt: skip


@dataclass
class _Para:
    start: int  # offset of the paragraph in the canonical text
    text: str
    kind: str = "text"  # text | label | heading | end | separator | stop | note
    label: str = ""
    outlet: str | None = None
    body_offset: int = 0  # where the speech starts within the paragraph (after the label)
    role_hint: str | None = None
    end_trim: int = 0  # characters cut from the end (a closing time stamp glued to speech)


def _is_heading(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    if len(letters) < 3 or any(c.islower() for c in letters):
        return False
    return len(text.split()) <= 16 and not text.endswith(":")


# "The President.", "Mr. Fitzwater.", "Secretary Baker.": a Title Case label ending in a period,
# taken as a label only when it starts at least RECURRING paragraphs (sentences start so too)
_TITLE_PERIOD_RE = re.compile(
    r"(?P<label>(?:The|Mr\.|Mrs\.|Ms\.|Dr\.|Secretary|Senator|General|Ambassador|Governor|Director|Minister) "
    r"[A-Z][a-z'’\-]+(?: [A-Z][a-z'’\-]+)?)\.(?:\s+|$)"
)
RECURRING = 3


def recurring_title_labels(paras: list[str]) -> set[str]:
    """Title Case period labels that start at least RECURRING paragraphs of the file."""
    counts: dict[str, int] = {}
    for p in paras:
        m = _TITLE_PERIOD_RE.match(p)
        if m:
            counts[m.group("label")] = counts.get(m.group("label"), 0) + 1
    return {label for label, n in counts.items() if n >= RECURRING}


def _is_title_case_heading(text: str) -> bool:
    """'Short-Range Nuclear Forces in Europe': a few words, mostly capitalised, no end punctuation."""
    words = text.split()
    if not 1 <= len(words) <= 10 or not text[0].isupper() or text[-1] in ".?!:;,\"”’)]":
        return False
    long_words = [w for w in words if len(w) > 3]
    return bool(long_words) and sum(w[0].isupper() for w in long_words) >= 0.75 * len(long_words)


def _mark_title_case_headings(paras: list[_Para]) -> None:
    """A Title Case line of its own, right before a reporter's question, is a topic heading (as
    ALL-CAPS ones are); elsewhere such a line is left as speech."""
    for para, nxt in zip(paras, paras[1:]):
        if (para.kind == "text" and nxt.kind == "label" and nxt.role_hint == QUESTIONER
                and _is_title_case_heading(para.text)):
            para.kind = "heading"


def _choose_style(paras: list[str], title_labels: set[str] = frozenset()) -> str:
    """Which label convention the file uses: 'caps-colon', 'caps-period' or 'name-colon'."""
    counts = {"caps-colon": 0, "caps-period": 0, "name-colon": 0}
    for p in paras:
        if _CAPS_COLON_RE.match(p):
            counts["caps-colon"] += 1
        elif _CAPS_PERIOD_RE.match(p) and not _is_heading(p):
            counts["caps-period"] += 1
        elif (m := _TITLE_PERIOD_RE.match(p)) and m.group("label") in title_labels:
            counts["caps-period"] += 1
        elif _NAME_COLON_RE.match(p) or _NAMED_QUESTION_RE.match(p):
            counts["name-colon"] += 1
    best = max(counts, key=counts.get)
    return best if counts[best] else "none"


def _classify(para: _Para, style: str, title_labels: set[str] = frozenset()) -> None:
    text = para.text
    if _TIME_RE.fullmatch(text) or text.strip("[](). ").upper() in ("END", "ENDS") or text.startswith("END "):
        para.kind = "end"
        return
    if text in ("[...]", "[…]", "…", "..."):
        para.kind = "stop"
        return
    if len(text) <= 200 and (call := _CALL_RE.fullmatch(text)):
        who, _, outlet = call.group("who").partition(",")
        para.kind, para.label, para.outlet = "call", who.strip(), outlet.strip() or None
        return
    if _NUMBERED_RE.match(text):
        para.kind = "note"
        return
    if len(text) <= 200 and _SEPARATOR_RE.fullmatch(text):  # bounded: the pattern backtracks on long runs
        para.kind = "separator"
        return
    if text.startswith("[") and text.endswith("]") and "]" not in text[:-1]:
        para.kind = "separator"  # an editorial note such as "[Laughter]"
        return
    trailing = _TRAILING_TIME_RE.search(text)
    if trailing:
        para.end_trim = len(text) - trailing.start()
    m = _Q_RE.match(text)
    if m:
        para.kind, para.label, para.body_offset = "label", "Q", m.end()
        para.role_hint = QUESTIONER
        return
    m = None
    if style == "caps-colon":
        m = _CAPS_COLON_RE.match(text)
    elif style == "caps-period":
        m = _CAPS_PERIOD_RE.match(text)
        if m and _is_heading(text) and m.end() < len(text):
            m = None  # an ALL-CAPS heading that happens to contain "MR." or "U.S."
        if m is None and (t := _TITLE_PERIOD_RE.match(text)) and t.group("label") in title_labels:
            m = t
    elif style == "name-colon":
        m = _NAMED_QUESTION_RE.match(text)
        if m:
            para.role_hint = QUESTIONER
        else:
            m = _NAME_COLON_RE.match(text)
    if m:
        para.kind, para.body_offset = "label", m.end()
        para.label = m.group("label").strip()
        para.outlet = (m.groupdict().get("outlet") or None) and m.group("outlet").strip()
        return
    if _is_heading(text):
        para.kind = "heading"
        return
    if style == "caps-period" and _FOOTNOTE_RE.match(text):
        para.kind = "note"
        return
    para.kind = "text"


# --- speaker names ----------------------------------------------------------------------------


# Who "THE PRESIDENT" of a White House transcript is, by its date (inaugurations; public record)
US_PRESIDENTS = (
    ("1933-03-04", "Franklin D. Roosevelt"), ("1945-04-12", "Harry S. Truman"), ("1953-01-20", "Dwight D. Eisenhower"),
    ("1961-01-20", "John F. Kennedy"), ("1963-11-22", "Lyndon B. Johnson"), ("1969-01-20", "Richard Nixon"),
    ("1974-08-09", "Gerald R. Ford"), ("1977-01-20", "Jimmy Carter"), ("1981-01-20", "Ronald Reagan"),
    ("1989-01-20", "George H. W. Bush"), ("1993-01-20", "Bill Clinton"), ("2001-01-20", "George W. Bush"),
    ("2009-01-20", "Barack Obama"), ("2017-01-20", "Donald J. Trump"), ("2021-01-20", "Joseph R. Biden"),
    ("2025-01-20", "Donald J. Trump"),
)


def us_president_on(date: str) -> str:
    """The President of the United States on a date ('YYYY-MM-DD'), or 'The President' before 1933."""
    name = "The President"
    for start, who in US_PRESIDENTS:
        if date >= start:
            name = who
    return name


def _title_case(word: str) -> str:

    return "-".join(part[:1].upper() + part[1:].lower() for part in word.split("-"))


_GIVEN = re.compile(r"(?:[A-Z][a-z]+|[A-Z]\.)")
_TOKEN = re.compile(r"\S+")
_LEAD = re.compile(r"^\W+")


class _NameIndex:
    """Every "Given Names Surname" of a text, found in one pass: surname (lower case) -> the given
    names (one to three capitalised words or initials) before each of its occurrences, in order,
    with the surname as written. One pass instead of one scan of the text per label keeps a file
    with many labels linear."""

    def __init__(self, text: str):
        self.found: dict[str, list[tuple[list[str], str]]] = {}
        run: list[tuple[str, int]] = []  # the capitalised words just before, with where they end
        for m in _TOKEN.finditer(text):
            tok = m.group()
            if run and len(tok) <= 60:
                for end in self._ends(tok):
                    self.found.setdefault(tok[:end].lower(), []).append(([w for w, _ in run], tok[:end]))
            given = _GIVEN.fullmatch(tok) or (not run and not tok[0].isalnum() and _GIVEN.fullmatch(_LEAD.sub("", tok)))
            if given and (not run or m.start() - run[-1][1] == 1):  # given names one space apart
                run = (run + [(given.group(), m.end())])[-3:]
            else:
                run = []

    @staticmethod
    def _ends(token: str) -> list[int]:
        """Where the surname a token can stand for ends: at each word boundary ("Granholm's" is
        Granholm or Granholm's)."""
        return [b.end() for b in re.finditer(r"\w\b", token)][:4]

    def given_names(self, surname: str) -> list[tuple[list[str], str]]:
        return self.found.get(surname.lower(), [])


class _Names:
    """Resolves speaker labels to display names using the title, front matter and the text."""

    def __init__(self, title: str, meta_speakers: list[str], text: str, date: str | None = None,
                 white_house: bool = False):
        self.title, self.meta_speakers, self.text = title, meta_speakers, text
        self.date, self.white_house = date, white_house
        self.cache: dict[str, str] = {}
        self._indexes: list[_NameIndex] | None = None
        self._title_words: list[str] | None = None

    def _full_name(self, surname: str) -> str | None:
        found = self._find_full_name(surname)
        if found:
            return found
        # a misspelt label ("SECRETARY MAYORAKAS"): the closest surname written in the title
        if self._title_words is None:
            self._title_words = re.findall(r"[A-Z][a-z][\w\-]+", self.title)
        close = difflib.get_close_matches(surname, self._title_words, n=1, cutoff=0.85) if self._title_words else []
        return self._find_full_name(close[0]) if close else None

    def _find_full_name(self, surname: str) -> str | None:
        for name in self.meta_speakers:
            if name.split()[-1].lower() == surname.lower():
                return name
        if self._indexes is None:  # built once, on the first label that needs it
            self._indexes = [_NameIndex(self.title), _NameIndex(self.text)]
        for index in self._indexes:
            for run, written in index.given_names(surname):
                words = [w for w in run if w.strip(".").lower() not in _TITLE_WORDS]
                # keep the given names nearest the surname: "Secretary Jennifer Granholm" -> Jennifer
                while words and words[0].endswith(".") and len(words[0]) > 2:
                    words.pop(0)
                if words:
                    given = words[-2:] if len(words) > 1 and words[-1].endswith(".") else words[-1:]
                    return " ".join(given) + " " + written
        return None

    def resolve(self, label: str) -> str:
        if label in self.cache:
            return self.cache[label]
        words = label.replace("’", "'").split()
        upper = label.upper() == label
        if label.rstrip(".").upper() in ("THE PRESIDENT", "THE. PRESIDENT", "PRESIDENT"):
            name = self._president()
        elif label.rstrip(".").upper() in PRINCIPAL_OFFICES and self.meta_speakers:
            name = self.meta_speakers[0]
        elif not upper:  # "Jens Stoltenberg", "Philip Lote": already a name
            name = label
        elif words[0].rstrip(".") == "THE":
            name = " ".join(_title_case(w) for w in words)
        else:
            core = [w for w in words if w.rstrip(".").lower() not in _TITLE_WORDS and w not in _HONORIFICS]
            if len(core) == 1:
                surname = _title_case(core[0].rstrip("."))
                name = self._full_name(surname) or " ".join(_title_case(w) for w in words)
            elif core and words[0] in _HONORIFICS:  # "FRANCES L. LEWINE"-like full names
                name = " ".join(_title_case(w) for w in core)
            else:
                name = " ".join(_title_case(w) for w in words)
        self.cache[label] = name
        return name

    def _president(self) -> str:
        if self.meta_speakers:
            return self.meta_speakers[0]
        m = re.search(r"President ([A-Z][a-z]+)\b(?!['’])", self.title)
        by_date = us_president_on(self.date) if self.white_house and self.date else "The President"
        if m:
            surname = m.group(1).split()[-1]
            if by_date.split()[-1] == surname:  # "Remarks by President Trump", 2020: Donald J. Trump
                return by_date
            return self._full_name(surname) or f"President {m.group(1)}"
        return by_date




_MODERATOR_LETTERS = frozenset("MODERATOR")


def _like_moderator(label: str) -> bool:
    """'MODERATOR', or a typo of it (similarity 0.8). Cheap bounds first: a file may hold a
    hundred thousand labels."""
    word = label.upper()
    if not 6 <= len(word) <= 13:  # a ratio of 0.8 to a 9-letter word needs 6 to 13 letters
        return False
    if 2 * sum(c in _MODERATOR_LETTERS for c in word) < 0.8 * (len(word) + 9):  # a bound on the matches
        return False
    return difflib.SequenceMatcher(None, word, "MODERATOR").ratio() >= 0.8


def _role_for(label: str, para: _Para, style: str, meta_speakers: list[str], questioners: set[str]) -> str:
    if para.role_hint:
        return para.role_hint
    bare = label.rstrip(".:").strip()
    if bare in _QUESTIONER_LABELS or bare.upper() in GENERIC_QUESTIONERS:
        return QUESTIONER

    if _like_moderator(bare):
        return MODERATOR

    if bare in questioners:
        return QUESTIONER
    if style == "caps-period":
        # Presidential conferences: the President and officials ("THE SOLICITOR GENERAL") answer;
        # named labels ("MR. CORMIER", "FRANCES L. LEWINE (Associated Press)") are reporters.
        if bare.upper().startswith("THE") or any(bare.split()[-1].lower() == s.split()[-1].lower() for s in meta_speakers):
            return SPOKESPERSON
        return QUESTIONER
    if style == "name-colon" and para.outlet and bare.lower() in ("question", "q"):
        return QUESTIONER
    return SPOKESPERSON


# --- the parser -------------------------------------------------------------------------------


@dataclass
class Source:
    """A transcript's text and the metadata that came with it (front matter, JSON fields, CLI)."""

    text: str
    file: str
    meta: dict = field(default_factory=dict)
    note: str | None = None  # how the file was read, when that is worth saying (not UTF-8)
    cues: list = field(default_factory=list)  # a caption file's timed cues (captions.Cue), in order


def parse_source(source: Source) -> Transcript:
    """Parse one transcript's text into a Transcript.

    Raises:
        TranscriptError: when the text holds nothing to index.
    """
    meta = {str(k).lower(): v for k, v in source.meta.items() if v is not None and v != ""}
    raw_paras = split_inline_labels(split_paragraphs(source.text))
    if not raw_paras:
        raise TranscriptError("no text to index (the file is empty or holds only markup)")


    offsets, pos = [], 0
    for p in raw_paras:
        offsets.append(pos)
        pos += len(p) + 2
    canonical = "\n\n".join(raw_paras)
    paras = [_Para(start=o, text=t) for o, t in zip(offsets, raw_paras)]

    title = _clean_meta(meta.get("title")) or raw_paras[0][:200]
    source_url = _clean_meta(meta.get("source_url") or meta.get("url"))
    date = normalise_date(meta.get("date")) or find_date(canonical[:5000])
    meta_speakers = [s for s in (_clean_meta(x) for x in _as_list(meta.get("speakers"))) if s]
    organisation = guess_organisation(meta, title, source_url)

    title_labels = recurring_title_labels(raw_paras)
    style = _choose_style(raw_paras, title_labels)
    for para in paras:
        _classify(para, style, title_labels)
    _mark_title_case_headings(paras)

    names = _Names(title, meta_speakers, canonical, date, organisation == "The White House")
    questioners = {p.label for p in paras if p.kind == "label" and p.role_hint == QUESTIONER}

    turns: list[Turn] = []
    topics: list[str | None] = []
    current: dict | None = None  # the open turn: speaker, role, affiliation, label, start, end
    last_speaker: dict | None = None  # who continues after a separator
    topic: str | None = None
    any_label = any(p.kind == "label" for p in paras)
    breaks: set[int] = set()  # turn indices that follow an omission ("[...]"): a new exchange
    outlets = {p.label: p.outlet for p in paras if p.kind == "label" and p.outlet}
    called: _Para | None = None  # the reporter the chair called on last, until their question


    def close():
        nonlocal current
        if current and current["end"] > current["start"]:
            turns.append(
                Turn(
                    speaker=current["speaker"],
                    role=current["role"],
                    span=(current["start"], current["end"]),
                    affiliation=current["affiliation"],
                    label=current["label"],
                )
            )
            topics.append(current["topic"])
        current = None

    for para in paras:
        body_end = para.start + len(para.text) - para.end_trim
        if para.kind == "label":
            close()
            label = para.label
            role = _role_for(label, para, style, meta_speakers, questioners)
            body = canonical[para.start + para.body_offset:body_end].strip()
            if role != QUESTIONER and len(body) <= 200 and (call := _CALL_RE.fullmatch(body)):
                who, _, outlet = call.group("who").partition(",")  # "THE PRESIDENT. Mr. Pippert [...]"
                called = replace(para, kind="call", label=who.strip(), outlet=outlet.strip() or None)
                last_speaker = None
                continue

            bare = label.rstrip(".:").strip().upper()
            affiliation = para.outlet or (outlets.get(label) if role == QUESTIONER else None)
            if role == QUESTIONER and bare in GENERIC_QUESTIONERS and called is not None:
                speaker, affiliation = called.label, affiliation or called.outlet  # the one just called on
            elif role == QUESTIONER and bare in GENERIC_QUESTIONERS:
                speaker = para.outlet or "Reporter"
            elif role == MODERATOR:
                speaker = "Moderator"
            elif bare in GENERIC_ANSWERERS:  # "Answer": whoever the metadata says answers, or nobody named
                speaker = meta_speakers[0] if meta_speakers else "Unknown speaker"
            else:
                speaker = names.resolve(label)
            current = dict(
                # an outlet printed once by a reporter's label is theirs throughout; a principal's
                # parenthesis ("(Noise in the audience)") is a stage note of that turn only
                speaker=speaker, role=role, affiliation=affiliation,
                label=label, topic=topic,
                start=para.start + para.body_offset, end=body_end,
            )
            _skip_space(current, canonical)
            last_speaker = current
            called = None
            if para.end_trim:
                close()
                last_speaker = None
        elif para.kind == "heading":
            close()
            topic = para.text if style == "caps-period" and para.text not in ("QUESTIONS",) else topic
        elif para.kind in ("end", "stop"):
            close()
            last_speaker = None
            breaks.add(len(turns))
        elif para.kind in ("separator", "note"):
            close()
        elif para.kind == "call":  # belongs to no turn; names who asks next
            close()
            called = para
        else:  # running text
            m = _SPEECH_MARKER_RE.match(para.text)
            if m and len(para.text.split()) <= 8:
                close()
                last_speaker = dict(  # "Jens Stoltenberg's speech": the unlabelled text that follows is his
                    speaker=names.resolve(m.group("name")), role=SPOKESPERSON, affiliation=None,
                    label="", topic=topic, start=0, end=0,
                )
                continue
            if current is not None:
                if current["end"] <= current["start"]:  # a label alone on its line ("REPORTER.")
                    current["start"] = para.start
                current["end"] = body_end
            elif last_speaker is not None:
                current = dict(last_speaker, start=para.start, end=body_end, topic=topic)
            elif not any_label:
                speaker = meta_speakers[0] if meta_speakers else "Unknown speaker"
                role = SPOKESPERSON if meta_speakers else UNKNOWN
                current = dict(
                    speaker=speaker, role=role, affiliation=None, label="", topic=topic,
                    start=para.start, end=body_end,
                )
                last_speaker = current
            # else: editorial text before the first speaker label (headline, summary): not a turn
            if para.end_trim and current is not None:
                close()
                last_speaker = None
    close()

    if not turns:
        raise TranscriptError("found no speech in the text (no speaker turns)")

    if style == "name-colon":
        turns = _roles_from_evidence(turns, canonical)
    exchanges = _pair(turns, topics, breaks, canonical)

    speakers = tuple(dict.fromkeys(t.speaker for t in turns if t.role == SPOKESPERSON))
    cues = _locate_cues(canonical, source.cues) if source.cues else ()
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return Transcript(
        id=digest[:16],
        title=title,
        date=date,
        source_url=source_url,
        file=source.file,
        organisation=organisation,
        text=canonical,
        turns=tuple(turns),
        exchanges=tuple(exchanges),
        speakers=speakers,
        cues=cues,
    )


def _locate_cues(canonical: str, cues: list) -> tuple[tuple[int, int, float, float], ...]:
    """Where each caption cue stands in the canonical text: (start, end, seconds from, seconds to)."""
    from .captions import escape_markdown

    out, pos = [], 0
    for cue in cues:
        needle = clean_paragraph(escape_markdown(cue.text))
        at = canonical.find(needle, pos) if needle else -1
        if at >= 0:
            out.append((at, at + len(needle), round(cue.start, 3), round(cue.end, 3)))
            pos = at + len(needle)
    return tuple(out)


PRINCIPAL_SHARE = 0.2  # a speaker with this share of the top speaker's words answers (joint conferences: several)
MODERATOR_WORDS = 30  # a moderator's turns are short (median words) ...
FOLLOWED_BY_QUESTION = 0.5  # ... and most of them hand over to a question


def _roles_from_evidence(turns: list[Turn], text: str) -> list[Turn]:
    """Roles of named speakers from what they do in the file, where labels are plain names
    ("Kseniya Sobchak:", "Dmitry Peskov:"): a speaker with a large share of the words answers (a
    principal); one who is not a principal and mostly asks (half of their turns hold a question
    mark) is a questioner; one whose turns are short and mostly hand over to a question is the
    moderator. Labels already read as questioners or moderators keep their roles."""
    named = [t for t in turns if t.role == SPOKESPERSON and t.label]
    words: dict[str, int] = {}
    for t in named:
        words[t.speaker] = words.get(t.speaker, 0) + len(text[t.span[0]:t.span[1]].split())
    if len(words) < 2:
        return turns
    top = max(words.values())
    principals = {s for s, n in words.items() if n >= PRINCIPAL_SHARE * top}

    def asks(t: Turn) -> bool:
        return "?" in text[t.span[0]:t.span[1]]

    def introduces(t: Turn) -> bool:  # "Maria Kravtsova, Klops.Ru news website": reporters name themselves
        opening = text[t.span[0]:t.span[0] + 300].lower()
        return "my name is" in opening or t.speaker.split()[-1].lower() in opening

    def own_turns(speaker: str) -> list[int]:
        return [i for i, t in enumerate(turns) if t.speaker == speaker and t.role == SPOKESPERSON]

    def asking(speaker: str) -> bool:
        own = own_turns(speaker)
        return sum(asks(turns[i]) for i in own) >= 0.5 * len(own) or any(introduces(turns[i]) for i in own)

    roles: dict[str, str] = {s: QUESTIONER for s in words.keys() - principals if asking(s)}
    for speaker in words.keys() - principals:  # short turns, most of them followed by a question
        own = own_turns(speaker)
        lengths = sorted(len(text[turns[i].span[0]:turns[i].span[1]].split()) for i in own)
        handed = sum(1 for i in own if i + 1 < len(turns) and (turns[i + 1].role == QUESTIONER
                                                                or roles.get(turns[i + 1].speaker) == QUESTIONER))
        if len(own) >= 3 and lengths[len(lengths) // 2] <= MODERATOR_WORDS and handed >= FOLLOWED_BY_QUESTION * len(own):
            roles[speaker] = MODERATOR
    if not roles:
        return turns
    return [replace(t, role=roles[t.speaker]) if t.role == SPOKESPERSON and t.speaker in roles else t for t in turns]


def _skip_space(turn: dict, text: str) -> None:
    while turn["start"] < turn["end"] and text[turn["start"]].isspace():
        turn["start"] += 1


def _as_list(value) -> list:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


INTERJECTION_WORDS = 25  # a reporter's turn this short, cutting into an answer, does not end it
_CUT_OFF = ("—", "--", "–", "…", "...")


def _interjection(turns: list[Turn], i: int, text: str) -> bool:
    """A reporter's short turn that cuts into an answer ("It's a great —" / "When will you ...?" /
    "Yeah. So, ...") where the same speaker then goes on: the answer goes on too."""
    if not (0 < i < len(turns) - 1) or turns[i].role != QUESTIONER:
        return False
    before, after = turns[i - 1], turns[i + 1]
    return (before.role == SPOKESPERSON and after.speaker == before.speaker
            and text[before.span[0]:before.span[1]].rstrip().endswith(_CUT_OFF)
            and len(text[turns[i].span[0]:turns[i].span[1]].split()) <= INTERJECTION_WORDS)


def _pair(turns: list[Turn], topics: list[str | None], breaks: set[int], text: str = "") -> list[Exchange]:
    """Group turns into exchanges: question turn(s), then the spokesperson turns answering them.
    A reporter's interjection into an answer that goes on (see `_interjection`) belongs to no
    exchange's questions: the answer before and after it is one exchange."""
    exchanges: list[Exchange] = []
    questions: list[int] = []
    answers: list[int] = []
    topic: str | None = None

    def flush():
        nonlocal questions, answers
        if answers:
            exchanges.append(Exchange(question=tuple(questions), answer=tuple(answers), topic=topic))
            questions = []
        answers = []

    for i, turn in enumerate(turns):
        if i in breaks:
            flush()
            questions = []
        if text and answers and _interjection(turns, i, text):
            continue
        if turn.role == QUESTIONER:
            if answers:
                flush()
                questions = []
            questions.append(i)
            topic = topics[i]
        elif turn.role in (SPOKESPERSON, UNKNOWN):
            if not answers and not questions:
                topic = topics[i]
            answers.append(i)
        else:  # a moderator closes the exchange in progress
            flush()
            questions = []
    flush()
    return exchanges


# --- formats ----------------------------------------------------------------------------------


_HTML_WS_RE = re.compile(r"\s+")


def _fold_html_space(m: re.Match) -> str:
    return " " if "\n" in m.group() else m.group()


# page furniture by its class or id: photo blocks, share widgets, "see also" boxes, breadcrumbs.
# A whole token only ("media", "media__title", "share-buttons"; not "media-body", which wraps text)
_FURNITURE = re.compile(
    r"(?:media|photos?|gallery|slider|carousel|share|sharing|social|related|see-?also|breadcrumbs?|promo|advert|ads|"
    r"cookies?|newsletter|subscribe|caption|player|tags|print)(?:__[\w-]+|--[\w-]+|-(?:buttons?|links?|box|bar|block|list|widget))?"
)


def _is_furniture(attrs: dict) -> bool:
    tokens = f"{attrs.get('class') or ''} {attrs.get('id') or ''}".lower().split()
    return any(_FURNITURE.fullmatch(t) for t in tokens) or (attrs.get("role") or "").lower() in ("navigation", "banner")


_PY_ESCAPED = re.compile(r"\\x[0-9a-fA-F]{2}|\\n")


def unescape_saved_html(markup: str) -> str:
    """HTML saved as the text of an escaped string (literal \\n and \\xc2\\xa0, perhaps inside b'...'),
    decoded: a page with many literal \\n and few real line breaks."""
    escapes = len(_PY_ESCAPED.findall(markup[:200_000]))
    if escapes < 20 or markup[:200_000].count("\n") * 5 > escapes:
        return markup
    body = markup.strip()
    if re.match(r"b?['\"]", body) and body[-1:] in "'\"":
        body = body[2:-1] if body.startswith("b") else body[1:-1]
    raw = re.sub(r"\\x([0-9a-fA-F]{2})", lambda m: chr(int(m.group(1), 16)), body)
    raw = raw.replace("\\n", "\n").replace("\\t", "\t").replace("\\r", "").replace("\\'", "'").replace('\\"', '"')
    try:  # the \xNN escapes were UTF-8 bytes
        return raw.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return raw


class _HTMLText(HTMLParser):
    """Visible text of an HTML page with block elements as paragraph breaks."""

    SKIP = {"script", "style", "nav", "header", "footer", "noscript", "svg", "form", "button", "aside", "template",
            "figure", "figcaption", "picture", "video", "audio", "iframe", "select"}
    BLOCK = {"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "tr", "blockquote", "pre", "hr"}
    VOID = {"br", "hr", "img", "meta", "link", "input", "source", "wbr", "area", "base", "col", "embed", "track"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0
        self.furniture: list[str] = []  # the open elements of a skipped block (photo, share box, see also)
        self.title = ""
        self.in_title = False
        self.meta: dict = {}

    def handle_starttag(self, tag, attrs):
        if self.furniture:  # inside page furniture: only count its nesting
            if tag not in self.VOID:
                self.furniture.append(tag)
            return
        if tag not in self.VOID and tag not in self.SKIP and _is_furniture(dict(attrs)):
            self.furniture.append(tag)
            return
        if tag in self.SKIP:
            self.skip += 1
        elif tag == "title":
            self.in_title = True
        elif tag == "meta":
            a = dict(attrs)
            key = (a.get("property") or a.get("name") or "").lower()
            if key in ("og:url",) and a.get("content"):
                self.meta["source_url"] = a["content"]
            elif key in ("article:published_time", "date", "dc.date") and a.get("content"):
                self.meta["date"] = a["content"][:10]
            elif key in ("og:title",) and a.get("content"):
                self.meta["title"] = a["content"]
        elif tag == "link" and dict(attrs).get("rel") == "canonical":
            self.meta.setdefault("source_url", dict(attrs).get("href"))
        if tag in self.BLOCK:
            self.parts.append("\n\n")

    def handle_endtag(self, tag):
        if self.furniture:
            if tag in self.furniture:  # close up to the matching open element
                while self.furniture and self.furniture.pop() != tag:
                    pass
            return
        if tag in self.SKIP and self.skip:
            self.skip -= 1
        elif tag == "title":
            self.in_title = False
        if tag in self.BLOCK:
            self.parts.append("\n\n")

    def handle_data(self, data):
        if self.in_title:
            self.title += data
        elif not self.skip and not self.furniture:
            # inline whitespace inside HTML is not a paragraph break (one pass over each run of
            # white space: a pattern such as \s*\n\s* rescans long runs and is quadratic)
            self.parts.append(_HTML_WS_RE.sub(_fold_html_space, data))


def html_to_source(markup: str, file: str) -> Source:
    parser = _HTMLText()
    parser.feed(unescape_saved_html(markup))

    parser.close()
    meta = dict(parser.meta)
    if parser.title.strip() and "title" not in meta:
        meta["title"] = parser.title.strip()
    text = "".join(parser.parts)
    # HTML has no markdown: protect literal backslashes and asterisks from markdown decoding
    return Source(text=text.replace("\\", "\\\\").replace("*", "\\*"), file=file, meta=meta)


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


def sources_from_bytes(data: bytes, file: str, meta: dict | None = None) -> list[Source]:
    """Decode one file's bytes by its suffix into sources with their metadata."""
    suffix = Path(file).suffix.lower()
    if suffix not in SUFFIXES:
        raise TranscriptError(f"unsupported file type '{suffix or file}' (expected one of {', '.join(sorted(SUFFIXES))})")
    if suffix in PDF_SUFFIXES:  # binary: read by its own library, not decoded as text
        from .pdf import pdf_text

        body, pdf_meta = pdf_text(data)
        sources = [Source(text=body, file=file, meta=pdf_meta)]
        for s in sources:
            s.meta.update({k: v for k, v in (meta or {}).items() if v})
        return sources
    text, note = decode(data)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if suffix in HTML_SUFFIXES:
        sources = [html_to_source(text, file)]
    elif suffix in JSON_SUFFIXES:
        sources = json_to_sources(text, file, lines=suffix == ".jsonl")
    elif suffix in XML_SUFFIXES:
        from .xmlformats import xml_to_sources

        sources = xml_to_sources(text, file)
    elif suffix in TABLE_SUFFIXES:
        from .tables import table_to_sources

        sources = table_to_sources(text, file, "\t" if suffix == ".tsv" else ",")
    elif suffix in CAPTION_SUFFIXES:

        from .captions import caption_text

        body, cues = caption_text(text, suffix)
        sources = [Source(text=body, file=file, cues=cues)]


    else:
        front, body = split_front_matter(text)
        sources = [Source(text=body, file=file, meta=front)]
    for s in sources:
        s.meta.update({k: v for k, v in (meta or {}).items() if v})
        s.note = note
    return sources


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
