"""The store contract: what search, ingest, the API, the UI and the benchmarks may ask of an index.

Two implementations: the local folder (`local.py`: SQLite + Tantivy + FAISS, generations) and
Milvus (`milvus/`: a server, or Milvus Lite in the process). Records are plain dataclasses, never a
database row; nothing outside the store package runs SQL or touches a vector library.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..models import Occasion, Passage, RepeatPair, Transcript, TranscriptInfo
from ..registry import Speaker

ANSWER, QUESTION = "answer", "question"  # the two sides of lexical search


@dataclass(frozen=True)
class PassageRecord:
    """A stored passage with what an answer needs of its transcript."""

    id: int
    transcript_id: str
    turn_index: int
    start: int
    end: int
    speaker: str
    role: str
    label: str
    asked: str | None
    asked_by: str | None
    topic: str | None
    text: str
    title: str = ""
    date: str | None = None
    source_url: str | None = None
    file: str = ""
    organisation: str | None = None

    @property
    def transcript(self) -> TranscriptInfo:
        return TranscriptInfo(id=self.transcript_id, title=self.title, date=self.date, source_url=self.source_url,
                              file=self.file, organisation=self.organisation)

    def passage(self) -> Passage:
        return Passage(transcript_id=self.transcript_id, turn_index=self.turn_index, span=(self.start, self.end),
                       text=self.text, speaker=self.speaker, role=self.role, asked=self.asked,
                       asked_by=self.asked_by, topic=self.topic, label=self.label)


@dataclass(frozen=True)
class Filters:
    """What a search is limited to: a speaker (part of the name, case-insensitive), dates (ISO,
    inclusive), one transcript."""

    speaker: str | None = None
    since: str | None = None
    until: str | None = None
    transcript: str | None = None

    def __bool__(self) -> bool:
        return bool(self.speaker or self.since or self.until or self.transcript)


@dataclass(frozen=True)
class IndexInfo:
    """What an index says of itself (the local store's manifest, Milvus' meta record)."""

    store: str  # "local", "milvus-lite", "milvus"
    model: str
    backend: str
    dim: int
    generation: int
    transcripts: int
    passages: int


class Store(Protocol):
    """Read access to one state of an index. A store never changes under a search in flight: a
    newer state gets a new store (`acquire` before use, `release` after; `retire` when replaced)."""

    info: IndexInfo

    def acquire(self) -> None: ...
    def release(self) -> None: ...
    def retire(self) -> None: ...
    def close(self) -> None: ...

    # search
    def dense(self, vector: np.ndarray, filters: Filters, n: int) -> list[int]:
        """The ids of the n passages nearest the (normalised) vector, within the filters."""
    def lexical(self, terms: tuple[str, ...], phrases: tuple[str, ...], filters: Filters, n: int,
                side: str = ANSWER) -> list[tuple[int, float]]:
        """BM25 top-n (id, score, higher is better) over the answer's words (text, topic) or the
        words of the question it answered; any of `terms`, every phrase (answer or question)."""
    def document_frequency(self, terms: list[str]) -> dict[str, int]:
        """In how many passages each word (as `terms_of` gives it) occurs."""

    # passages
    def passages(self, ids: list[int]) -> dict[int, PassageRecord]: ...
    def vectors_of(self, ids: list[int]) -> dict[int, np.ndarray]: ...
    def turn_shapes(self, turns: set[tuple[str, int]]) -> dict[tuple[str, int], tuple[int, int]]:
        """For each (transcript, turn): the start of its first passage and its number of passages."""
    def turn_passages(self, transcript_id: str, turn_index: int) -> list[PassageRecord]:
        """A turn's passages in order."""
    def exchange_passages(self, transcript_id: str, asked: str) -> list[PassageRecord]:
        """The passages answering one question of a transcript, in order."""
    def iter_passages(self) -> Iterator[tuple[PassageRecord, np.ndarray]]:
        """Every passage with its vector, in id order (exports, benchmarks)."""

    # transcripts and speakers
    def transcripts(self, limit: int | None = None, offset: int = 0) -> list[TranscriptInfo]:
        """Transcripts by date, then file name."""
    def transcript_info(self, tid: str) -> TranscriptInfo: ...
    def transcript(self, tid: str) -> Transcript: ...
    def text_span(self, tid: str, start: int, end: int) -> str: ...
    def cues_of(self, tids: list[str]) -> dict[str, tuple]: ...
    def speaker_names(self) -> list[str]:
        """Every name an answer passage is attributed to, role labels included."""
    def speaker_transcripts(self, speaker: str) -> set[str]:
        """The ids of the transcripts with answers by a speaker (part of the name, case-insensitive)."""
    def speaker_registry(self) -> list[Speaker]:
        """The spokespeople: name, the labels they stood under, transcripts, passages."""
    def asked_questions(self, limit: int) -> list[tuple[str, str]]:
        """(transcript id, question) of passages that answer a question, newest transcripts first."""
    def repeats(self, keys: list[tuple[str, int]]) -> dict[tuple[str, int], list[tuple[Occasion, float]]]:
        """For passages (transcript id, start): the other occasions their speaker said (nearly) the
        same words, with the similarity (found at ingest, repeats.py)."""


class StoreWriter(Protocol):
    """The writer of an index; a context manager. What it adds or removes becomes visible at
    `commit()`, all at once; leaving the block without a commit changes nothing."""

    def known_speakers(self) -> list[str]: ...
    def has(self, tid: str) -> bool: ...
    def same_occasion(self, t: Transcript) -> str | None:
        """An indexed transcript with another text but the same title and date."""
    def add(self, transcript: Transcript, passages: list[Passage], vectors: np.ndarray) -> None: ...
    def similar(self, vector: np.ndarray, speaker: str, n: int) -> list[Passage]:
        """The n indexed (committed) passages by a speaker nearest a vector."""
    def add_repeats(self, pairs: list[RepeatPair]) -> None:
        """Record pairs of occasions with (nearly) the same words; removing a transcript forgets its pairs."""
    def remove(self, tid: str) -> None: ...
    def commit(self) -> IndexInfo: ...
    def __enter__(self) -> StoreWriter: ...
    def __exit__(self, exc_type, exc, tb) -> None: ...
