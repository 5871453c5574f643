"""The plain data types that flow between onrecord's stages."""

from __future__ import annotations

from dataclasses import dataclass, field

SPOKESPERSON = "spokesperson"
QUESTIONER = "questioner"
MODERATOR = "moderator"
UNKNOWN = "unknown"


@dataclass(frozen=True)
class Turn:
    """One speaker's uninterrupted contribution.

    `span` is [start, end) into the transcript's canonical text; `label` is the speaker label as
    printed in the file ("MR. KIRBY", "Q", "" when the turn had none).
    """

    speaker: str
    role: str
    span: tuple[int, int]
    affiliation: str | None = None
    label: str = ""


@dataclass(frozen=True)
class Exchange:
    """A question (possibly several turns) and the answer turns that follow it.

    Opening statements are exchanges without question turns. Indices point into Transcript.turns.
    Two question turns one turn apart are one question that a spokesperson's acknowledgement
    ("Yeah.", "Mm-hmm.") or question back ("Which one?") cut in two: that turn between them is in
    neither list.
    """

    question: tuple[int, ...]
    answer: tuple[int, ...]
    topic: str | None = None


@dataclass(frozen=True)
class Transcript:
    """A parsed transcript: canonical text plus its structure."""

    id: str
    title: str
    date: str | None
    source_url: str | None
    file: str
    organisation: str | None
    text: str
    turns: tuple[Turn, ...]
    exchanges: tuple[Exchange, ...]
    speakers: tuple[str, ...] = ()
    # a timed source (captions): (start, end) of each cue in the text, with its seconds (from, to)
    cues: tuple[tuple[int, int, float, float], ...] = ()

    def time_of(self, span: tuple[int, int]) -> tuple[float, float] | None:
        """When a span of the text was said (seconds from, to), for a timed source."""
        return time_of(self.cues, span)

    def turn_text(self, turn: Turn) -> str:
        return self.text[turn.span[0] : turn.span[1]]


@dataclass(frozen=True)
class Passage:
    """The unit that is embedded and retrieved: a verbatim span of one answer turn."""

    transcript_id: str
    turn_index: int
    span: tuple[int, int]
    text: str
    speaker: str
    role: str
    asked: str | None = None
    asked_by: str | None = None
    topic: str | None = None
    label: str = ""

    def embedding_text(self, max_question_words: int = 40) -> str:
        """The passage with its topic heading and the question it answers as context (for embedding only)."""
        context = []
        if self.topic:
            context.append(self.topic.capitalize() + ".")
        if self.asked:
            context.append(" ".join(self.asked[:4000].split()[:max_question_words]))
        return "\n".join([*context, self.text])


def time_of(cues, span: tuple[int, int]) -> tuple[float, float] | None:
    """Seconds (from, to) of the cues that overlap a span; None when there are none."""
    hit = [c for c in cues if c[0] < span[1] and span[0] < c[1]]
    return (hit[0][2], hit[-1][3]) if hit else None


@dataclass(frozen=True)
class TranscriptInfo:

    """What an answer cites: the transcript's metadata without its text."""

    id: str
    title: str
    date: str | None
    source_url: str | None
    file: str
    organisation: str | None = None


@dataclass(frozen=True)
class Occasion:
    """One place a passage stands: transcript, [start, end) in its text."""

    transcript_id: str
    start: int
    end: int


@dataclass(frozen=True)
class RepeatPair:
    """Two occasions on which one speaker said (nearly) the same thing; similarity 0-1."""

    a: Occasion
    b: Occasion
    similarity: float


@dataclass(frozen=True)
class AlsoSaid:
    """Another occasion an answer was (nearly) said, word for word or close (similarity 0-1)."""

    transcript: TranscriptInfo
    span: tuple[int, int]
    similarity: float


def answer_id(transcript_id: str, span: tuple[int, int]) -> str:
    """An answer's stable id: its transcript and its span ("5d41402abc4b2a76-1200-1835")."""
    return f"{transcript_id}-{span[0]}-{span[1]}"


def parse_answer_id(value: str) -> tuple[str, tuple[int, int]] | None:
    """(transcript id, span) of an answer id, or None when it is not one."""
    parts = value.rsplit("-", 2)
    if len(parts) != 3 or not parts[0] or not parts[1].isdigit() or not parts[2].isdigit() or len(value) > 300:
        return None
    start, end = int(parts[1]), int(parts[2])
    return (parts[0], (start, end)) if start < end else None


@dataclass(frozen=True)
class Answer:
    """One search result: a verbatim span with its citation."""

    text: str
    speaker: str
    score: float | None  # the ranking score, 0-1; None outside a search (an answer by its id)
    span: tuple[int, int]
    transcript: TranscriptInfo
    asked: str | None = None
    asked_by: str | None = None
    highlights: tuple[tuple[int, int], ...] = ()
    topic: str | None = None
    weak: bool = False
    role: str = SPOKESPERSON
    time: tuple[float, float] | None = None  # seconds into the recording, for a timed source
    link: str | None = None  # the source at that moment (YouTube `t=`, a media file `#t=`)
    excerpt: bool = False  # the best passage of a turn too long to show from its start
    also_said: tuple[AlsoSaid, ...] = ()  # the same speaker's (nearly) same words on other occasions, by date
    first_said: str | None = None  # the earliest date of this answer and its other occasions

    @property
    def id(self) -> str:
        return answer_id(self.transcript.id, self.span)


@dataclass(frozen=True)
class Interpretation:
    """How a question was read: the speakers it names (and misspelt names read as whom), the
    organisation, years and quoted phrases, and the filters in force."""

    speakers: tuple[str, ...] = ()
    read_as: tuple[tuple[str, str], ...] = ()  # ("Kirbey", "John Kirby")
    organisation: str | None = None
    years: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()
    speaker: str | None = None
    months: tuple[str, ...] = ()  # months of a year the question names ("2021-05"); answers from them rank higher
    since: str | None = None
    until: str | None = None


@dataclass(frozen=True)
class SearchResult:
    """All answers to a question, and whether anything on record really answers it."""

    question: str
    answers: tuple[Answer, ...]
    no_answer: bool  # the top answer is weak (the same for any top_k)
    timings_ms: dict = field(default_factory=dict)
    interpreted: Interpretation = field(default_factory=Interpretation)
