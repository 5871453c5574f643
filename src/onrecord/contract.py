"""The public JSON contract (DESIGN.md section 4): one pydantic model per shape, each built from the
core's dataclasses by `of()`. The HTTP API answers with these, `--json` in the CLI prints them,
and the OpenAPI schema is theirs; nothing else writes the JSON shapes by hand."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from . import __version__
from .ingest import IngestReport
from .models import AlsoSaid, Answer, Interpretation, SearchResult, Transcript, TranscriptInfo
from .permalink import AnswerContext, ContextTurn
from .query import MAX_QUESTION_CHARS
from .registry import Speaker
from .verify import MAX_QUOTE_CHARS, Verification


class AskRequest(BaseModel):
    """A question. Its limits (length, top_k 1-50, dates in order, a known speaker) are checked
    once, in the core, and answered with 422 like any bad input."""

    question: str = Field(..., description=f"What the journalist asks (at most {MAX_QUESTION_CHARS} characters).")
    top_k: int = Field(5, description="Number of answers, 1-50.")
    speaker: str | None = Field(None, description="Only answers by this speaker (part of the name, or a label).")
    since: dt.date | None = Field(None, description="YYYY-MM-DD: only transcripts on or after this date.")
    until: dt.date | None = Field(None, description="YYYY-MM-DD: only transcripts on or before this date.")
    transcript: str | None = Field(None, description="Only answers from this transcript (its id).")


class VerifyRequest(BaseModel):
    """A quote to check."""

    quote: str = Field(..., description=f"The quote as published (at most {MAX_QUOTE_CHARS} characters; ... or … marks an omission).")
    speaker: str | None = Field(None, description="Who it is attributed to (part of the name, or a label).")
    since: dt.date | None = Field(None, description="YYYY-MM-DD: only transcripts on or after this date.")
    until: dt.date | None = Field(None, description="YYYY-MM-DD: only transcripts on or before this date.")
    transcript: str | None = Field(None, description="Only within this transcript (its id).")


class TranscriptRef(BaseModel):
    id: str
    title: str
    date: str | None
    source_url: str | None
    file: str
    organisation: str | None = None

    @classmethod
    def of(cls, t: TranscriptInfo | Transcript) -> TranscriptRef:
        return cls(id=t.id, title=t.title, date=t.date, source_url=t.source_url, file=t.file, organisation=t.organisation)


class AlsoSaidOut(BaseModel):
    transcript: TranscriptRef
    span: list[int] = Field(description="[start, end) of the passage within that transcript's canonical text.")
    similarity: float = Field(description="0-1: word 3-shingle overlap (Jaccard) with the answer's best passage.")

    @classmethod
    def of(cls, a: AlsoSaid) -> AlsoSaidOut:
        return cls(transcript=TranscriptRef.of(a.transcript), span=list(a.span), similarity=a.similarity)


class QuotedAnswerOut(BaseModel):
    """An answer as it stands in its transcript: what a permalink shows (`GET /api/answers/{id}`)."""

    id: str = Field(description="Stable id (transcript id + span): GET /api/answers/{id}, and /a/{id} as a page.")
    text: str = Field(description="Verbatim span of the transcript.")
    asked: str | None = Field(description="The question put to the speaker, verbatim; null for a statement.")
    asked_by: str | None
    speaker: str
    span: list[int] = Field(description="[start, end) within the transcript's canonical text.")
    transcript: TranscriptRef
    topic: str | None = None
    time: list[float] | None = Field(None, description="[start, end] in seconds, for an answer from a timed source (captions).")
    link: str | None = Field(None, description="The source at that moment (YouTube t=, a media file #t=); null otherwise.")
    also_said: list[AlsoSaidOut] = Field(default_factory=list, description="The same speaker's (nearly) same words "
                                         "on other occasions, by date; the answer is listed once, at its most relevant.")
    first_said: str | None = Field(None, description="The earliest date of this answer and its other occasions.")

    @classmethod
    def fields_of(cls, a: Answer) -> dict:
        return dict(id=a.id, text=a.text, asked=a.asked, asked_by=a.asked_by, speaker=a.speaker, span=list(a.span),
                    transcript=TranscriptRef.of(a.transcript), topic=a.topic, time=list(a.time) if a.time else None,
                    link=a.link, also_said=[AlsoSaidOut.of(x) for x in a.also_said], first_said=a.first_said)

    @classmethod
    def of(cls, a: Answer) -> QuotedAnswerOut:
        return cls(**cls.fields_of(a))


class AnswerOut(QuotedAnswerOut):
    """An answer to a question: the quoted answer with how well it answers."""

    score: float = Field(description="The ranking score, 0-1 (the ranker's estimate that this answers the question); "
                         "non-increasing down the list.")
    highlights: list[list[int]] = Field(description="[start, end) offsets within text of the best-matching sentences.")
    weak: bool = Field(False, description="The score is below the calibrated threshold: a weak match.")
    excerpt: bool = Field(False, description="The text is the best passage of a longer answer, not its start.")

    @classmethod
    def of(cls, a: Answer) -> AnswerOut:
        return cls(**cls.fields_of(a), score=a.score, highlights=[list(h) for h in a.highlights], weak=a.weak,
                   excerpt=a.excerpt)


class DifferenceOut(BaseModel):
    quoted: str = Field(description="The quote's words (empty where the speaker said more).")
    said: str = Field(description="What was said instead (empty where the quote adds words).")


class VerifyResponse(BaseModel):
    quote: str
    verdict: str = Field(description="verbatim (a contiguous run of one answer, up to typography), close (the same "
                         "statement with words changed, added or dropped) or not_found.")
    similarity: float = Field(description="0-1: the share of the quote's words aligned with the source's.")
    match: AnswerOut | None = Field(description="The original: its verbatim sentence run, speaker, date, transcript, span.")
    differences: list[DifferenceOut] = Field(description="The word runs that differ, in order (close only).")
    elsewhere: AnswerOut | None = Field(None, description="With a speaker given: the best match by anyone else.")
    reason: str | None = Field(None, description="Why not_found, when the quote is not simply absent.")

    @classmethod
    def of(cls, v: Verification) -> VerifyResponse:
        return cls(quote=v.quote, verdict=v.verdict, similarity=v.similarity,
                   match=AnswerOut.of(v.match) if v.match else None,
                   differences=[DifferenceOut(quoted=d.quoted, said=d.said) for d in v.differences],
                   elsewhere=AnswerOut.of(v.elsewhere) if v.elsewhere else None, reason=v.reason)


class ReadAs(BaseModel):
    typed: str = Field(description="A word of the question (\"Kirbey\").")
    speaker: str = Field(description="The speaker it was read as (\"John Kirby\").")


class Interpreted(BaseModel):
    """How the question was read."""

    speakers: list[str] = Field(description="Speakers the question names; their answers rank higher.")
    read_as: list[ReadAs] = Field(description="Misspelt names and the speakers they were read as.")
    organisation: str | None
    years: list[str]
    months: list[str] = Field(default_factory=list, description="Months of a year the question names (\"2021-05\"); "
                              "answers from them rank higher.")
    phrases: list[str] = Field(description="Quoted phrases: every answer contains each (or its question does).")
    speaker: str | None = Field(description="The speaker filter, as resolved.")
    since: str | None
    until: str | None

    @classmethod
    def of(cls, r: Interpretation) -> Interpreted:
        return cls(speakers=list(r.speakers), read_as=[ReadAs(typed=t, speaker=s) for t, s in r.read_as],
                   organisation=r.organisation, years=list(r.years), months=list(r.months),
                   phrases=list(r.phrases), speaker=r.speaker,
                   since=r.since, until=r.until)


class AskResponse(BaseModel):
    question: str
    answers: list[AnswerOut]
    no_answer: bool = Field(description="The top answer is weak: nothing on the record answers (the same for any top_k).")
    interpreted: Interpreted

    @classmethod
    def of(cls, r: SearchResult) -> AskResponse:
        return cls(question=r.question, answers=[AnswerOut.of(a) for a in r.answers], no_answer=r.no_answer,
                   interpreted=Interpreted.of(r.interpreted))


class Health(BaseModel):
    status: str
    transcripts: int
    passages: int
    model: str
    backend: str = Field(description="Embedding backend the index's vectors came from: onnx, onnx-int8 or torch.")
    store: str = Field("local", description="Where the index is kept: local (a folder), milvus or milvus-lite.")
    version: str = __version__


class SpeakerOut(BaseModel):
    name: str = Field(description="The canonical full name.")
    aliases: list[str] = Field(description="The labels this speaker stood under in the transcripts (\"MR. KIRBY\").")
    role: str
    transcripts: int
    answers: int = Field(description="Answer passages by this speaker.")

    @classmethod
    def of(cls, s: Speaker) -> SpeakerOut:
        return cls(name=s.name, aliases=list(s.aliases), role=s.role, transcripts=s.transcripts, answers=s.answers)


class TurnOut(BaseModel):
    speaker: str
    role: str
    affiliation: str | None
    span: list[int]
    text: str


class AnswerPage(BaseModel):
    """An answer by its id, with the exchange around it."""

    answer: QuotedAnswerOut
    exchange: list[TurnOut] = Field(description="The question turns and the answer turns, in order.")
    before: TurnOut | None = Field(description="The turn before the exchange.")
    after: TurnOut | None = Field(description="The turn after the exchange.")
    permalink: str = Field(description="The answer as a small HTML page (/a/{id}), the target of oEmbed.")

    @classmethod
    def of(cls, c: AnswerContext) -> AnswerPage:
        def turn(x: ContextTurn | None) -> TurnOut | None:
            return x and TurnOut(speaker=x.speaker, role=x.role, affiliation=x.affiliation, span=list(x.span), text=x.text)
        return cls(answer=QuotedAnswerOut.of(c.answer), exchange=[turn(x) for x in c.exchange], before=turn(c.before),
                   after=turn(c.after), permalink=f"/a/{c.answer.id}")


class OEmbedOut(BaseModel):
    """An oEmbed 1.0 "rich" response (https://oembed.com)."""

    type: str = "rich"
    version: str = "1.0"
    title: str
    author_name: str = Field(description="The speaker.")
    author_url: str | None = Field(None, description="The transcript's source.")
    provider_name: str = "onrecord"
    provider_url: str
    html: str = Field(description="An <iframe> of the answer's page.")
    width: int
    height: int


class TranscriptOut(TranscriptRef):
    speakers: list[str]
    text: str
    turns: list[TurnOut]

    @classmethod
    def of(cls, t: Transcript) -> TranscriptOut:
        return cls(**TranscriptRef.of(t).model_dump(), speakers=list(t.speakers), text=t.text,
                   turns=[TurnOut(speaker=x.speaker, role=x.role, affiliation=x.affiliation, span=list(x.span),
                                  text=t.turn_text(x)) for x in t.turns])


class AddedOut(BaseModel):
    id: str
    file: str
    title: str
    date: str | None
    speakers: list[str] = Field(description="The spokespeople found in the transcript.")


class FailedOut(BaseModel):
    file: str
    reason: str


class NoteOut(BaseModel):
    file: str
    note: str = Field(description="Landed, but worth a word: a weak reading, not UTF-8, a near-duplicate.")


class IngestOut(BaseModel):
    added: list[AddedOut]
    duplicates: list[str]
    failed: list[FailedOut]
    notes: list[NoteOut] = []
    passages: int

    @classmethod
    def of(cls, report: IngestReport) -> IngestOut:
        return cls(
            added=[AddedOut(id=t.id, file=t.file, title=t.title, date=t.date, speakers=list(t.speakers)) for t in report.added],
            duplicates=report.duplicates, failed=[FailedOut(file=f, reason=r) for f, r in report.failed],
            notes=[NoteOut(file=f, note=n) for f, n in report.notes], passages=report.passages,
        )


class JobOut(BaseModel):
    id: str
    status: str = Field(description="queued, running, done or failed")
    files: list[str]
    done: int = Field(description="passages embedded so far")
    total: int = Field(description="passages to embed (0 until the files are parsed)")
    report: IngestOut | None = None
    error: str | None = None
    url: str

    @classmethod
    def of(cls, job) -> JobOut:
        return cls(id=job.id, status=job.status, files=job.files, done=job.done, total=job.total,
                   report=IngestOut.of(job.report) if job.report else None, error=job.error, url=f"/api/jobs/{job.id}")
