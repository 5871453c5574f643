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

    def search(self, terms: tuple[str, ...], phrases: tuple[str, ...], n: int, side: str,
               speakers: list[str] | None = None, since: str | None = None, until: str | None = None,
               transcript: str | None = None) -> list[tuple[int, float]]:
        """BM25 top-n (passage id, score) on one side: any of the terms, every phrase (in the answer or
        the question); `speakers`: exact speaker names (folded), None for any."""
        Q, must = tantivy.Query, tantivy.Occur.Must
        field, should = _FIELD[side], []
        for words in dict.fromkeys(tuple(self.words.analyze(t)) for t in terms):
            if len(words) == 1:
                should.append(Q.term_query(self.schema, field, words[0]))
            elif words:  # a word of several ("fossil-fuel", "U.S.-Mexico"): its parts in a row
                should.append(Q.phrase_query(self.schema, field, list(words)))
        clauses = [(must, Q.boolean_query([(tantivy.Occur.Should, q) for q in should]))] if should else []
        for p in phrases:
            parts = self.words.analyze(p)
            if not parts:
                continue
            if len(parts) == 1:
                either = [Q.term_query(self.schema, f, parts[0]) for f in ("answer", "asked")]
            else:
                either = [Q.phrase_query(self.schema, f, parts) for f in ("answer", "asked")]
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
            lo = day_of(since) if since else 1
            hi = day_of(until) if until else 99_999_999
            clauses.append((must, Q.range_query(self.schema, "day", tantivy.FieldType.Integer, max(lo, 1), hi)))
        hits = self.searcher.search(Q.boolean_query(clauses), n, count=False).hits
        if not hits:
            return []
        ids = self.searcher.fast_field_values("pid", [addr for _, addr in hits])
        return [(int(i), float(score)) for (score, _), i in zip(hits, ids)]


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
