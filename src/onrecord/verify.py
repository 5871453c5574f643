"""Checking a quote: is it on the record word for word, nearly (and what differs), or not at all,
and where is the original.

    quote -> words (typography folded) -> candidate turns (BM25 over its rarer words + dense)
          -> per turn: each part (split at an ellipsis) found in order = verbatim; else the best
             window by word alignment (difflib) = close when similar enough
          -> the original sentence run as an answer, the differing word runs, and with a speaker
             given, who else said it

Words are compared, not punctuation: straight and curly quotes and apostrophes, dashes, white
space and the case of a word's first letter do not count as differences.
"""

from __future__ import annotations

import re
from bisect import bisect
from dataclasses import dataclass
from difflib import SequenceMatcher

from .errors import BadQuery
from .models import Answer
from .search import Searcher
from .store import Filters, PassageRecord
from .terms import terms_of

VERBATIM, CLOSE, NOT_FOUND = "verbatim", "close", "not_found"
MAX_QUOTE_CHARS = 2000
MIN_WORDS = 4  # "we believe that" attributes nothing
MIN_CONTENT_WORDS = 2  # words that are not stop words
# A short quote found word for word in more turns than this is a stock phrase, not a statement.
SHORT_QUOTE_WORDS, MAX_PLACES = 8, 3
# From this share of aligned words (of the quote or of the source window, whichever is longer) a
# quote is the same statement reworded (chosen on constructed rewordings: a word or two changed,
# added or dropped in a sentence of 8-15 words stays above it; not fitted on a graded set)
CLOSE_SIMILARITY = 0.6
LEXICAL_CANDIDATES, DENSE_CANDIDATES, CANDIDATE_TURNS = 50, 20, 25
_FOLD = str.maketrans({"‘": "'", "’": "'", "‚": "'", "‛": "'", "′": "'", "`": "'", "“": '"', "”": '"', "„": '"',
                       "‟": '"', "″": '"', "–": "-", "—": "-", "‒": "-", "―": "-", "−": "-"})
_WORD = re.compile(r"\w+(?:['-]\w+)*")
_ELLIPSIS = re.compile(r"\[?\s*(?:\.\s*){3}\]?|…")
_SENTENCE_END = re.compile(r"[.!?][\"')\]]*\s")


@dataclass(frozen=True)
class Difference:
    quoted: str  # the quote's words ("" where the speaker said more)
    said: str  # the source's words ("" where the quote adds)


@dataclass(frozen=True)
class Verification:
    quote: str
    verdict: str  # VERBATIM, CLOSE or NOT_FOUND
    similarity: float  # 0-1
    match: Answer | None = None  # the original: the sentence run the quote comes from
    differences: tuple[Difference, ...] = ()
    elsewhere: Answer | None = None  # with a speaker given: the best match by anyone else
    reason: str | None = None  # why not_found, when it is not simply absent


def words(text: str) -> list[tuple[str, int, int]]:
    """(key, start, end) of each word; the key ignores typography and the case of the first letter."""
    out = []
    for m in _WORD.finditer(text.translate(_FOLD)):  # a one-to-one map: offsets stay the text's
        w = m.group()
        out.append((w[0].lower() + w[1:], m.start(), m.end()))
    return out


def _stem(key: str) -> str:
    """A word as the alignment compares it: lower case, a plain English ending off ("believes",
    "believe" -> "believ"), so that a reworded quote aligns with what was said."""
    w = key.lower()
    for ending in ("ing", "ed", "es", "s", "e"):
        if w.endswith(ending) and len(w) - len(ending) >= 3:
            return w[: -len(ending)]
    return w


def _find(needle: list[str], hay: list[str], start: int) -> int:
    n = len(needle)
    for i in range(start, len(hay) - n + 1):
        if hay[i:i + n] == needle:
            return i
    return -1


@dataclass(frozen=True)
class _Match:
    similarity: float
    span: tuple[int, int]  # [start, end) of the matched words within the turn's text
    differences: tuple[Difference, ...]


def match_turn(parts: list[list[tuple[str, int, int]]], quote: str, text: str) -> _Match | None:
    """How one turn's text holds the quote: every part word for word and in order (similarity 1),
    or the best-aligned window of the quote's words."""
    turn = words(text)
    keys = [k for k, _, _ in turn]
    at, found = 0, []
    for part in parts:
        i = _find([k for k, _, _ in part], keys, at)
        if i < 0:
            break
        found.append((i, i + len(part)))
        at = i + len(part)
    else:
        return _Match(1.0, (turn[found[0][0]][1], turn[found[-1][1] - 1][2]), ())
    q = [w for part in parts for w in part]
    qk = [_stem(k) for k, _, _ in q]
    keys = [_stem(k) for k in keys]
    longest = SequenceMatcher(None, qk, keys, autojunk=False).find_longest_match(0, len(qk), 0, len(keys))
    if longest.size == 0:
        return None
    slack = len(qk) // 2 + 2
    lo = max(0, longest.b - longest.a - slack)
    hi = min(len(keys), longest.b + len(qk) - longest.a + slack)
    blocks = [m for m in SequenceMatcher(None, qk, keys[lo:hi], autojunk=False).get_matching_blocks() if m.size]
    j0, j1 = lo + blocks[0].b, lo + blocks[-1].b + blocks[-1].size
    aligned = SequenceMatcher(None, qk, keys[j0:j1], autojunk=False)
    diffs = []
    for op, a0, a1, b0, b1 in aligned.get_opcodes():
        if op != "equal":
            diffs.append(Difference(" ".join(quote[s:e] for _, s, e in q[a0:a1]),
                                    " ".join(text[s:e] for _, s, e in turn[j0 + b0:j0 + b1])))
    same = sum(m.size for m in aligned.get_matching_blocks())
    return _Match(round(same / max(len(qk), j1 - j0), 4), (turn[j0][1], turn[j1 - 1][2]), tuple(diffs))


def quote_parts(quote: str) -> list[list[tuple[str, int, int]]]:
    """The quote's words, in the parts an ellipsis (an omission) separates."""
    cuts = [m.start() for m in _ELLIPSIS.finditer(quote)]
    parts: list[list] = [[] for _ in range(len(cuts) + 1)]
    for w in words(quote):
        parts[bisect(cuts, w[1])].append(w)
    return [p for p in parts if p]


def sentence_run(text: str, span: tuple[int, int]) -> tuple[int, int]:
    """The span widened to the whole sentences of the text it touches."""
    start = 0
    for m in _SENTENCE_END.finditer(text, 0, span[0]):
        start = m.end()
    m = _SENTENCE_END.search(text, max(0, span[1] - 1))
    end = m.end() if m else len(text)
    return start, len(text[:end].rstrip())


class QuoteChecker:
    """Checks quotes against one searcher's index (its store, embedder and speaker names)."""

    def __init__(self, searcher: Searcher):
        self.searcher, self.store = searcher, searcher.store

    def verify(self, quote: str, speaker: str | None = None, since: str | None = None, until: str | None = None,
               transcript: str | None = None) -> Verification:
        """Raises: BadQuery: an empty or over-long quote, dates out of order, an unknown speaker."""
        quote = (quote or "").strip()
        if not quote:
            raise BadQuery("the quote is empty")
        if len(quote) > MAX_QUOTE_CHARS:
            raise BadQuery(f"the quote is {len(quote)} characters long; the limit is {MAX_QUOTE_CHARS}")
        q = self.searcher.read("quote", speaker, since, until)  # filters checked and the speaker resolved
        parts = quote_parts(quote)
        n_words = sum(len(p) for p in parts)
        content = terms_of(quote)
        if n_words < MIN_WORDS or len(content) < MIN_CONTENT_WORDS:
            return Verification(quote, NOT_FOUND, 0.0, reason=f"too few words to attribute ({n_words} words, "
                                f"{len(content)} that are not stop words): quote a whole statement")
        filters = Filters(speaker=q.speaker, since=q.since, until=q.until, transcript=transcript)
        best, places = self._best(quote, parts, content, filters)
        if best and best[0].similarity == 1.0 and n_words < SHORT_QUOTE_WORDS and places > MAX_PLACES:
            return Verification(quote, NOT_FOUND, 0.0, reason=f"a stock phrase: said word for word in {places} places")
        result = self._verdict(quote, best)
        if speaker and result.verdict != VERBATIM:
            other, _ = self._best(quote, parts, content, Filters(since=q.since, until=q.until, transcript=transcript))
            if other and other[0].similarity > result.similarity and other[0].similarity >= CLOSE_SIMILARITY:
                elsewhere = self._answer(*other)
                if result.verdict == NOT_FOUND:
                    return Verification(quote, NOT_FOUND, result.similarity, elsewhere=elsewhere,
                                        reason=f"not by {q.speaker}: {elsewhere.speaker}, {elsewhere.transcript.date}")
                return Verification(**{**result.__dict__, "elsewhere": elsewhere})
        return result

    def _best(self, quote: str, parts, content: list[str], filters: Filters):
        """The best-matching turn (its match, first passage and text offset) and in how many of the
        candidate turns the quote stands word for word."""
        store = self.store
        lexical = [i for i, _ in store.lexical(self.searcher.selective(tuple(content)), (), filters, LEXICAL_CANDIDATES)]
        dense = store.dense(self.searcher.embedder.embed_query(quote), filters, DENSE_CANDIDATES)
        rows = store.passages(list(dict.fromkeys(lexical + dense)))
        turns = list(dict.fromkeys((rows[i].transcript_id, rows[i].turn_index) for i in lexical + dense if i in rows))
        best, places = None, 0
        for tid, turn_index in turns[:CANDIDATE_TURNS]:
            passages = store.turn_passages(tid, turn_index)
            start, end = passages[0].start, passages[-1].end
            text = passages[0].text if len(passages) == 1 else store.text_span(tid, start, end)
            m = match_turn(parts, quote, text)
            if m is None:
                continue
            places += m.similarity == 1.0
            if best is None or m.similarity > best[0].similarity:
                best = (m, passages[0], start, text)
        return best, places

    def _verdict(self, quote: str, best) -> Verification:
        if best is None or best[0].similarity < CLOSE_SIMILARITY:
            return Verification(quote, NOT_FOUND, best[0].similarity if best else 0.0)
        m = best[0]
        return Verification(quote, VERBATIM if m.similarity == 1.0 else CLOSE, m.similarity, match=self._answer(*best),
                            differences=m.differences)

    @staticmethod
    def _answer(m: _Match, first: PassageRecord, start: int, text: str) -> Answer:
        a, b = sentence_run(text, m.span)
        return Answer(text=text[a:b], speaker=first.speaker, score=m.similarity, span=(start + a, start + b),
                      transcript=first.transcript, asked=first.asked, asked_by=first.asked_by,
                      highlights=((m.span[0] - a, m.span[1] - a),), topic=first.topic, role=first.role)
