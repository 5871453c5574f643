"""Retrieval: a question -> dense and lexical candidates -> learned ranking -> verbatim answers.

    question -> Query (query.py: phrases, speakers named or misspelt, organisation, years)
             -> dense top-N, BM25 top-N over the answers' words and top-N over the words of the
                questions they answered (the store's: FAISS + Tantivy, or Milvus), filters applied inside each
             -> one feature row per candidate, scored 0-1 by the shipped ranker (ranking.py)
             -> one answer per exchange, shown from the start of its turn, highlights, weak flags;
                a talking point said on several occasions once, with the others (repeats.py)
"""

from __future__ import annotations

import re
import time
from dataclasses import replace
from functools import lru_cache

import numpy as np

from .defaults import WEAK_SCORE  # noqa: F401 (the searcher's default; re-exported)
from .embedding import Embedder
from .errors import BadQuery, NotFound
from .models import AlsoSaid, Answer, Interpretation, Occasion, SearchResult, time_of
from .query import MAX_QUESTION_CHARS, Query, SpeakerNames, parse_query  # noqa: F401
from .ranking import Candidate, Hints, Ranker, Retrieved, features
from .store import ANSWER, QUESTION, Filters, PassageRecord, Store
from .terms import terms_of
from .transcripts.captions import moment_link

CANDIDATES = 100  # per retriever
# An answer is shown from the start of its turn through its best passage when that is at most this
# many words (the whole turn when it fits); otherwise as its best passage, marked as an excerpt.
ANSWER_WORDS = 350
MAX_DF = 0.10  # lexical search skips words found in more than this share of passages
MAX_TERMS = 12
MAX_POSTINGS = 60_000  # and stops adding words (rarest first) once their posting lists hold this many passages
SHORT_ANSWER_WORDS = 12  # shorter answers ("Which one?") stand for the longer answer of their exchange


@lru_cache(maxsize=1)
def default_ranker() -> Ranker:
    return Ranker.load()


def _folded(label: str) -> str:
    """A label as compared: lower case, periods and runs of white space as one space."""
    return " ".join(label.lower().replace(".", " ").split())


_SENTENCE = re.compile(r"[^.!?]+(?:[.!?]+[\"”’)]*|$)")


def highlights(text: str, terms: tuple[str, ...], phrases: tuple[str, ...], limit: int = 2) -> list[tuple[int, int]]:
    """[start, end) offsets of the sentences of `text` that share the most words with the question."""
    stems = {t[:5] for t in terms if len(t) > 2}
    scored = []
    for m in _SENTENCE.finditer(text):
        s, e = m.start(), m.end()
        while s < e and text[s].isspace():
            s += 1
        if e <= s:
            continue
        sentence = text[s:e].lower()
        words = {w[:5] for w in terms_of(sentence)}
        score = len(stems & words) + sum(3 for p in phrases if p.lower() in sentence)
        if score:
            scored.append((score, s, e))
    if not scored:
        return []
    best = max(score for score, _, _ in scored)
    near_best = [(score, s, e) for score, s, e in scored if score >= max(1, best - 1)]
    top = sorted(near_best, key=lambda x: (-x[0], x[1]))[:limit]
    return sorted((s, e) for _, s, e in top)


class Searcher:
    """Answers questions from one index. Cheap to construct; the embedder loads on first query."""

    def __init__(self, store: Store, embedder: Embedder, weak_score: float = WEAK_SCORE,
                 ranker: Ranker | None = None):
        self.store = store
        self.embedder = embedder
        self.weak_score = weak_score
        self.ranker = ranker
        self._speakers: list[str] | None = None
        self._lookup: SpeakerNames | None = None
        self._aliases: dict[str, str] | None = None
        self._names: list[str] | None = None

    def known_speakers(self) -> list[str]:
        """The index's spokespeople, most passages first (read once: a reader never changes)."""
        if self._speakers is None:
            self._speakers = [s.name for s in self.store.speaker_registry()]
        return self._speakers

    def speaker_lookup(self) -> SpeakerNames:
        if self._lookup is None:
            self._lookup = SpeakerNames(self.known_speakers())
        return self._lookup

    def resolve_speaker(self, given: str) -> str:
        """A speaker filter as the index names the speaker: a label it stood under ("MR. KIRBY",
        "Admiral Kirby") is that speaker; anything else is matched as part of a name."""
        if self._aliases is None:  # built once per reader: a question costs one look-up
            self._aliases = {}
            for s in self.store.speaker_registry():
                for a in s.aliases:
                    self._aliases.setdefault(_folded(a), s.name)
        return self._aliases.get(_folded(given), given)

    def _known_speaker(self, speaker: str) -> bool:
        """Whether a speaker filter (a resolved name, or part of one) matches any answer's speaker."""
        if self._names is None:
            self._names = [n.lower() for n in self.store.speaker_names()]
        wanted = speaker.lower()
        return any(wanted in name for name in self._names)

    def read(self, question: str, speaker: str | None = None, since: str | None = None,
             until: str | None = None, transcript: str | None = None) -> Query:
        """The question as a Query, its filters checked and the speaker filter resolved.

        Raises:
            BadQuery: an empty or over-long question, dates out of order, an unknown speaker.
        """
        if since and until and since > until:
            raise BadQuery(f"since ({since}) is after until ({until})")
        if speaker and len(speaker) > 200:
            raise BadQuery(f"the speaker filter is {len(speaker)} characters long; the limit is 200")
        if speaker and speaker.strip():
            given, speaker = speaker.strip(), self.resolve_speaker(speaker.strip())
            if not self._known_speaker(speaker):
                raise BadQuery(f"no speaker matches '{given}'")  # not "nothing on the record"
        if transcript is not None:
            self.store.transcript_info(transcript)  # NotFound for an unknown id
        q = parse_query(question, self.speaker_lookup(), speaker, since, until, frequency=self.store.document_frequency)
        return replace(q, transcript=transcript) if transcript else q

    def selective(self, terms: tuple[str, ...]) -> tuple[str, ...]:
        """The question's words worth a lexical search (see `selective`), by this index's counts."""
        if not terms:
            return ()
        return selective(terms, self.store.document_frequency(list(terms)), max(1, self.store.info.passages))

    def retrieve(self, q: Query, qvec: np.ndarray, timings: dict | None = None) -> Retrieved:
        """The three candidate lists for a question (dense scores are filled in by `rank`);
        `timings` hears the milliseconds of the dense and the lexical searches."""
        filters = filters_of(q)
        t0 = time.perf_counter()
        dense = [(i, 0.0) for i in self.store.dense(qvec, filters, CANDIDATES)]
        t1 = time.perf_counter()
        terms = self.selective(q.terms)  # BM25 over the answer's words (text, topic) and the question it answered
        sides = [self.store.lexical(terms, q.phrases, filters, CANDIDATES, side) if terms or q.phrases else []
                 for side in (ANSWER, QUESTION)]
        retrieved = Retrieved(dense, *sides)
        if timings is not None:
            timings.update(dense=(t1 - t0) * 1e3, lexical=(time.perf_counter() - t1) * 1e3)
        return retrieved

    def candidates(self, q: Query, retrieved: Retrieved, qvec: np.ndarray,
                   cosines: dict[int, float] | None = None) -> tuple[list[int], np.ndarray, dict]:
        """The candidates' ids, feature rows and store rows. `cosines` overrides the cosine of some
        passages (the evaluation's masked targets, see benchmarks/ranking_cv.py)."""
        ids = list(dict.fromkeys([p for p, _ in retrieved.dense] + [p for p, _ in retrieved.answer_lexical]
                                 + [p for p, _ in retrieved.question_lexical]))
        rows = self.store.passages(ids)
        if q.phrases:  # quoted phrases must appear in the answer or the question it answers
            rows = {i: r for i, r in rows.items() if _has_phrases(r, q.phrases)}
        vectors = self.store.vectors_of(list(rows))
        cos = {i: float(np.dot(v, qvec)) for i, v in vectors.items()}
        cos.update(cosines or {})
        hints = Hints(q.named_speakers, q.president, q.organisation, q.years, q.months)
        ids, x = features(retrieved, cos, self._facts(rows), hints)
        return ids, x, rows

    def rank(self, q: Query, retrieved: Retrieved, qvec: np.ndarray) -> tuple[list[tuple[int, float]], dict]:
        """Every candidate scored by the ranker, best first, and the candidates' rows."""
        ids, x, rows = self.candidates(q, retrieved, qvec)
        if not ids:
            return [], rows
        scores = (self.ranker or default_ranker()).scores(x)
        order = np.argsort(-scores, kind="stable")
        return [(ids[i], float(scores[i])) for i in order], rows

    def _facts(self, rows: dict[int, PassageRecord]) -> dict[int, Candidate]:
        """What ranking reads of each candidate, with its place in its turn."""
        shape = self.store.turn_shapes({(r.transcript_id, r.turn_index) for r in rows.values()})
        out = {}
        for pid, r in rows.items():
            first_start, parts = shape.get((r.transcript_id, r.turn_index), (r.start, 1))
            out[pid] = Candidate(
                id=pid, transcript_id=r.transcript_id, turn_index=r.turn_index, speaker=r.speaker,
                role=r.role, label=r.label, organisation=r.organisation, date=r.date,
                words=len(r.text.split()), asked=bool(r.asked), first=r.start == first_start, turn_parts=parts,
            )
        return out

    def search(self, question: str, top_k: int = 5, speaker: str | None = None, since: str | None = None,
               until: str | None = None, transcript: str | None = None) -> SearchResult:
        """Answer a question with up to top_k verbatim, attributed answers.

        Raises:
            BadQuery: empty or over-long question, top_k out of range, bad filters.
        """
        if not 1 <= top_k <= 50:
            raise BadQuery("top_k must be between 1 and 50")
        t0 = time.perf_counter()
        q = self.read(question, speaker, since, until, transcript)
        qvec = self.embedder.embed_query(q.text)
        t1 = time.perf_counter()
        timings = {"embed": (t1 - t0) * 1e3}
        retrieved = self.retrieve(q, qvec, timings)
        t2 = time.perf_counter()
        ranked, rows = self.rank(q, retrieved, qvec)
        t3 = time.perf_counter()
        answers = self.present(ranked, rows, q, top_k)
        timings.update(rank=(t3 - t2) * 1e3, present=(time.perf_counter() - t3) * 1e3)
        return SearchResult(question=q.text, answers=tuple(answers), no_answer=not answers or answers[0].weak,
                            timings_ms=timings, interpreted=interpretation_of(q))

    def present(self, ranked: list[tuple[int, float]], rows: dict[int, PassageRecord], q: Query,
                top_k: int) -> list[Answer]:
        """The top_k answers: one per turn (its best passage stands for it), a fragment replaced by
        the real answer of its exchange, a talking point said on several occasions once (at its
        most relevant), each with the ranking score of its best passage."""
        chosen, seen_turns, said_again, covered = [], set(), {}, set()
        for pid, score in ranked:
            row = self._real_answer(rows[pid])
            turn, where = (row.transcript_id, row.turn_index), (row.transcript_id, row.start)
            if turn in seen_turns or where in covered:
                continue
            seen_turns.add(turn)
            said_again[row.id] = self.store.repeats([where]).get(where, [])
            covered |= {(o.transcript_id, o.start) for o, _ in said_again[row.id]}
            chosen.append((row, score))
            if len(chosen) == top_k:
                break
        cues = self.store.cues_of([r.transcript_id for r, _ in chosen])
        answers = []
        for row, score in chosen:
            start, end, text, excerpt = self._answer_span(row)
            when = time_of(cues.get(row.transcript_id, ()), (start, end))
            best = (row.start - start, row.end - start)
            marks = [(a + best[0], b + best[0]) for a, b in highlights(row.text, q.terms, q.phrases)]
            also = self.also_said(said_again[row.id])
            answers.append(
                Answer(
                    text=text,
                    speaker=row.speaker,
                    score=round(score, 4),
                    span=(start, end),
                    transcript=row.transcript,
                    asked=row.asked,
                    asked_by=row.asked_by,
                    highlights=tuple(marks or [best]),
                    topic=row.topic,
                    weak=score < self.weak_score,
                    role=row.role,
                    time=when,
                    link=moment_link(row.source_url, when[0]) if when else None,
                    excerpt=excerpt,
                    also_said=also,
                    first_said=min([d for d in [row.date, *(a.transcript.date for a in also)] if d], default=None),
                )
            )
        return answers

    def also_said(self, occasions: list[tuple[Occasion, float]]) -> tuple[AlsoSaid, ...]:
        """The other occasions of an answer's words, by date (transcripts no longer indexed left out)."""
        out = []
        for o, similarity in occasions:
            try:
                info = self.store.transcript_info(o.transcript_id)
            except NotFound:
                continue
            out.append(AlsoSaid(transcript=info, span=(o.start, o.end), similarity=round(similarity, 4)))
        return tuple(sorted(out, key=lambda a: (a.transcript.date or "9999", a.transcript.id, a.span)))

    def _real_answer(self, row: PassageRecord) -> PassageRecord:
        """A fragment ("Which one?", "Yeah, so, look —", "— to keep pushing.") stands for its
        exchange's real answer: a passage of under SHORT_ANSWER_WORDS words is replaced by the first
        longer answer turn by the same speaker to the same question after it, or else the last one
        before it (the answer a reporter cut into, whose rest the fragment is), when there is one."""
        if not row.asked or len(row.text.split()) >= SHORT_ANSWER_WORDS:
            return row
        longer = sorted((p for p in self.store.exchange_passages(row.transcript_id, row.asked)
                         if p.speaker == row.speaker and p.turn_index != row.turn_index
                         and len(p.text) > len(row.text) * 2), key=lambda p: (p.turn_index, p.start))
        later = [p for p in longer if p.turn_index > row.turn_index]
        return later[0] if later else (longer[-1] if longer else row)

    def _answer_span(self, row: PassageRecord) -> tuple[int, int, str, bool]:
        """The verbatim span to show for a passage, and whether it is an excerpt: from the start of
        its turn through the passage (and on to the turn's end, as far as ANSWER_WORDS allows) when
        that fits in ANSWER_WORDS; otherwise the passage alone, an excerpt."""
        parts = self.store.turn_passages(row.transcript_id, row.turn_index)
        words = [len(p.text.split()) for p in parts]
        i = next(n for n, p in enumerate(parts) if p.id == row.id)
        if sum(words[: i + 1]) > ANSWER_WORDS:
            return row.start, row.end, row.text, True
        hi, total = i, sum(words[: i + 1])
        while hi + 1 < len(parts) and total + words[hi + 1] <= ANSWER_WORDS:
            hi, total = hi + 1, total + words[hi + 1]
        start, end = parts[0].start, parts[hi].end
        if hi == 0:
            return start, end, parts[0].text, False
        return start, end, self.store.text_span(row.transcript_id, start, end), False


def selective(terms: tuple[str, ...], df: dict[str, int], n: int) -> tuple[str, ...]:
    """The words worth a lexical search, rarest first: those in at most MAX_DF of the n passages
    (a very common word adds little to BM25 but costs a long posting list), at most MAX_TERMS of
    them and MAX_POSTINGS postings in all (binding only on large indexes); the rarest word stays
    when all are common."""
    ranked = sorted(terms, key=lambda t: df.get(t, 0))
    kept, postings = [], 0
    for t in ranked:
        if df.get(t, 0) > MAX_DF * n or len(kept) == MAX_TERMS or (kept and postings + df.get(t, 0) > MAX_POSTINGS):
            break
        kept.append(t)
        postings += df.get(t, 0)
    return tuple(kept or ranked[:1])


def filters_of(q: Query) -> Filters:
    return Filters(speaker=q.speaker, since=q.since, until=q.until, transcript=q.transcript)


def interpretation_of(q: Query) -> Interpretation:
    """How the question was read, for the response (`interpreted`) and the UI."""
    return Interpretation(speakers=q.named_speakers, read_as=q.read_as, organisation=q.organisation, years=q.years,
                          months=q.months, phrases=q.phrases, speaker=q.speaker, since=q.since, until=q.until)


def _has_phrases(row: PassageRecord, phrases: tuple[str, ...]) -> bool:
    hay = " ".join(f"{row.text} {row.asked or ''}".split()).lower()
    return all(p.lower() in hay for p in phrases)
