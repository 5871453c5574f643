"""One name per person across an index.

A transcript names its speakers as its labels allow: "John Kirby" where the text says so, "Mr.
Kirby" or "Dr. Birx" where it never gives the full name. At ingest, a short form (a title or
honorific and a surname, or a surname alone) becomes the full name of the one speaker with that
surname that the index or the batch already knows; with none, or several ("George Bush" and
"George W. Bush"), it stays as written. Labels that name a role, not a person ("Reporter",
"Moderator", "Aide", "Answer") never become names and are not listed as speakers.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import lru_cache

from .models import SPOKESPERSON, Transcript

GENERIC_NAMES = frozenset({
    "reporter", "moderator", "unknown speaker", "aide", "answer", "a", "q", "question", "remark", "voice",
    "voices", "audience", "audience member", "journalist", "participant", "interpreter", "operator", "staff",
    "senior administration official", "administration official", "official", "speaker", "mr", "ms", "mrs", "dr",
    "the president", "the vice president", "president", "prime minister", "the prime minister",
})
TITLES = frozenset({
    "mr", "mrs", "ms", "miss", "dr", "the", "president", "vice", "secretary", "senator", "general", "admiral",
    "ambassador", "governor", "director", "minister", "prime", "chancellor", "deputy", "press", "chairman",
    "chair", "commissioner", "administrator", "representative", "mayor", "sheriff", "judge", "justice", "colonel",
    "captain", "lieutenant", "commander", "spokesperson", "spokesman", "spokeswoman", "envoy", "coordinator",
    "doctor", "doctors", "professor", "sir", "dame", "lord", "lady", "sen", "gen", "gov", "rep", "sec",
    "acting", "surgeon", "chief", "special", "senior", "national", "assistant", "associate", "under", "attorney",
    "solicitor", "advisor", "adviser", "security", "principal", "leader", "nsc", "first", "second",
})


@lru_cache(maxsize=8192)
def _is_title(word: str) -> bool:
    """A title word, or a typo of one ("ADMINISTRATION MCCARTHY" for Administrator). Only titles
    that begin with the same two letters are compared (a look-up, not a scan: a file may hold a
    hundred thousand names)."""
    if word in TITLES:
        return True
    near = TITLES_BY_START.get(word[:2], ())
    return len(word) >= 6 and bool(near) and bool(difflib.get_close_matches(word, near, n=1, cutoff=0.85))


@dataclass(frozen=True)
class Speaker:
    """A spokesperson of the index: the canonical name, the labels it stood under, counts."""

    name: str
    aliases: tuple[str, ...]
    role: str
    transcripts: int
    answers: int


TITLES_BY_START: dict[str, list[str]] = {}
for _title in sorted(t for t in TITLES if len(t) >= 6):
    TITLES_BY_START.setdefault(_title[:2], []).append(_title)


def is_generic(name: str) -> bool:
    """A label that names a role, not a person ("Reporter", "Aide", "Speaker 35")."""
    folded = " ".join(name.lower().replace(".", " ").split())
    return folded in GENERIC_NAMES or bool(re.fullmatch(r"(?:speaker|participant|person|caller) \d{1,3}", folded))


def _words(name: str) -> list[str]:
    return [w.strip(".,").lower() for w in name.split() if w.strip(".,")]


def surname(name: str) -> str:
    words = _words(name)
    return words[-1] if words else ""


def is_full_name(name: str) -> bool:
    """'John Kirby', 'George H. W. Bush': given names and a surname, no title first."""
    words = _words(name)
    return len(words) >= 2 and not _is_title(words[0]) and not is_generic(name)


def is_short_form(name: str) -> bool:
    """'Mr. Kirby', 'Dr. Birx', 'President Biden', 'Kirby': a title or nothing, then a surname."""
    words = _words(name)
    if not words or is_generic(name) or is_full_name(name):
        return False
    return all(_is_title(w) for w in words[:-1]) and not _is_title(words[-1])



_GENDERED = {"mr": "m", "mrs": "f", "ms": "f", "miss": "f", "sir": "m", "dame": "f", "lord": "m", "lady": "f"}


def _same_person(forms: list[str]) -> bool:
    """Short forms of one surname that may be one person: all with titles that say nothing of
    gender ("Dr. Murthy", "Surgeon General Murthy"), or all with the same honorific; "Mr. Johnson"
    and "Ms. Johnson", or "Mr. Johnson" and "Dr. Johnson", stay apart."""
    kinds = {next((_GENDERED[w] for w in _words(f)[:-1] if w in _GENDERED), None) for f in forms}
    return len(kinds) == 1



def canonical_names(transcripts: list[Transcript], known: Iterable[str]) -> list[Transcript]:
    """The transcripts with short-form speaker names replaced by the one full name of that surname
    that `known` (the index's speakers) or the batch itself holds."""
    by_surname: dict[str, set[str]] = {}
    short: dict[str, list[str]] = {}  # surname -> its short forms, the index's first, in order
    for name in dict.fromkeys([*known, *(tu.speaker for t in transcripts for tu in t.turns)]):  # each name once
        if is_full_name(name):
            by_surname.setdefault(surname(name), set()).add(name)
        elif is_short_form(name) and name not in short.setdefault(surname(name), []):
            short[surname(name)].append(name)
    out = []
    for t in transcripts:
        mapping = {}
        for name in {tu.speaker for tu in t.turns}:
            if not is_short_form(name):
                continue
            full = by_surname.get(surname(name), set())
            forms = short.get(surname(name), [])
            if len(full) == 1:
                mapping[name] = next(iter(full))
            elif not full and len(forms) > 1 and forms[0] != name and _same_person(forms):
                mapping[name] = forms[0]  # "Dr. Murthy" and "Surgeon General Murthy": one name, the first known

        if not mapping:
            out.append(t)
            continue
        turns = tuple(replace(tu, speaker=mapping.get(tu.speaker, tu.speaker)) for tu in t.turns)
        speakers = tuple(dict.fromkeys(tu.speaker for tu in turns if tu.role == SPOKESPERSON))
        out.append(replace(t, turns=turns, speakers=speakers))
    return out
