"""An answer by its id (transcript id + span), with the exchange around it: what a permalink,
an embed and `GET /api/answers/{id}` show.

    "5d41402abc4b2a76-1200-1835" -> the answer turn holding [1200, 1835) (its passages in the store)
                                 -> the verbatim text, speaker, question asked, date, source
                                 -> the exchange (question and answer turns), the turns before and after
                                 -> the other occasions of its words (repeats)

Only a span inside one answer turn is an answer: any other id is not found, so a permalink can
never present a reporter's words, or a stitched span, as the spokesperson's.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import NotFound
from .models import Answer, Transcript, parse_answer_id, time_of
from .search import Searcher
from .transcripts.captions import moment_link


@dataclass(frozen=True)
class ContextTurn:
    """One turn around an answer, verbatim."""

    speaker: str
    role: str
    text: str
    span: tuple[int, int]
    affiliation: str | None = None


@dataclass(frozen=True)
class AnswerContext:
    answer: Answer
    exchange: tuple[ContextTurn, ...]  # the question turns and the answer turns, in order
    before: ContextTurn | None  # the turn before the exchange
    after: ContextTurn | None  # the turn after it


def _turn(t: Transcript, i: int) -> ContextTurn:
    tu = t.turns[i]
    return ContextTurn(speaker=tu.speaker, role=tu.role, text=t.turn_text(tu), span=tu.span, affiliation=tu.affiliation)


def answer_by_id(searcher: Searcher, value: str) -> AnswerContext:
    """The answer an id names, with its context.

    Raises:
        NotFound: not an answer id, no such transcript, or the span is not inside one answer.
    """
    parsed = parse_answer_id(value)
    if parsed is None:
        raise NotFound(f"'{value[:80]}' is not an answer id (TRANSCRIPT-START-END)")
    tid, (start, end) = parsed
    store = searcher.store
    t = store.transcript(tid)  # NotFound for an unknown transcript
    turn = next((i for i, tu in enumerate(t.turns) if tu.span[0] <= start and end <= tu.span[1]), None)
    parts = store.turn_passages(tid, turn) if turn is not None else []
    if not parts or start < parts[0].start or end > parts[-1].end:
        raise NotFound(f"no answer at {start}-{end} in transcript '{tid}'")
    first = parts[0]
    inside = [(p.transcript_id, p.start) for p in parts if p.start < end and start < p.end]
    occasions = [o for found in store.repeats(inside).values() for o in found]
    also = searcher.also_said(list({o.transcript_id: (o, s) for o, s in occasions}.values()))
    when = time_of(t.cues, (start, end))
    answer = Answer(
        text=t.text[start:end], speaker=first.speaker, score=None, span=(start, end), transcript=first.transcript,
        asked=first.asked, asked_by=first.asked_by, topic=first.topic, role=first.role, time=when,
        link=moment_link(t.source_url, when[0]) if when else None, also_said=also,
        first_said=min([d for d in [t.date, *(a.transcript.date for a in also)] if d], default=None),
    )
    exchange = next((x for x in t.exchanges if turn in x.answer), None)
    members = sorted({*exchange.question, *exchange.answer}) if exchange else [turn]
    lo, hi = members[0], members[-1]
    return AnswerContext(
        answer=answer,
        exchange=tuple(_turn(t, i) for i in range(lo, hi + 1)),
        before=_turn(t, lo - 1) if lo > 0 else None,
        after=_turn(t, hi + 1) if hi + 1 < len(t.turns) else None,
    )
