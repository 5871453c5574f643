"""Roles: who answers, who asks, who moderates, from the label and from what each speaker does."""

from __future__ import annotations

import difflib
from dataclasses import replace

from ..models import MODERATOR, QUESTIONER, SPOKESPERSON, Turn
from .labels import _QUESTIONER_LABELS, GENERIC_QUESTIONERS, STAFF_LABELS, _Para

_MODERATOR_LETTERS = frozenset("MODERATOR")


def _like_moderator(label: str) -> bool:
    """'MODERATOR', or a typo of it (similarity 0.8). Cheap bounds first: a file may hold a
    hundred thousand labels."""
    word = label.upper()
    if not 6 <= len(word) <= 13:  # a ratio of 0.8 to a 9-letter word needs 6 to 13 letters
        return False
    if 2 * sum(map(_MODERATOR_LETTERS.__contains__, word)) < 0.8 * (len(word) + 9):  # a bound on the matches
        return False
    return difflib.SequenceMatcher(None, word, "MODERATOR").ratio() >= 0.8


def _role_for(label: str, para: _Para, style: str, meta_speakers: list[str], questioners: set[str]) -> str:
    if para.role_hint:
        return para.role_hint
    bare = label.rstrip(".:").strip()
    if bare in _QUESTIONER_LABELS or bare.upper() in GENERIC_QUESTIONERS:
        return QUESTIONER

    if _like_moderator(bare) or bare.upper() in STAFF_LABELS:
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



PRINCIPAL_SHARE = 0.2  # a speaker with this share of the top speaker's words answers (joint conferences: several)
MODERATOR_WORDS = 30  # a moderator's turns are short (median words) ...
FOLLOWED_BY_QUESTION = 0.5  # ... and most of them hand over to a question


def _roles_from_evidence(turns: list[Turn], text: str, moderators_only: bool = False) -> list[Turn]:
    """Roles of named speakers from what they do in the file, where labels are plain names
    ("Kseniya Sobchak:", "Dmitry Peskov:"): a speaker with a large share of the words answers (a
    principal); one who is not a principal and mostly asks (half of their turns hold a question
    mark) is a questioner; one whose turns are short and mostly hand over to a question is the
    moderator. Labels already read as questioners or moderators keep their roles. Where labels
    tell reporters from officials ("Q", "MR. KIKUKAWA:"), only the moderator is read this way
    (`moderators_only`): the press officer who opens a call and hands over to each reporter."""
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

    roles: dict[str, str] = {} if moderators_only else {s: QUESTIONER for s in words.keys() - principals if asking(s)}
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


