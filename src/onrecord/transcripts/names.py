"""Speaker names: labels resolved to display names from the title, the front matter and the
text; the President of a White House transcript by its date."""

from __future__ import annotations

import difflib
import re

from .labels import PRINCIPAL_OFFICES

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
    """'JEAN-PIERRE' -> 'Jean-Pierre', 'KIRBY' -> 'Kirby'."""
    if "-" not in word:
        return word[:1].upper() + word[1:].lower()
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




