"""A generation's lexical index: Tantivy (a Lucene-style engine: segments, BM25, phrase queries,
top-k without scoring every match).

    gen-N/lexical/meta.json, gen-N/lexical/<segment>.*

Two BM25 fields per passage: `answer` (its text and topic heading) and `asked` (the question it
answered); speaker, date and transcript as filter fields. Words are read as Milvus' BM25 reads
them (split at anything but letters and digits, lower case, the English Snowball stemmer), so the
local and the Milvus store rank from the same words; a question's word of several parts
("fossil-fuel") is matched as its parts in a row, as SQLite FTS5 did before. Segment files are never rewritten: a new
generation links the previous one's segments and writes only what it adds (a segment, deletion
bitsets, meta.json).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import tantivy

from ..errors import IndexError_
from .contract import ANSWER

LEXICAL = "lexical"
TOKENIZER = "onrecord"
HEAP_BYTES = 64 * 1024 * 1024
_LOCKS = (".tantivy-meta.lock", ".tantivy-writer.lock")
_FIELD = {ANSWER: "answer", "question": "asked"}


def analyzer() -> tantivy.TextAnalyzer:
    return (tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple()).filter(tantivy.Filter.remove_long(40))
            .filter(tantivy.Filter.lowercase()).filter(tantivy.Filter.stemmer("english")).build())


def _schema() -> tantivy.Schema:
    sb = tantivy.SchemaBuilder()
    sb.add_integer_field("pid", stored=True, indexed=True, fast=True)
    sb.add_text_field("answer", tokenizer_name=TOKENIZER, index_option="position")
    sb.add_text_field("asked", tokenizer_name=TOKENIZER, index_option="position")
    sb.add_text_field("speaker", tokenizer_name="raw", index_option="basic")  # folded to lower case
    sb.add_text_field("transcript", tokenizer_name="raw", index_option="basic")
    sb.add_integer_field("day", indexed=True, fast=True)  # yyyymmdd; 0 when undated
    return sb.build()


def day_of(date: str | None) -> int:
    digits = (date or "").replace("-", "")
    return int(digits) if len(digits) == 8 and digits.isdigit() else 0


def _open(folder: Path) -> tantivy.Index:
    index = tantivy.Index(_schema(), path=str(folder), reuse=True)
    index.register_tokenizer(TOKENIZER, analyzer())
    return index


def exists(data: Path) -> bool:
    return (data / LEXICAL / "meta.json").is_file()


class Lexical:
    """A generation's lexical index, read-only."""

    def __init__(self, data: Path):
        try:
            self.index = _open(data / LEXICAL)
            self.index.reload()
            self.searcher = self.index.searcher()
        except ValueError as exc:  # what tantivy raises for a damaged or unreadable index
            raise IndexError_(f"the lexical index in {data} cannot be read ({exc}): rebuild the index with "
                              "'onrecord ingest'") from None
        self.words = analyzer()
        self.schema = self.index.schema
        self._statistics: dict[str, tuple[int, float]] = {}

    def plan(self, terms: tuple[str, ...], phrases: tuple[str, ...]) -> tuple[list[tuple[str, ...]], list[tuple[str, ...]]]:
        """A question's words as the index reads them: the scored units (one word, or the parts of
        a word of several, "fossil-fuel", in a row) and the quoted phrases a passage must hold."""
        units = [w for w in dict.fromkeys(tuple(self.words.analyze(t)) for t in terms) if w]
        return units, [tuple(parts) for p in phrases if (parts := self.words.analyze(p))]

    def search(self, terms: tuple[str, ...], phrases: tuple[str, ...], n: int, side: str,
               speakers: list[str] | None = None, since: str | None = None, until: str | None = None,
               transcript: str | None = None) -> list[tuple[int, float]]:
        """BM25 top-n (passage id, score) on one side: any of the terms, every phrase (in the answer or
        the question); `speakers`: exact speaker names (folded), None for any."""
        Q, must = tantivy.Query, tantivy.Occur.Must
        field = _FIELD[side]
        units, musts = self.plan(terms, phrases)
        should = [Q.term_query(self.schema, field, w[0]) if len(w) == 1 else Q.phrase_query(self.schema, field, list(w))
                  for w in units]
        clauses = [(must, Q.boolean_query([(tantivy.Occur.Should, q) for q in should]))] if should else []
        for parts in musts:
            if len(parts) == 1:
                either = [Q.term_query(self.schema, f, parts[0]) for f in ("answer", "asked")]
            else:
                either = [Q.phrase_query(self.schema, f, list(parts)) for f in ("answer", "asked")]
            # a phrase filters (in the answer or in the question), only the words score
            clauses.append((must, Q.const_score_query(Q.boolean_query([(tantivy.Occur.Should, q) for q in either]), 0.0)))
        if not clauses:
            return []
        if speakers is not None:
            if not speakers:
                return []
            clauses.append((must, Q.term_set_query(self.schema, "speaker", [s.lower() for s in speakers])))
        if transcript:
            clauses.append((must, Q.term_query(self.schema, "transcript", transcript)))
        if since or until:
            lo, hi = day_range(since, until)
            clauses.append((must, Q.range_query(self.schema, "day", tantivy.FieldType.Integer, lo, hi)))
        hits = self.searcher.search(Q.boolean_query(clauses), n, count=False).hits
        if not hits:
            return []
        ids = self.searcher.fast_field_values("pid", [addr for _, addr in hits])
        return [(int(i), float(score)) for (score, _), i in zip(hits, ids)]

    def statistics(self, field: str) -> tuple[int, float]:
        """(documents, average words a document) in a field, as this index's BM25 counts them
        (deleted documents included until a merge drops them): read from its own explanation of
        a score, the one place Tantivy tells them."""
        if field not in self._statistics:
            found = (self.searcher.num_docs, 0.0)
            for word in ("the", "a", "and", "to", "of"):
                q = tantivy.Query.term_query(self.schema, field, word)
                hits = self.searcher.search(q, 1).hits
                if hits:
                    found = _explained(json.loads(q.explain(self.searcher, hits[0][1]).to_json()))
                    break
            self._statistics[field] = found
        return self._statistics[field]

    def document_frequency(self, field: str, word: str) -> int:
        return self.searcher.doc_freq(field, word)


def _explained(node: dict) -> tuple[int, float]:
    """N and avgdl from a term score's explanation."""
    found: dict[str, float] = {}

    def walk(n: dict) -> None:
        text = n.get("description", "")
        if text.startswith("N,"):
            found["N"] = n["value"]
        elif text.startswith("avgdl"):
            found["avgdl"] = n["value"]
        for child in n.get("details", []):
            walk(child)
    walk(node)
    return int(found.get("N", 0)), float(found.get("avgdl", 0.0))


def day_range(since: str | None, until: str | None) -> tuple[int, int]:
    """The days (yyyymmdd) a date filter keeps; an undated passage (day 0) is outside any."""
    lo = day_of(since) if since else 1
    hi = day_of(until) if until else 99_999_999
    return max(lo, 1), hi


def _written(fn):
    """Tantivy's write errors (a full disk among them) as the OSError every writer raises."""
    def wrapped(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ValueError as exc:
            raise OSError(f"the lexical index could not be written: {exc}") from None
    return wrapped


class LexicalWriter:
    """A new generation's lexical index: the previous generation's segments linked (they are never
    written again), what is added in a new segment, removals as deletions."""

    @_written
    def __init__(self, folder: Path, previous: Path | None):
        target = folder / LEXICAL
        target.mkdir()
        self.committed = False  # Tantivy's commit syncs what it writes: segments, meta.json, .managed.json
        if previous is not None and exists(previous):
            for f in (previous / LEXICAL).iterdir():
                if f.name in _LOCKS:
                    continue
                if f.name.endswith(".json"):  # rewritten by the writer (atomically): a copy of our own
                    shutil.copyfile(f, target / f.name)
                else:
                    os.link(f, target / f.name)
            self.fresh = False
        else:
            self.fresh = True  # a new index, or one written before the lexical index: the caller fills it
        self.index = _open(target)
        self.writer = self.index.writer(heap_size=HEAP_BYTES, num_threads=1)
        self.changed = False

    @_written
    def add(self, pid: int, text: str, topic: str | None, asked: str | None, speaker: str, day: int,
            transcript: str) -> None:
        self.writer.add_document(tantivy.Document(
            pid=pid, answer=f"{text}\n{topic or ''}", asked=asked or "", speaker=speaker.lower(), day=day,
            transcript=transcript))
        self.changed = True

    @_written
    def remove(self, transcript: str) -> None:
        self.writer.delete_documents_by_term("transcript", transcript)
        self.changed = True

    @_written
    def finish(self) -> None:
        if self.changed or self.fresh:
            self.writer.commit()
            self.committed = True
        self.writer.wait_merging_threads()

    def abort(self) -> None:
        try:
            self.writer.rollback()
        except Exception:
            pass
