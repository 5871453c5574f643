"""The turn builder: classified paragraphs -> turns (each a span of the canonical text) and the
question/answer exchanges; `parse_source` reads one Source from its text to its Transcript."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace

from ..errors import TranscriptError
from ..models import MODERATOR, QUESTIONER, SPOKESPERSON, UNKNOWN, Exchange, Transcript, Turn
from .captions import escape_markdown
from .labels import (
    _CALL_RE,
    _SPEECH_MARKER_RE,
    ACKNOWLEDGEMENT,
    FLOOR_BID,
    FLOOR_GIVEN,
    GENERIC_ANSWERERS,
    GENERIC_QUESTIONERS,
    GREETING,
    INTERPRETERS,
    STAFF_LABELS,
    _choose_style,
    _classify,
    _mark_label_variants,
    _mark_title_case_headings,
    _Para,
    recurring_title_labels,
)
from .meta import _clean_meta, find_date, guess_organisation, normalise_date
from .names import _Names
from .roles import _role_for, _roles_from_evidence
from .source import Source
from .text import clean_paragraph, split_inline_labels, split_paragraphs


@dataclass
class OpenTurn:
    """The turn being read: who, in what role, and the span it has reached so far."""

    speaker: str
    role: str
    affiliation: str | None
    label: str
    topic: str | None
    start: int = 0
    end: int = 0


class TurnBuilder:
    """Turns as a transcript's paragraphs are read: one open turn at a time, and the speaker who
    goes on after a separator (`last`), until an end or an omission."""

    def __init__(self, text: str):
        self.text = text
        self.turns: list[Turn] = []
        self.topics: list[str | None] = []
        self.breaks: set[int] = set()  # turn indices that follow an omission ("[...]"): a new exchange
        self.current: OpenTurn | None = None
        self.last: OpenTurn | None = None

    def open(self, turn: OpenTurn) -> None:
        """A labelled turn begins (its text may start on the next paragraph: a label alone)."""
        self.close()
        while turn.start < turn.end and self.text[turn.start].isspace():
            turn.start += 1
        self.current = self.last = turn

    def extend(self, start: int, end: int) -> None:
        """The open turn goes on to `end` (from `start`, when its label stood alone)."""
        if self.current.end <= self.current.start:
            self.current.start = start
        self.current.end = end

    def resume(self, start: int, end: int, topic: str | None) -> None:
        """Unlabelled text after a separator: the last speaker goes on, in a turn of its own."""
        self.current = replace(self.last, start=start, end=end, topic=topic)

    def close(self) -> None:
        c = self.current
        if c is not None and c.end > c.start:
            self.turns.append(Turn(speaker=c.speaker, role=c.role, span=(c.start, c.end), affiliation=c.affiliation,
                                   label=c.label))
            self.topics.append(c.topic)
        self.current = None

    def forget(self) -> None:
        """Nobody goes on: the next unlabelled text is not the last speaker's."""
        self.last = None

    def gap(self) -> None:
        """An end or an omission: the turn closes, nobody goes on, the next turn starts an exchange."""
        self.close()
        self.forget()
        self.breaks.add(len(self.turns))


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
    _mark_label_variants(paras)
    _mark_title_case_headings(paras)

    names = _Names(title, meta_speakers, canonical, date, organisation == "The White House")
    questioners = {p.label for p in paras if p.kind == "label" and p.role_hint == QUESTIONER}


    any_label = any(p.kind == "label" for p in paras)
    outlets = {p.label: p.outlet for p in paras if p.kind == "label" and p.outlet}
    called: _Para | None = None  # the reporter the chair called on last, until their question
    topic: str | None = None
    build = TurnBuilder(canonical)

    for para in paras:
        body_end = para.start + len(para.text) - para.end_trim
        if para.kind == "label":
            build.close()
            label = para.label
            role = _role_for(label, para, style, meta_speakers, questioners)
            body = canonical[para.start + para.body_offset:body_end].strip()
            if role != QUESTIONER and len(body) <= 200 and (call := _CALL_RE.fullmatch(body)):
                who, _, outlet = call.group("who").partition(",")  # "THE PRESIDENT. Mr. Pippert [...]"
                called = replace(para, kind="call", label=who.strip(), outlet=outlet.strip() or None)
                build.forget()
                continue
            bare = label.rstrip(".:").strip().upper()
            # an outlet printed once by a reporter's label is theirs throughout; a principal's
            # parenthesis ("(Noise in the audience)") is a stage note of that turn only
            affiliation = para.outlet or (outlets.get(label) if role == QUESTIONER else None)
            if role == QUESTIONER and bare in GENERIC_QUESTIONERS and called is not None:
                speaker, affiliation = called.label, affiliation or called.outlet  # the one just called on
            elif role == QUESTIONER and bare in GENERIC_QUESTIONERS:
                speaker = para.outlet or "Reporter"
            elif role == MODERATOR:  # "Moderator" (and its typos), or the staff label as printed ("Aide")
                speaker = label.rstrip(".:").title() if bare in STAFF_LABELS else "Moderator"
            elif bare in GENERIC_ANSWERERS:  # "Answer": whoever the metadata says answers, or nobody named
                speaker = meta_speakers[0] if meta_speakers else "Unknown speaker"
            elif bare in INTERPRETERS and build.turns:  # the interpreted words are those of who spoke before
                before = build.turns[-1]
                speaker, role, affiliation = before.speaker, before.role, before.affiliation or "through an interpreter"

            else:
                speaker = names.resolve(label)
            build.open(OpenTurn(speaker, role, affiliation, label, topic, para.start + para.body_offset, body_end))
            called = None
            if para.end_trim:  # a closing time stamp glued to the speech ends it
                build.close()
                build.forget()
        elif para.kind == "heading":
            build.close()
            topic = para.text if style == "caps-period" and para.text not in ("QUESTIONS",) else topic
        elif para.kind in ("end", "stop"):
            build.gap()
        elif para.kind in ("separator", "note"):
            build.close()
        elif para.kind == "call":  # belongs to no turn; names who asks next
            build.close()
            called = para
        else:  # running text
            m = _SPEECH_MARKER_RE.match(para.text)
            if m and len(para.text.split()) <= 8:  # "Jens Stoltenberg's speech": the unlabelled text that follows is his
                build.close()
                build.last = OpenTurn(names.resolve(m.group("name")), SPOKESPERSON, None, "", topic)
                continue
            if build.current is not None:
                build.extend(para.start, body_end)
            elif build.last is not None:
                build.resume(para.start, body_end, topic)
            elif not any_label:
                speaker = meta_speakers[0] if meta_speakers else "Unknown speaker"
                build.open(OpenTurn(speaker, SPOKESPERSON if meta_speakers else UNKNOWN, None, "", topic,
                                    para.start, body_end))
            # else: editorial text before the first speaker label (headline, summary): not a turn
            if para.end_trim and build.current is not None:
                build.close()
                build.forget()
    build.close()
    turns, topics, breaks = build.turns, build.topics, build.breaks

    if not turns:
        raise TranscriptError("found no speech in the text (no speaker turns)")

    turns = _roles_from_evidence(turns, canonical, moderators_only=style != "name-colon")
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
    out, pos = [], 0
    for cue in cues:
        needle = clean_paragraph(escape_markdown(cue.text))
        at = canonical.find(needle, pos) if needle else -1
        if at >= 0:
            out.append((at, at + len(needle), round(cue.start, 3), round(cue.end, 3)))
            pos = at + len(needle)
    return tuple(out)


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


CLARIFYING_WORDS = 12  # a question back to the reporter this short asks what they mean
# "Yes." to a reporter's preface that asks nothing yet ("... the cruise missile capability of the
# United States." / "Yes." / "What limits are you ready to accept?"): it takes the premise in
_PREMISE_TAKEN = re.compile(r"(?:yes|right|good)(?:,? (?:sir|ma['’]am))?[.!]", re.I)
ACKNOWLEDGING_WORDS = 4  # "Yes, sir." to a reporter asking for the floor ("Mr. President?")
_QUESTIONS_ONLY = re.compile(r"(?:[^.!?]+\?+\s*)+")  # every sentence a question ("Which one?")


def _question_goes_on(turns: list[Turn], i: int, text: str) -> bool:
    """A spokesperson's turn between two turns of the same reporter that lets the reporter's
    question go on, and answers nothing yet: an acknowledgement ("Just a follow-up on —" / "Yeah."
    / "— Kelly O's question. Do you think ..."), a short question back to clarify ("... the
    latest hijacking plane incidents" / "The Cuban one or the American one?" / "Both."), or a
    short reply to a reporter asking for the floor ("Mr. President?" or "Can I follow that up?" /
    "Yes, sir." / the question), or a "Yes." that takes in the premise of a reporter's statement
    that asks nothing yet, before the question ("... you proposed a gradual withdrawal of American
    troops from Korea." / "Yes." / "Yet, after your revised budget ...?"). A "Yes." to a statement
    cut off ("So, the President still has confidence in those —") may answer it, and stays."""
    if not (0 < i < len(turns) - 1) or turns[i].role not in (SPOKESPERSON, UNKNOWN):
        return False
    before, after = turns[i - 1], turns[i + 1]
    said = text[turns[i].span[0]:turns[i].span[1]].strip()
    asked = text[before.span[0]:before.span[1]].strip()
    return (before.role == after.role == QUESTIONER and before.speaker == after.speaker
            and (ACKNOWLEDGEMENT.fullmatch(said) is not None
                 or (len(said.split()) <= CLARIFYING_WORDS and _QUESTIONS_ONLY.fullmatch(said) is not None)
                 # "Mr. President?" / "Yes, sir." / the question: the floor given, nothing answered
                 or (len(said.split()) <= ACKNOWLEDGING_WORDS and len(asked.split()) <= 16
                     and (GREETING.fullmatch(asked) or FLOOR_BID.fullmatch(asked)) is not None)
                 # a statement, not cut off, that asks nothing / "Yes." / the same reporter's question
                 or (_PREMISE_TAKEN.fullmatch(said) is not None and "?" not in asked
                     and not asked.endswith(_CUT_OFF) and "?" in text[after.span[0]:after.span[1]])))


def _gives_the_floor(turns: list[Turn], i: int, text: str) -> bool:
    """A spokesperson's "Yes, sir." after their own words and before a reporter's question
    ("... at the Paris conference." / a heading / "Yes, sir." / "[3.] Q. To follow that up, ..."):
    no question came before it, so it answers none; it gives the next reporter the floor."""
    if not (0 < i < len(turns) - 1) or turns[i].role not in (SPOKESPERSON, UNKNOWN):
        return False
    before, after = turns[i - 1], turns[i + 1]
    said = text[turns[i].span[0]:turns[i].span[1]].strip()
    return (before.role == turns[i].role and before.speaker == turns[i].speaker and after.role == QUESTIONER
            and len(said.split()) <= ACKNOWLEDGING_WORDS and FLOOR_GIVEN.fullmatch(said) is not None)


def _pair(turns: list[Turn], topics: list[str | None], breaks: set[int], text: str = "") -> list[Exchange]:
    """Group turns into exchanges: question turn(s), then the spokesperson turns answering them.
    A reporter's interjection into an answer that goes on (see `_interjection`) belongs to no
    exchange's questions: the answer before and after it is one exchange. A spokesperson's
    acknowledgement or question back that cuts a reporter's question in two (see
    `_question_goes_on`) belongs to no exchange's answers: the question before and after it is one
    question; so does a "Yes, sir." that gives the floor after the spokesperson's own words (see
    `_gives_the_floor`)."""
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
        if text and questions and not answers and _question_goes_on(turns, i, text):
            continue
        if text and answers and _gives_the_floor(turns, i, text):
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

