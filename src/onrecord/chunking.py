"""Exchanges -> Passages: answer-aware chunks that never cross a speaker turn.

A short answer is one passage. A long answer or opening statement is split at paragraph
boundaries, and a paragraph that alone is too long at sentence boundaries, so that each passage
fits the embedding model's window with the question in front of it. Every passage is a
verbatim span of the transcript's canonical text.
"""

from __future__ import annotations

import re

from .models import QUESTIONER, SPOKESPERSON, UNKNOWN, Exchange, Passage, Transcript
from .transcripts.labels import ACKNOWLEDGEMENT, COURTESY, GREETING

MAX_WORDS = 150  # MiniLM reads 256 word pieces; ~150 words leave room for the question
# and at most this many characters: a "word" can be a megabyte of punctuation, and the model reads
# 256 word pieces at most anyway (150 ordinary words are ~900 characters)
MAX_CHARS = 2000
MIN_WORDS = 40  # a shorter tail is merged into the passage before it
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"”’)\]]*\s+(?=[\"“‘(\[]?[A-Z0-9])")
_PARAGRAPH = re.compile(r"\n\n")
_WORD = re.compile(r"\S+")
_STAGE_NOTE = re.compile(r"[(\[][^()\[\]]{1,60}[)\]]")  # "(Laughs.)", "(Cross-talk.)", "[Inaudible]"
# a word the speaker says before thanking, greeting or calling: "All right. Good afternoon, everyone."
_LEAD = re.compile(r"(?:(?:all right|alright|okay|ok|yeah|sure|great|right)[.!,]\s+)+", re.I)
_SIR = re.compile(r"(?:sir|ma['’]am)[.!?]*", re.I)  # "Yeah, sir." may answer
CALL_WORDS = 4  # a call on the next speaker is a name or two: "Jeff Mason.", "Dr. Walensky?", "Russell — Gabe."
_TITLES = {"dr", "mr", "mrs", "ms", "miss", "madam", "secretary", "ambassador", "admiral", "general", "senator",
           "governor", "director", "administrator", "surgeon"}
_HANDS_OVER = {"go", "ahead", "please"}  # "Kelly, go ahead."
_INITIALS = re.compile(r"(?:[A-Z]\.){2,3}")  # "J.J."
_LOWER_WORD = re.compile(r"(?<![\w'’\-])[a-z][\w'’\-]*")
# a sentence that runs the room: calls and the floor ("Last two in the back.", "April, you have the
# last one.", "Dr. Fauci, why don't we start with you?"), asking to hear a question again, closing
_NAME = r"(?-i:[A-Z][\w.'’\-]*(?: [A-Z][\w'’\-]*)?)"
_ROOM = re.compile(
    r"(?:(?:okay|ok|all right|alright|great|sure|yeah|so|oh|well|and)[.,!]?\s+)*(?:"
    rf"(?:{_NAME},? )?go ahead(?:,? (?:{_NAME}|in the back|sir|ma['’]am|quickly|please))*"
    r"|(?:(?:we['’]re going to|we['’]ll|let['’]s|i['’]ll) (?:do|take) )?(?:(?:that|the|one|two|our) )?(?:last|final) "
    rf"(?:one|two|question|questions)(?:,? (?:{_NAME}|in the back|go ahead))*"
    rf"|(?:{_NAME},? )?you(?:['’]ve| have)(?: got)? the (?:last|final|next) (?:one|question)"
    rf"|(?:just )?(?:one|two|a couple(?: of)?) more(?: questions?)?(?:,? (?:{_NAME}|please|in the back))*"
    r"|in the back|(?:(?:we(?:['’]re| are)|i(?:['’]m| am)) )?going to (?:start )?(?:wrap(?:ping)? (?:it |this )?up)"
    r"|(?:we )?(?:have|need|got) to wrap (?:it |this )?up|let['’]s wrap (?:it |this )?up"
    rf"|(?:(?:let['’]s|let me|why don['’]t we|we['’]ll) (?:start|begin|kick (?:it )?off) with (?:you|{_NAME})(?:,? {_NAME})?"
    rf"|{_NAME},? (?:why don['’]t we|do you want to|you want to|can you) (?:start|begin|take that|kick (?:it|us) off)"
    r"(?: with (?:you|that|this))?"
    rf"|let me ask {_NAME} to (?:take|answer|start with) (?:that|this)|(?:let['’]s )?kick (?:it|us) off(?:,? {_NAME})?"
    r"|(?:does )?any(?:body|one)(?: else)? want to (?:add|jump in)(?: to that| anything)?|whoever wants to (?:go|start))"
    r"|(?:i['’]m (?:so )?sorry[.,]? )?say that (?:again|one more time|last part)(?:[.,]? i['’]m (?:so )?sorry)?"
    r"|(?:i['’]m (?:so )?sorry|pardon|hold on(?: (?:one|a) (?:second|sec|minute))?|wait(?: a minute)?)"
    r"|(?:thanks|thank you)(?:,? (?:everybody|everyone|all|guys|so much))*[.,!]?(?: and)? have a (?:good|great|nice) "
    r"(?:day|weekend|night|evening|one)|have a (?:good|great|nice) (?:day|weekend|night|evening|one)"
    r")[.!?,]*",
    re.I,
)
_ROOM_SENTENCE = re.compile(r"(?<!\bDr\.)(?<!\bMr\.)(?<!\bMs\.)(?<!\bMrs\.)(?<=[.!?])\s+")
ROOM_WORDS = 20  # a turn that only runs the room is short
CUT_OFF_WORDS = 5  # "So —", "Well, the President —", "The CDC guidelines —": cut off before a sentence ended
_CUT_OFF = re.compile(r"[^.!?…]*[^\s.!?…][ \t]*[—–]\s*")


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


def _greets(text: str) -> bool:
    return len(text.split()) <= 8 and GREETING.fullmatch(text) is not None


def _no_answer(text: str) -> bool:
    """A spokesperson's turn that answers nothing: "Go ahead, Selina.", "Hi.", "(Laughs.)", also
    after "All right." or "Okay." ("All right. Thanks, everybody."), and a turn cut off before its
    first sentence ended ("So —", "The CDC guidelines —"; not "No —", which may answer)."""
    rest = text[m.end():] if (m := _LEAD.match(text)) else text
    if rest and not _SIR.fullmatch(rest) and (COURTESY.fullmatch(rest) or _STAGE_NOTE.fullmatch(rest) or _greets(rest)):
        return True
    return (len(text.split()) <= CUT_OFF_WORDS and _CUT_OFF.fullmatch(text) is not None
            and text.split()[0].strip(",.").lower() not in ("no", "yes"))


def _runs_the_room(text: str, lower: set[str]) -> bool:
    """A short turn every sentence of which runs the room (calls, the floor, "Say that again.",
    closing), thanks, greets, acknowledges or is a name, and not only acknowledgements ("Okay.
    Last two in the back. Go ahead.", "Okay, one more. April. Okay.", "Dr. Fauci, why don't we
    start with you?"): it answers nothing."""
    if len(text.split()) > ROOM_WORDS:
        return False
    sentences = [x for x in _ROOM_SENTENCE.split(_STAGE_NOTE.sub(" ", text).strip()) if x]
    room = False
    for x in sentences:
        if _ROOM.fullmatch(x):
            room = True
        elif not (ACKNOWLEDGEMENT.fullmatch(x) or COURTESY.fullmatch(x) or _greets(x) or _names(x, lower)):
            return False
    return room


def _names(text: str, lower: set[str]) -> set[str] | None:
    """The names a turn made of names alone says ("Jeff Mason.", "Dr. Walensky?", "Okay. Kelly, go
    ahead."), in lower case, or None. A name is a capitalised word the transcript never writes in
    lower case ("Forces." is a word), or initials; titles ("Dr.") and "go ahead" may stand beside."""
    rest = text[m.end():] if (m := _LEAD.match(text)) else text
    words = [w.strip(".,?!;:") for w in _STAGE_NOTE.sub(" ", rest).replace("—", " ").replace("–", " ").split()]
    words = [w for w in words if w]
    if not 0 < len(words) <= CALL_WORDS + 2 or rest.rstrip()[-1:] not in (".", "?", "!", "—", ")", "]"):
        return None
    names = set()
    for w in words:
        if w.lower() in _TITLES or w.lower() in _HANDS_OVER:
            continue
        if not (_INITIALS.fullmatch(w + ".") or (w[0].isupper() and w.lower() not in lower)):
            return None
        names.add(w.lower().strip("."))
    return names if 0 < len(names) <= CALL_WORDS else None


def _calls(transcript: Transcript, ti: int, said: str, lower: set[str]) -> bool:
    """A spokesperson's turn of names alone that gives the floor, not an answer: to the colleague it
    names, who speaks next ("Dr. Fauci." after a reporter's question), or to a reporter right after
    the spokesperson's own words (no question is waiting for an answer then: "Aamer.")."""
    if len(said) > 100 or ti + 1 >= len(transcript.turns) or (names := _names(said, lower)) is None:
        return False
    before, after = transcript.turns[ti - 1] if ti else None, transcript.turns[ti + 1]
    if after.role == QUESTIONER:
        return before is None or before.role != QUESTIONER
    return bool(names & {w.strip(".").lower() for w in after.speaker.split()})


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
    lower = set(_LOWER_WORD.findall(transcript.text))  # the words this transcript writes in lower case
    for exchange in transcript.exchanges:
        parts = [transcript.turns[i] for i in question_turns(exchange)]
        question = exchange.question[-1] if exchange.question else None
        said = [transcript.turn_text(t).strip() for t in parts] if all(t.role == QUESTIONER for t in parts) else []
        asked = " ".join(s for s in said if not _greets(s)) or None  # "Good afternoon." asks nothing
        who = asked_by(transcript, question) if asked else None
        for ti in exchange.answer:
            turn = transcript.turns[ti]
            said = transcript.turn_text(turn).strip()
            if (turn.role not in (SPOKESPERSON, UNKNOWN) or _no_answer(said) or _calls(transcript, ti, said, lower)
                    or _runs_the_room(said, lower)):
                continue  # not an answer: a reporter's turn, only thanks, greetings and calls, a stage note
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
