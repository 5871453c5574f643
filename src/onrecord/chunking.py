"""Exchanges -> Passages: answer-aware chunks that never cross a speaker turn.

A short answer is one passage. A long answer or opening statement is split at paragraph
boundaries, and a paragraph that alone is too long at sentence boundaries, so that each passage
fits the embedding model's window with the question in front of it. Every passage is a
verbatim span of the transcript's canonical text. A spokesperson's turn that answers nothing
(thanks, calls, the room run, a cut-off start: `nonanswers.py`) is no passage.
"""

from __future__ import annotations

import re

from .models import QUESTIONER, SPOKESPERSON, UNKNOWN, Exchange, Passage, Transcript
from .nonanswers import answers_nothing, greets, lower_words

MAX_WORDS = 150  # MiniLM reads 256 word pieces; ~150 words leave room for the question
# and at most this many characters: a "word" can be a megabyte of punctuation, and the model reads
# 256 word pieces at most anyway (150 ordinary words are ~900 characters)
MAX_CHARS = 2000
MIN_WORDS = 40  # a shorter tail is merged into the passage before it
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"”’)\]]*\s+(?=[\"“‘(\[]?[A-Z0-9])")
_PARAGRAPH = re.compile(r"\n\n")
_WORD = re.compile(r"\S+")


def _pieces(text: str, start: int, end: int) -> list[tuple[int, int, int]]:
    """Paragraphs of text[start:end], long ones cut into sentences: (start, end, words) each."""
    out = []
    bounds = [start] + [m.end() for m in _PARAGRAPH.finditer(text, start, end)] + [end + 2]
    for a, b in zip(bounds, bounds[1:]):
        b = b - 2  # drop the paragraph break
        if b <= a:
            continue
        n = len(text[a:b].split())
        if n <= MAX_WORDS:
            out.append((a, b, n))
            continue
        s = a
        for m in _SENTENCE_END.finditer(text, a, b):
            out.append((s, m.start(), len(text[s : m.start()].split())))
            s = m.end()
        out.append((s, b, len(text[s:b].split())))
    return [p for p in out if p[2]]


def split_span(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Cut text[start:end] into spans of at most ~MAX_WORDS words at paragraph/sentence ends."""
    chunks: list[list[int]] = []  # [start, end, words]
    for a, b, n in _pieces(text, start, end):
        if n > MAX_WORDS * 2 or b - a > MAX_CHARS:  # one sentence longer than any window: cut at words
            chunks.extend(_cut_words(text, a, b))
            continue
        if chunks and chunks[-1][2] + n <= MAX_WORDS and b - chunks[-1][0] <= MAX_CHARS:
            chunks[-1][1], chunks[-1][2] = b, chunks[-1][2] + n
        else:
            chunks.append([a, b, n])
    if (len(chunks) > 1 and chunks[-1][2] < MIN_WORDS and chunks[-2][2] + chunks[-1][2] <= MAX_WORDS * 1.3
            and chunks[-1][1] - chunks[-2][0] <= MAX_CHARS):
        last = chunks.pop()
        chunks[-1][1], chunks[-1][2] = last[1], chunks[-1][2] + last[2]
    return [(a, b) for a, b, _ in chunks]


def _cut_words(text: str, a: int, b: int) -> list[list[int]]:
    """text[a:b] in runs of at most MAX_WORDS words and MAX_CHARS characters; a word longer than
    MAX_CHARS is cut inside (each run stays a contiguous span of the text)."""
    out: list[list[int]] = []
    for m in _WORD.finditer(text, a, b):
        s, e = m.start(), m.end()
        while e - s > MAX_CHARS:
            out.append([s, s + MAX_CHARS, 1])
            s += MAX_CHARS
        if out and out[-1][2] < MAX_WORDS and e - out[-1][0] <= MAX_CHARS:
            out[-1][1], out[-1][2] = e, out[-1][2] + 1
        else:
            out.append([s, e, 1])
    return out


def asked_by(transcript: Transcript, turn_index: int) -> str | None:

    """Who asked: 'TV 2', 'Philip Lote (NRK)', or None for an unnamed reporter."""
    turn = transcript.turns[turn_index]
    name = turn.speaker if turn.speaker not in ("Reporter", turn.affiliation) else None
    if name and turn.affiliation:
        return f"{name} ({turn.affiliation})"
    return name or turn.affiliation


def question_turns(exchange: Exchange) -> tuple[int, ...]:
    """The turns of the question an exchange's answer answers: its last question turn, and the
    turns before it that only a spokesperson's acknowledgement or question back cut off (one turn
    apart: see `Exchange`). Earlier question turns (a question that got no answer) are not part of it."""
    q = exchange.question
    n = len(q) - 1
    while n > 0 and q[n] - q[n - 1] == 2:
        n -= 1
    return q[n:] if q else ()


def chunk(transcript: Transcript) -> list[Passage]:
    """All passages of a transcript: every spokesperson answer and statement, chunked."""
    passages = []
    lower = lower_words(transcript.text)
    for exchange in transcript.exchanges:
        parts = [transcript.turns[i] for i in question_turns(exchange)]
        question = exchange.question[-1] if exchange.question else None
        put = [transcript.turn_text(t).strip() for t in parts] if all(t.role == QUESTIONER for t in parts) else []
        asked = " ".join(s for s in put if not greets(s)) or None  # "Good afternoon." asks nothing
        who = asked_by(transcript, question) if asked else None
        for ti in exchange.answer:
            turn = transcript.turns[ti]
            said = transcript.turn_text(turn).strip()
            if turn.role not in (SPOKESPERSON, UNKNOWN) or answers_nothing(transcript, ti, said, lower):
                continue  # a reporter's turn; thanks, greetings, calls, the room run, a stage note, a cut-off start
            for a, b in split_span(transcript.text, *turn.span):
                passages.append(
                    Passage(
                        transcript_id=transcript.id,
                        turn_index=ti,
                        span=(a, b),
                        text=transcript.text[a:b],
                        speaker=turn.speaker,
                        role=turn.role,
                        asked=asked,
                        asked_by=who,
                        topic=exchange.topic,
                        label=turn.label,
                    )
                )
    return passages
