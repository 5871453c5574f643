"""Repeated talking points: the same speaker saying (nearly) the same answer on another occasion.

    new passages (with vectors) -> candidates: the same speaker's nearest passages by vector, among
                                   the new ones (in memory) and the indexed ones (the writer's
                                   `similar`, a dense search filtered on the speaker)
                                -> kept when their word 3-shingles overlap enough (Jaccard)
                                -> pairs stored in the index, both ways (a store's `repeats`)

Found at ingest, so a question costs one look-up. Passages are compared, not whole turns: a
passage is what an answer's relevance and its highlights are judged on. Only another transcript
counts as another occasion; short lines ("Thank you so much.", "Go ahead.") are too common to
mean anything (see benchmarks/repeats.py for the measured recall of the vector candidates
against an exhaustive comparison of every pair).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np

from .models import SPOKESPERSON, Occasion, Passage, RepeatPair
from .registry import is_generic

SHINGLE = 3  # words per shingle
MIN_WORDS = 12  # shorter passages are stock lines, never talking points
MIN_SIMILARITY = 0.5  # Jaccard of the shingle sets: "nearly the same answer"
NEIGHBOURS = 20  # vector candidates per passage
_WORD = re.compile(r"\w+(?:['’]\w+)*")


def shingles(text: str, k: int = SHINGLE) -> frozenset[tuple[str, ...]]:
    """The text's runs of k words, lower case, typography of apostrophes folded."""
    words = [w.replace("’", "'") for w in _WORD.findall(text.lower())]
    if len(words) <= k:
        return frozenset([tuple(words)]) if words else frozenset()
    return frozenset(tuple(words[i: i + k]) for i in range(len(words) - k + 1))


def similarity(a: frozenset, b: frozenset) -> float:
    """Jaccard similarity of two shingle sets (0-1)."""
    if not a or not b:
        return 0.0
    shared = len(a & b)
    return shared / (len(a) + len(b) - shared)


def eligible(p: Passage) -> bool:
    """A passage that can be a talking point: a named spokesperson's answer of MIN_WORDS or more."""
    return p.role == SPOKESPERSON and not is_generic(p.speaker) and len(p.text.split()) >= MIN_WORDS


# the n indexed passages of a speaker nearest a vector
Similar = Callable[[np.ndarray, str, int], list[Passage]]


def find(passages: list[Passage], vectors: np.ndarray, similar: Similar | None = None,
         neighbours: int = NEIGHBOURS, min_similarity: float = MIN_SIMILARITY) -> list[RepeatPair]:
    """Pairs of (nearly) the same answer by one speaker in two transcripts, among new passages and
    between a new passage and an indexed one (`similar`; None for an empty index). Each pair once."""
    vectors = np.asarray(vectors, dtype=np.float32)
    keep = [i for i, p in enumerate(passages) if eligible(p)]
    sets = {i: shingles(passages[i].text) for i in keep}
    occ = {i: Occasion(passages[i].transcript_id, *passages[i].span) for i in keep}
    found: dict[tuple[Occasion, Occasion], float] = {}

    def consider(a: Occasion, b: Occasion, sa: frozenset, sb: frozenset) -> None:
        if a.transcript_id == b.transcript_id:
            return
        key = (a, b) if (a.transcript_id, a.start) < (b.transcript_id, b.start) else (b, a)
        if key not in found:
            s = similarity(sa, sb)
            if s >= min_similarity:
                found[key] = s

    by_speaker: dict[str, list[int]] = {}
    for i in keep:
        by_speaker.setdefault(passages[i].speaker, []).append(i)
    for speaker, members in by_speaker.items():  # among the new passages: one matrix per speaker
        if len(members) > 1:
            m = vectors[members]
            cos = m @ m.T
            np.fill_diagonal(cos, -np.inf)
            k = min(neighbours, len(members) - 1)
            nearest = np.argpartition(-cos, k - 1, axis=1)[:, :k]
            for row, i in enumerate(members):
                for col in nearest[row]:
                    j = members[int(col)]
                    consider(occ[i], occ[j], sets[i], sets[j])
        if similar is not None:  # and against the index
            for i in members:
                for other in similar(vectors[i], speaker, neighbours):
                    if other.speaker == speaker and eligible(other):
                        consider(occ[i], Occasion(other.transcript_id, *other.span), sets[i], shingles(other.text))
    return [RepeatPair(a, b, round(s, 4)) for (a, b), s in found.items()]
