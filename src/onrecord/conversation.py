"""Follow-up questions in a conversation: what a question inherits from the one before it.

"What did Kirby say about the hostages?" then "and what about Iran?": the follow-up keeps the
speaker the first question named, and the date range it used when it sets none. A speaker chosen
as a filter wins over one the question names, and the reading says so. Pure: the caller keeps
the context between questions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

FOLLOW_UP = re.compile(r"^\s*(?:and|also|what about|how about|and what about|what else|anything)\b", re.I)


@dataclass(frozen=True)
class Reading:
    """How to search for one question of a conversation."""

    speaker: str | None  # the speaker filter to search with
    since: str
    until: str
    notes: tuple[str, ...] = ()  # what the reader should be told about the reading
    context: dict = field(default_factory=dict)  # what the next question inherits


def read_question(question: str, named_speakers: tuple[str, ...], chosen_speaker: str | None, since: str,
                  until: str, previous: dict | None) -> Reading:
    """The search for `question`, given the speakers it names, the speaker filter the reader chose
    (None: any), the dates the reader set ("" for none) and the context the last question left."""
    context = dict(previous or {})
    notes: list[str] = []
    speaker = chosen_speaker
    follow_up = bool(FOLLOW_UP.match(question))
    if speaker is None:
        if named_speakers:
            context["named"] = named_speakers[0]  # steers this question, filters its follow-ups
        elif follow_up and context.get("named"):
            speaker = context["named"]
            notes.append(f"Follow-up: still {speaker}")
        else:
            context["named"] = None
    elif named_speakers and speaker not in named_speakers:
        notes.append(f"The question names {named_speakers[0]}; the speaker filter ({speaker}) was used")
    if follow_up and not (since or until):
        since, until = context.get("since") or "", context.get("until") or ""
    context.update(since=since or None, until=until or None)
    return Reading(speaker=speaker, since=since, until=until, notes=tuple(notes), context=context)
