"""The passages written since the lexical index's last commit, searched in memory.

A small write (local.py) appends its rows to one file (rowlog.py) and its passages' vectors to
another (vectors.py): no lexical segment, no vector segment, no new generation folder, each of which
costs a handful of new files (on ext4 a new file is ~5 KB of metadata besides its data). Readers load these
recent passages (at most RECENT_MAX) when they open a generation: their vectors become an
in-memory segment (vectors.py), their words this index, whose BM25 scores are those the
lexical index would give (its formula, k1 1.2, b 0.75, its documents, average length and
document frequencies), so a recent passage ranks among the others as if it were in the lexical
index (a field's length rounded as Tantivy stores it, to one of 256).
A write that would take the recent passages past RECENT_MAX, or past the lexical index's own
size, writes them all to the files (a lexical and a vector segment) and starts again.
"""

from __future__ import annotations

import bisect
import math
from collections import Counter, defaultdict
from collections.abc import Iterable

from .contract import ANSWER
from .lexical import Lexical, analyzer, day_of, day_range

RECENT_MAX = 2_000  # recent passages: reading their words costs ~90 us each when a generation opens
K1, B = 1.2, 0.75  # Tantivy's BM25 constants
_FIELDS = {ANSWER: "answer", "question": "asked"}
_FILTER = 1.0  # what Tantivy's speaker-set and date-range filters add to a score (constant scorers)


class Recent:
    """Recent passages' words, one index per field. Rows: (passage id, text, topic, question asked,
    speaker, date, transcript id), as the lexical index takes them."""

    def __init__(self, rows: Iterable[tuple]):
        words = analyzer()
        self.ids: list[int] = []
        self.speaker: list[str] = []
        self.day: list[int] = []
        self.transcript: list[str] = []
        self.tokens: dict[str, list[list[str]]] = {f: [] for f in _FIELDS.values()}
        self.length: dict[str, list[int]] = {f: [] for f in _FIELDS.values()}
        self.postings = {f: defaultdict(dict) for f in _FIELDS.values()}  # word -> {doc: how often}
        for pid, text, topic, asked, speaker, date, tid in rows:
            doc = len(self.ids)
            self.ids.append(int(pid))
            self.speaker.append(speaker.lower())
            self.day.append(day_of(date))
            self.transcript.append(tid)
            for field, value in (("answer", f"{text}\n{topic or ''}"), ("asked", asked or "")):
                tokens = words.analyze(value)
                self.tokens[field].append(tokens)
                self.length[field].append(fieldnorm(len(tokens)))
                postings = self.postings[field]
                for w, count in Counter(tokens).items():
                    postings[w][doc] = count

    def __len__(self) -> int:
        return len(self.ids)

    def search(self, base: Lexical, terms: tuple[str, ...], phrases: tuple[str, ...], n: int, side: str,
               speakers: list[str] | None = None, since: str | None = None, until: str | None = None,
               transcript: str | None = None) -> list[tuple[int, float]]:
        """Lexical.search over the recent passages, scored with `base`'s statistics."""
        if not self.ids:
            return []
        units, musts = base.plan(terms, phrases)
        if not units and not musts:
            return []
        if speakers is not None and not speakers:
            return []
        field = _FIELDS[side]
        docs, avgdl = base.statistics(field)
        scores: dict[int, float] = defaultdict(float)
        for unit in units:
            idf = sum(_idf(base.document_frequency(field, w), docs) for w in unit)
            for doc, tf in self._matches(field, unit).items():
                norm = K1 * (1 - B + B * self.length[field][doc] / avgdl) if avgdl else K1
                scores[doc] += (K1 + 1) * idf * tf / (tf + norm)
        keep = set(scores) if units else set(range(len(self.ids)))
        for parts in musts:  # in the answer or in the question, scoring nothing
            keep &= set(self._matches("answer", parts)) | set(self._matches("asked", parts))
        if speakers is not None:
            wanted = {s.lower() for s in speakers}
            keep = {d for d in keep if self.speaker[d] in wanted}
        if transcript:
            keep = {d for d in keep if self.transcript[d] == transcript}
        if since or until:
            lo, hi = day_range(since, until)
            keep = {d for d in keep if lo <= self.day[d] <= hi}
        # the filters' own scores, as the lexical index adds them
        extra = (_FILTER if speakers is not None else 0.0) + (_FILTER if since or until else 0.0)
        if transcript:  # a term on a one-word field: its idf
            extra += _idf(base.document_frequency("transcript", transcript), docs)
        ranked = sorted(((scores.get(d, 0.0) + extra, d) for d in keep), key=lambda x: (-x[0], x[1]))
        return [(self.ids[d], s) for s, d in ranked[:n]]

    def _matches(self, field: str, unit: tuple[str, ...]) -> dict[int, int]:
        """The documents holding a word, or the parts of one in a row: {doc: how often}."""
        postings = self.postings[field]
        if len(unit) == 1:
            return postings.get(unit[0], {})
        lists = [postings.get(w, {}) for w in unit]
        out, k = {}, len(unit)
        for doc in set(lists[0]).intersection(*lists[1:]):
            tokens = self.tokens[field][doc]
            count = sum(tuple(tokens[i:i + k]) == unit for i in range(len(tokens) - k + 1))
            if count:
                out[doc] = count
        return out


def _norms() -> list[int]:
    """Tantivy's 256 field lengths (its fieldnorm codes): 0-40 exactly, then eight at each step,
    the step doubling from 2."""
    table, value, step = list(range(41)), 40, 2
    while len(table) < 256:
        for _ in range(8):
            value += step
            table.append(value)
        step *= 2
    return table[:256]


NORMS = _norms()


def fieldnorm(length: int) -> int:
    """A field's length as Tantivy stores it: the largest of its lengths not above it."""
    return NORMS[bisect.bisect_right(NORMS, length) - 1]


def _idf(df: int, docs: int) -> float:
    return math.log(1 + (docs - df + 0.5) / (df + 0.5))
