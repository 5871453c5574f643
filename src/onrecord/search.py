"""Retrieval: query parsing, dense (FAISS) + lexical (FTS5 BM25) search, fusion, grouping.

    question -> Query (phrases, speaker/organisation/year hints)
             -> dense top-N and lexical top-N passages (filters applied inside both)
             -> reciprocal rank fusion, plus one extra "vote" for passages by the speaker,
                organisation or year the question names
             -> one answer per speaker turn, highlights, calibrated score, no-answer flag
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

import numpy as np

from .defaults import WEAK_SCORE  # noqa: F401 (the searcher's default; re-exported)
from .embedding import Embedder
from .errors import BadQuery
from .models import Answer, SearchResult, TranscriptInfo, time_of
from .store import IndexReader
from .terms import terms_of
from .transcripts.captions import moment_link

RRF_K = 20  # Cormack et al. 2009 use 60; 20 trusts the top of each list more (measured on the development set)
LEXICAL_WEIGHT = 1.6  # lexical matches count more than dense ones (measured on the development set)
CANDIDATES = 100  # per retriever
MAX_QUESTION_CHARS = 2000
# An answer turn up to this many words is returned whole (its best passage highlighted); a longer
# one is returned as its best passage grown with neighbouring passages of the same turn.
ANSWER_WORDS = 350
MAX_DF = 0.10  # lexical search skips words found in more than this share of passages
MAX_TERMS = 12
MAX_POSTINGS = 60_000  # and stops adding words (rarest first) once their posting lists hold this many passages
SHORT_ANSWER_WORDS = 12  # shorter answers ("Go ahead.", "J.J.") only rank on their question's strength

_PHRASE = re.compile(r"[\"“”]([^\"“”]{2,200})[\"“”]")
_YEAR = re.compile(r"\b(19[4-9]\d|20[0-4]\d)\b")
# "what did the President say", "the President's view": the President is the one speaking
_ASKS_PRESIDENT = re.compile(
    r"\b(?:did|does|has|would|will|is) the president\b(?! (?:or|and)\b)|\bthe president(?:'s|’s)? "
    r"(?:say|said|says|think|thinks|view|views|position|comment|comments|remarks|answer|response)\b"
)
_GENERIC_NAMES = {"moderator", "reporter", "unknown speaker", "senior administration official", "aide", "the president"}
ORGANISATIONS = {"nato": "NATO", "white house": "The White House"}


@dataclass(frozen=True)
class Query:
    """A parsed question."""

    text: str
    terms: tuple[str, ...]
    phrases: tuple[str, ...] = ()
    speaker: str | None = None  # an explicit filter (substring of the speaker's name)
    since: str | None = None
    until: str | None = None
    named_speakers: tuple[str, ...] = ()  # speakers the question names ("what did Kirby say")
    organisation: str | None = None
    years: tuple[str, ...] = ()
    president: bool = False


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_QUESTION_WORD = re.compile(r"[\w'’\-]+")


def speaker_lookup(known_speakers: list[str]) -> dict[str, list[tuple[int, str]]]:
    """Surname (lower case) -> (rank, name) of the speakers it names; built once per index, so a
    question costs a few look-ups however many speakers the index holds."""
    lookup: dict[str, list[tuple[int, str]]] = {}
    for rank, name in enumerate(known_speakers):
        parts = name.split()
        if not parts or name.lower() in _GENERIC_NAMES or len(parts[-1]) < 3:
            continue
        lookup.setdefault(parts[-1].lower(), []).append((rank, name))
    return lookup


def _words_of(low: str) -> set[str]:
    """The question's words, and their parts at hyphens and apostrophes ("jean-pierre", "kirby's")."""
    words = set()
    for w in _QUESTION_WORD.findall(low):
        words.add(w)
        words.update(re.split(r"[\-'’]+", w))
    return words


def parse_query(text: str, known_speakers: list[str] | dict, speaker: str | None = None, since: str | None = None,
                until: str | None = None) -> Query:
    """Read a journalist's question: quoted phrases, named speakers and organisations, years.
    `known_speakers`: the index's speaker names, or their `speaker_lookup`.

    Raises:
        BadQuery: an empty or over-long question.
    """
    text = " ".join(_CONTROL.sub(" ", text or "").split())  # control characters never reach FTS5
    if not text:
        raise BadQuery("the question is empty")
    if len(text) > MAX_QUESTION_CHARS:
        raise BadQuery(f"the question is {len(text)} characters long; the limit is {MAX_QUESTION_CHARS}")
    low = text.lower()
    lookup = known_speakers if isinstance(known_speakers, dict) else speaker_lookup(list(known_speakers))
    found = sorted({hit for w in _words_of(low) for hit in lookup.get(w, ())})
    named = [name for _, name in found]
    organisation = next((org for key, org in ORGANISATIONS.items() if re.search(r"\b" + key + r"\b", low)), None)
    return Query(
        text=text,
        terms=tuple(terms_of(text)),
        phrases=tuple(" ".join(p.split()) for p in _PHRASE.findall(text)),
        speaker=speaker or None,
        since=since or None,
        until=until or None,
        named_speakers=tuple(named),
        organisation=organisation,
        years=tuple(dict.fromkeys(_YEAR.findall(text))),
        president=bool(_ASKS_PRESIDENT.search(low)) and not named,
    )


def _folded(label: str) -> str:
    """A label as compared: lower case, periods and runs of white space as one space."""
    return " ".join(label.lower().replace(".", " ").split())


def rrf(rankings: list[list[int]], weights: list[float] | None = None, k: int = RRF_K) -> dict[int, float]:
    """Reciprocal rank fusion: each list votes weight/(k + rank) for its items (rank from 1)."""
    scores: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights or [1.0] * len(rankings)):
        for rank, item in enumerate(ranking, 1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    return scores


def fts_query(terms: tuple[str, ...], phrases: tuple[str, ...]) -> str | None:
    """An FTS5 MATCH expression: any content word; every quoted phrase. Input is quoted, never parsed."""
    words = [_CONTROL.sub("", t.replace('"', "")) for t in terms]
    any_word = " OR ".join(f'"{w}"' for w in words if w)
    must = " AND ".join('"' + _CONTROL.sub(" ", p.replace('"', "")) + '"' for p in phrases)
    if must and any_word:
        return f"({must}) AND ({any_word})"
    return must or any_word or None


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

    def __init__(self, reader: IndexReader, embedder: Embedder, weak_score: float = WEAK_SCORE):
        self.reader = reader
        self.embedder = embedder
        self.weak_score = weak_score
        self._speakers: list[str] | None = None
        self._lookup: dict | None = None
        self._aliases: dict[str, str] | None = None
        self._names: list[str] | None = None

    def known_speakers(self) -> list[str]:
        """The index's spokespeople, most passages first (read once: a reader never changes)."""
        if self._speakers is None:
            self._speakers = [s for s, _ in self.reader.speakers()]
        return self._speakers

    def speaker_lookup(self) -> dict:
        if self._lookup is None:
            self._lookup = speaker_lookup(self.known_speakers())
        return self._lookup

    def resolve_speaker(self, given: str) -> str:
        """A speaker filter as the index names the speaker: a label it stood under ("MR. KIRBY",
        "Admiral Kirby") is that speaker; anything else is matched as part of a name."""
        if self._aliases is None:  # built once per reader: a question costs one look-up
            self._aliases = {}
            for s in self.reader.speaker_registry():
                for a in s.aliases:
                    self._aliases.setdefault(_folded(a), s.name)
        return self._aliases.get(_folded(given), given)

    def _known_speaker(self, speaker: str) -> bool:
        """Whether a speaker filter (a resolved name, or part of one) matches any answer's speaker."""
        if self._names is None:
            self._names = [n.lower() for n in self.reader.speaker_names()]
        wanted = speaker.lower()
        return any(wanted in name for name in self._names)

    def _filter_sql(self, q: Query) -> tuple[str, list]:
        where, args = [], []
        if q.speaker:  # resolved once, in search()
            where.append("p.speaker LIKE ? ESCAPE '\\'")
            args.append("%" + q.speaker.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%")

        if q.since:
            where.append("t.date >= ?")
            args.append(q.since)
        if q.until:
            where.append("t.date <= ?")
            args.append(q.until)
        return " AND ".join(where), args

    def _allowed_ids(self, q: Query) -> np.ndarray | None:
        where, args = self._filter_sql(q)
        if not where:
            return None
        rows = self.reader.db.execute(
            f"SELECT p.id FROM passages p JOIN transcripts t ON t.id = p.transcript_id WHERE {where}", args
        )
        return np.fromiter((r[0] for r in rows), dtype=np.int64)

    def dense(self, qvec: np.ndarray, q: Query, n: int) -> list[int]:
        import faiss

        index = self.reader.search_index
        if index.ntotal == 0:
            return []
        allowed = self._allowed_ids(q)
        params = self.reader.search_params  # the graph skips removed ids
        if allowed is not None:
            if len(allowed) == 0:
                return []
            if index is not self.reader.vectors:  # a filtered graph search can miss: filter exact vectors
                index = self.reader.vectors
            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(allowed))
        k = min(n, index.ntotal)
        _, ids = index.search(qvec.reshape(1, -1).astype(np.float32), k, params=params)
        return [int(i) for i in ids[0] if i >= 0]

    def lexical(self, q: Query, n: int) -> list[int]:
        match = fts_query(self._selective(q.terms), q.phrases)
        if not match:
            return []
        where, args = self._filter_sql(q)
        order = " ORDER BY bm25(passages_fts, 1.0, 0.5, 0.5, 1.0) LIMIT ?"
        if not where:  # no join: the full-text index alone is several times faster
            sql = "SELECT rowid FROM passages_fts WHERE passages_fts MATCH ?" + order
            return [r[0] for r in self.reader.db.execute(sql, [match, n])]
        sql = (
            "SELECT p.id FROM passages_fts f JOIN passages p ON p.id = f.rowid "
            "JOIN transcripts t ON t.id = p.transcript_id WHERE passages_fts MATCH ? AND " + where + order
        )
        return [r[0] for r in self.reader.db.execute(sql, [match, *args, n])]

    def _selective(self, terms: tuple[str, ...]) -> tuple[str, ...]:
        """The question's words worth a lexical search, rarest first: those in at most MAX_DF of
        the passages (a very common word adds little to BM25 but costs a long posting list), at
        most MAX_TERMS of them and MAX_POSTINGS postings in all (binding only on large indexes);
        the rarest word stays when all are common."""
        if not terms:
            return ()
        df = self.reader.document_frequency(list(terms))
        n = max(1, self.reader.counts()[1])
        ranked = sorted(terms, key=lambda t: df.get(t, 0))
        kept, postings = [], 0
        for t in ranked:
            if df.get(t, 0) > MAX_DF * n or len(kept) == MAX_TERMS or (kept and postings + df.get(t, 0) > MAX_POSTINGS):
                break
            kept.append(t)
            postings += df.get(t, 0)
        return tuple(kept or ranked[:1])

    def search(self, question: str, top_k: int = 5, speaker: str | None = None, since: str | None = None,
               until: str | None = None) -> SearchResult:
        """Answer a question with up to top_k verbatim, attributed answers.

        Raises:
            BadQuery: empty or over-long question, top_k out of range.
        """
        if not 1 <= top_k <= 50:
            raise BadQuery("top_k must be between 1 and 50")
        if since and until and since > until:
            raise BadQuery(f"since ({since}) is after until ({until})")
        if speaker and len(speaker) > 200:
            raise BadQuery(f"the speaker filter is {len(speaker)} characters long; the limit is 200")
        if speaker and speaker.strip():
            given, speaker = speaker.strip(), self.resolve_speaker(speaker.strip())
            if not self._known_speaker(speaker):
                raise BadQuery(f"no speaker matches '{given}'")  # not "nothing on the record"
        timings = {}
        t0 = time.perf_counter()
        q = parse_query(question, self.speaker_lookup(), speaker, since, until)
        qvec = self.embedder.embed_query(q.text)
        t1 = time.perf_counter()
        dense = self.dense(qvec, q, CANDIDATES)
        t2 = time.perf_counter()
        lexical = self.lexical(q, CANDIDATES)
        t3 = time.perf_counter()
        fused = rrf([dense, lexical], [1.0, LEXICAL_WEIGHT])
        rows = self.reader.passages(list(fused))
        if q.phrases:  # quoted phrases must appear in the answer or the question it answers
            fused = {i: s for i, s in fused.items() if i in rows and _has_phrases(rows[i], q.phrases)}
        for pid, row in rows.items():
            if pid in fused:
                fused[pid] = fused[pid] * _length_prior(row["text"]) + _steer(row, q)
        ranked = sorted(fused, key=fused.get, reverse=True)
        t4 = time.perf_counter()
        answers = self._present(ranked, rows, q, qvec, top_k)
        t5 = time.perf_counter()
        timings.update(embed=(t1 - t0) * 1e3, dense=(t2 - t1) * 1e3, lexical=(t3 - t2) * 1e3,
                       fusion=(t4 - t3) * 1e3, present=(t5 - t4) * 1e3)
        no_answer = not answers or all(a.weak for a in answers)
        return SearchResult(question=q.text, answers=tuple(answers), no_answer=no_answer, timings_ms=timings)

    def _present(self, ranked: list[int], rows: dict, q: Query, qvec: np.ndarray, top_k: int) -> list[Answer]:
        chosen, seen_turns = [], set()
        for pid in ranked:
            row = self._real_answer(rows[pid])
            turn = (row["transcript_id"], row["turn_index"])
            if turn in seen_turns:
                continue  # one answer appears once: its best passage stands for it
            seen_turns.add(turn)
            chosen.append(row)
            if len(chosen) == top_k:
                break
        vectors = self.reader.vectors_of([r["id"] for r in chosen])
        cues = self.reader.cues_of([r["transcript_id"] for r in chosen])
        candidates = set(ranked[:CANDIDATES])
        answers = []
        for row in chosen:
            score = float(np.dot(vectors[row["id"]], qvec))
            start, end, text = self._answer_span(row, candidates)
            when = time_of(cues.get(row["transcript_id"], ()), (start, end))
            best = (row["start"] - start, row["end"] - start)
            marks = [(a + best[0], b + best[0]) for a, b in highlights(row["text"], q.terms, q.phrases)]
            answers.append(
                Answer(
                    text=text,
                    speaker=row["speaker"],
                    score=round(score, 4),
                    span=(start, end),
                    transcript=TranscriptInfo(
                        id=row["transcript_id"], title=row["title"], date=row["date"],
                        source_url=row["source_url"], file=row["file"], organisation=row["organisation"],
                    ),
                    asked=row["asked"],
                    asked_by=row["asked_by"],
                    highlights=tuple(marks or [best]),
                    topic=row["topic"],
                    weak=score < self.weak_score,
                    role=row["role"],
                    time=when,
                    link=moment_link(row["source_url"], when[0]) if when else None,
                )
            )
        return answers

    def _real_answer(self, row):
        """A fragment ("Which one?", "Yeah, so, look —") stands for its exchange's real answer: a
        passage of under SHORT_ANSWER_WORDS words is replaced by the first longer answer turn by the
        same speaker to the same question, when there is one."""
        if not row["asked"] or len(row["text"].split()) >= SHORT_ANSWER_WORDS:
            return row
        other = self.reader.db.execute(
            "SELECT id FROM passages WHERE transcript_id=? AND asked=? AND speaker=? AND turn_index>? "
            "AND length(text) > ? ORDER BY turn_index, start LIMIT 1",
            (row["transcript_id"], row["asked"], row["speaker"], row["turn_index"], len(row["text"]) * 2),
        ).fetchone()
        return self.reader.passages([other[0]])[other[0]] if other else row

    def _answer_span(self, row, candidates: set[int]) -> tuple[int, int, str]:

        """The verbatim span to show for a passage: its whole turn when short, else the passage
        grown by neighbouring passages of the turn that also matched, up to ANSWER_WORDS."""
        parts = self.reader.db.execute(
            "SELECT id, start, end, text FROM passages WHERE transcript_id=? AND turn_index=? ORDER BY start",
            (row["transcript_id"], row["turn_index"]),
        ).fetchall()
        words = [len(p["text"].split()) for p in parts]
        i = next(n for n, p in enumerate(parts) if p["id"] == row["id"])
        lo = hi = i
        if sum(words) <= ANSWER_WORDS:
            lo, hi = 0, len(parts) - 1
        else:  # grow by neighbours, those that also matched the question first
            total = words[i]
            for wanted in (True, False):
                grown = True
                while grown:
                    grown = False
                    for j in (lo - 1, hi + 1):
                        if (0 <= j < len(parts) and (parts[j]["id"] in candidates) >= wanted
                                and total + words[j] <= ANSWER_WORDS):
                            total += words[j]
                            lo, hi, grown = min(lo, j), max(hi, j), True
        start, end = parts[lo]["start"], parts[hi]["end"]
        if lo == hi:
            return start, end, parts[lo]["text"]
        text = self.reader.db.execute(
            "SELECT substr(text, ?, ?) FROM transcripts WHERE id=?", (start + 1, end - start, row["transcript_id"])
        ).fetchone()[0]
        return start, end, text


def _length_prior(text: str) -> float:
    n = len(text.split())
    return 1.0 if n >= SHORT_ANSWER_WORDS else 0.5 + 0.5 * n / SHORT_ANSWER_WORDS


def _has_phrases(row, phrases: tuple[str, ...]) -> bool:
    hay = " ".join(f"{row['text']} {row['asked'] or ''}".split()).lower()
    return all(p.lower() in hay for p in phrases)


def _steer(row, q: Query) -> float:
    """Extra fusion weight for a passage by whom or from where/when the question names."""
    vote = 1.0 / (RRF_K + 1)
    bonus = 0.0
    if q.named_speakers and row["speaker"] in q.named_speakers:
        bonus += vote
    if q.president and row["label"].replace(".", "").strip() == "THE PRESIDENT":
        bonus += vote
    if q.organisation and row["organisation"] == q.organisation:
        bonus += vote * 0.5
    if q.years and row["date"] and row["date"][:4] in q.years:
        bonus += vote * 0.5
    return bonus
