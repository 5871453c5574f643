"""Reading a journalist's question: quoted phrases, the speakers, organisation, years and months it names.

Speakers are found by their surname among the index's speakers, also as reporters misspell them
("Kirbey" -> John Kirby, "Jen Saki" -> Jen Psaki): a word the index's text does not know, within
one or two edits of a surname, is read as that surname. A word typed in capitals that is the
initials of a speaker's three or more names ("LBJ" -> Lyndon B. Johnson, "KJP" -> Karine
Jean-Pierre) is read as that speaker. How a question was read is reported
(`Query.read_as`), so the reader sees it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import BadQuery
from .terms import terms_of
from .transcripts.meta import MONTHS

MAX_QUESTION_CHARS = 2000
MIN_FUZZY = 4  # shorter words are never read as a misspelt name
RARE_WORD = 2  # a word in more passages than this is a word of the index, not a misspelt name

_PHRASE = re.compile(r"[\"“”]([^\"“”]{2,200})[\"“”]")
_YEAR = re.compile(r"\b(19[4-9]\d|20[0-4]\d)\b")
_MONTHS = [m.lower() for m in MONTHS]
# a month of a year: "May 2021", "in May of 2021", "May 13, 2021"
_MONTH_YEAR = re.compile(r"\b(" + "|".join(_MONTHS) + r")\s+(?:of\s+|\d{1,2}(?:st|nd|rd|th)?,?\s+)?(19[4-9]\d|20[0-4]\d)\b",
                         re.I)
# "what did the President say", "the President's view": the President is the one speaking
_ASKS_PRESIDENT = re.compile(
    r"\b(?:did|does|has|would|will|is) the president\b(?! (?:or|and)\b)|\bthe president(?:'s|’s)? "
    r"(?:say|said|says|think|thinks|view|views|position|comment|comments|remarks|answer|response)\b"
)
_GENERIC_NAMES = {"moderator", "reporter", "unknown speaker", "senior administration official", "aide", "the president"}
ORGANISATIONS = {"nato": "NATO", "white house": "The White House"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_QUESTION_WORD = re.compile(r"[\w'’\-]+")


@dataclass(frozen=True)
class Query:
    """A parsed question."""

    text: str
    terms: tuple[str, ...]
    phrases: tuple[str, ...] = ()
    speaker: str | None = None  # an explicit filter (substring of the speaker's name)
    since: str | None = None
    until: str | None = None
    named_speakers: tuple[str, ...] = ()  # speakers the question names ("what did Kirby say")
    organisation: str | None = None
    years: tuple[str, ...] = ()
    months: tuple[str, ...] = ()  # months of a year it names, as "2021-05"
    president: bool = False
    read_as: tuple[tuple[str, str], ...] = ()  # (word typed, speaker it was read as) for misspelt names
    transcript: str | None = None  # an explicit filter: within this transcript


class SpeakerNames:
    """The index's speakers by surname, for finding them in questions: exact surnames, and every
    surname with one letter deleted (a misspelling within two edits shares such a form with it:
    the symmetric-delete scheme of SymSpell). Built once per index; a question costs a few look-ups
    however many speakers there are."""

    def __init__(self, known_speakers: list[str]):
        self.exact: dict[str, list[tuple[int, str]]] = {}
        self.first: dict[str, set[str]] = {}  # first names, to confirm a looser match
        self.initials: dict[str, list[tuple[int, str]]] = {}  # "lbj" -> Lyndon B. Johnson
        for rank, name in enumerate(known_speakers):
            parts = name.split()
            if not parts or name.lower() in _GENERIC_NAMES:
                continue
            letters = [w[0] for w in re.split(r"[\s\-]+", name) if w[:1].isalpha()]
            if len(letters) >= 3:
                self.initials.setdefault("".join(letters).lower(), []).append((rank, name))
            if len(parts[-1]) < 3:
                continue
            self.exact.setdefault(parts[-1].lower(), []).append((rank, name))
            if len(parts) > 1:
                self.first.setdefault(name, set()).add(parts[0].lower())
        self.deletes: dict[str, set[str]] = {}
        for surname in self.exact:
            if len(surname) >= MIN_FUZZY:
                for form in (surname, *_deletes(surname)):
                    self.deletes.setdefault(form, set()).add(surname)

    def get(self, word: str, default=()):
        return self.exact.get(word, default)

    def near(self, word: str, words: set[str]) -> list[tuple[int, str]]:
        """Speakers whose surname `word` misspells: within one edit, or two when the question also
        gives their first name (Damerau distance, a swap of neighbours being one edit)."""
        if len(word) < MIN_FUZZY or not _is_name_like(word):
            return []
        found = {s for form in (word, *_deletes(word)) for s in self.deletes.get(form, ())} - {word}
        out = []
        for surname in found:
            d = _distance(word, surname)
            for rank, name in self.exact[surname]:
                if d <= 1 or (d == 2 and len(word) >= 5 and self.first.get(name, set()) & words):
                    out.append((rank, name))
        return out


def _is_name_like(word: str) -> bool:
    return word.replace("-", "").replace("'", "").isalpha()


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1:] for i in range(len(word))}


def _distance(a: str, b: str) -> int:
    """Damerau-Levenshtein (optimal string alignment) distance."""
    prev2, prev = None, list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if prev2 is not None and i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[-1]


def _words_of(low: str) -> set[str]:
    """The question's words, and their parts at hyphens and apostrophes ("jean-pierre", "kirby's")."""
    words = set()
    for w in _QUESTION_WORD.findall(low):
        words.add(w)
        words.update(re.split(r"[\-'’]+", w))
    return {w for w in words if w}


def parse_query(text: str, known_speakers: list[str] | SpeakerNames, speaker: str | None = None,
                since: str | None = None, until: str | None = None, frequency=None) -> Query:
    """Read a journalist's question: quoted phrases, named speakers and organisations, years, months.
    `known_speakers`: the index's speaker names, or their `SpeakerNames`; `frequency(words)`: in
    how many passages each word occurs (misspelt names are looked for only when it is given).

    Raises:
        BadQuery: an empty or over-long question.
    """
    text = " ".join(_CONTROL.sub(" ", text or "").split())  # control characters never reach FTS5
    if not text:
        raise BadQuery("the question is empty")
    if len(text) > MAX_QUESTION_CHARS:
        raise BadQuery(f"the question is {len(text)} characters long; the limit is {MAX_QUESTION_CHARS}")
    low = text.lower()
    names = known_speakers if isinstance(known_speakers, SpeakerNames) else SpeakerNames(list(known_speakers))
    words = _words_of(low)
    found = {hit for w in words for hit in names.get(w, ())}
    read_as = []
    for w in sorted(words & names.initials.keys()):  # initials, typed in capitals ("LBJ's", not "lbj")
        if (typed := _typed(text, w)).isupper():
            found.update(names.initials[w])
            read_as += [(typed, name) for _, name in sorted(names.initials[w])]
    if frequency is not None:
        unknown = [w for w in words if w not in names.exact and len(w) >= MIN_FUZZY and _is_name_like(w)]
        df = frequency(unknown) if unknown else {}
        for w in sorted(unknown):
            if df.get(w, 0) <= RARE_WORD:
                hits = names.near(w, words)
                found.update(hits)
                read_as += [(_typed(text, w), name) for _, name in sorted(hits)]
    named = [name for _, name in sorted(found)]
    organisation = next((org for key, org in ORGANISATIONS.items() if re.search(r"\b" + key + r"\b", low)), None)
    return Query(
        text=text,
        terms=tuple(terms_of(text)),
        phrases=tuple(" ".join(p.split()) for p in _PHRASE.findall(text)),
        speaker=speaker or None,
        since=since or None,
        until=until or None,
        named_speakers=tuple(dict.fromkeys(named)),
        organisation=organisation,
        years=tuple(dict.fromkeys(_YEAR.findall(text))),
        months=tuple(dict.fromkeys(f"{y}-{_MONTHS.index(m.lower()) + 1:02d}" for m, y in _MONTH_YEAR.findall(text))),
        president=bool(_ASKS_PRESIDENT.search(low)) and not named,
        read_as=tuple(read_as),
    )


def _typed(text: str, word: str) -> str:
    """The word as the question typed it ("Kirbey", not "kirbey")."""
    m = re.search(r"(?i)\b" + re.escape(word) + r"\b", text)
    return m.group(0) if m else word
