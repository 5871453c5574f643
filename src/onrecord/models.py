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
class Answer:
    """One search result: a verbatim span with its citation."""

    text: str
    speaker: str
    score: float
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
