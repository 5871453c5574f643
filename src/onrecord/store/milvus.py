"""The Milvus store: the index in a Milvus server (standalone or cluster), or in Milvus Lite, the
same engine API embedded in this process (`pip install 'onrecord[milvus]'`).

    milvus://HOST:PORT/NAME        a server; the token (user:password or an API key) in ONRECORD_MILVUS_TOKEN
    milvus-lite:///PATH/FILE.db    Milvus Lite, a file on this machine

Six collections named NAME_*: passages (dense vector with HNSW, Milvus' own BM25 over the answer's
words and over the question asked, and the scalar fields filters run on), transcripts (metadata),
bodies (each transcript's text and structure, in parts), terms (document frequencies), speakers
(the registry) and meta (model, dimension, generation). Milvus wants a vector field in every
collection: those without one carry a 2-dimensional placeholder.

Visibility: a writer upserts a transcript's passages and its record with `published` false, then
sets it true (passages first, the transcript last); every search filters on `published`, so a
transcript is searchable whole or not at all. Passage ids are derived from the transcript id and
the passage's place in it, so a writer that died half way is overwritten when the transcript is
ingested again; unpublished rows older than STALE_SECONDS are removed by the next writer.
Several writers may run at once on different transcripts (the word counts they update may then
lose an update; the speaker registry is recomputed per speaker from the passages).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict

import numpy as np

from ..errors import IndexError_, IndexNotFound, ModelMismatch, NotFound
from ..models import SPOKESPERSON, Passage, Transcript, TranscriptInfo
from ..registry import Speaker, is_generic
from ..terms import terms_of
from .contract import ANSWER, Filters, IndexInfo, PassageRecord
from .tables import transcript_from_row

STALE_SECONDS = 3600
PART_CHARS = 16_000  # a transcript body part (a VARCHAR holds 65,535 bytes; UTF-8 takes up to 4 per character)
BATCH = 500
MAX_LIMIT = 16_384  # Milvus' largest search or query limit
HNSW = {"M": 32, "efConstruction": 200}
EF_SEARCH = 512
ANALYZER = {"tokenizer": "standard", "filter": ["lowercase", {"type": "stemmer", "language": "english"}]}
PLACEHOLDER = [1.0, 0.0]
_RECORD_FIELDS = ["id", "transcript_id", "turn_index", "start", "end", "speaker", "role", "label", "asked", "asked_by",
                  "topic", "text"]
_INFO_FIELDS = ["id", "title", "date", "source_url", "file", "organisation"]
log = logging.getLogger("onrecord")
_clients: dict[str, object] = {}
_clients_guard = threading.Lock()


def parse_location(index: str) -> tuple[str, str, str]:
    """(kind, uri, name) of a Milvus index setting; kind is "milvus" or "milvus-lite".

    Raises:
        IndexError_: not a Milvus location.
    """
    if index.startswith("milvus-lite://"):
        path = index[len("milvus-lite://"):]
        if not path.endswith(".db") or len(path) < 4:
            raise IndexError_(f"a Milvus Lite index is milvus-lite:///PATH/FILE.db, not {index!r}")
        return "milvus-lite", path, "onrecord"
    if index.startswith("milvus://"):
        rest = index[len("milvus://"):]
        host, _, name = rest.partition("/")
        if not host or not name or not name.replace("_", "").isalnum():
            raise IndexError_(f"a Milvus index is milvus://HOST:PORT/NAME (NAME: letters, digits, _), not {index!r}")
        return "milvus", f"http://{host}", name
    raise IndexError_(f"not a Milvus location: {index!r}")


def _pymilvus():
    try:
        import pymilvus
    except ImportError:
        raise IndexError_("the Milvus store needs pymilvus: pip install 'onrecord[milvus]'") from None
    return pymilvus


def client_for(index: str):
    """One client per location and process (Milvus Lite allows one engine per file)."""
    kind, uri, _ = parse_location(index)
    with _clients_guard:
        if uri not in _clients:
            pymilvus = _pymilvus()
            logging.getLogger("pymilvus").setLevel(logging.ERROR)  # its iterators warn of Milvus Lite's clock
            if kind == "milvus-lite":
                os.makedirs(os.path.dirname(os.path.abspath(uri)), exist_ok=True)
            try:
                token = os.environ.get("ONRECORD_MILVUS_TOKEN", "")
                _clients[uri] = pymilvus.MilvusClient(uri=uri, token=token) if kind == "milvus" else pymilvus.MilvusClient(uri)
            except Exception as exc:
                raise IndexError_(f"cannot reach the Milvus index at {index} ({str(exc)[:300]})") from None
        return _clients[uri]


def lit(value: str) -> str:
    """A string literal of Milvus' expression language (no injection: quotes and backslashes escaped)."""
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def keys_in(values) -> str:
    """`key in [...]` for string keys (pymilvus' own `ids=` does not escape quotes)."""
    return "key in [" + ", ".join(lit(v) for v in values) + "]"


def passage_id(tid: str, n: int) -> int:
    """A passage's id: from its transcript and its place in it (63 bits)."""
    return int.from_bytes(hashlib.blake2b(f"{tid}\x00{n}".encode(), digest_size=8).digest(), "big") >> 1


class _Collections:
    """Names and schemas of an index's collections."""

    def __init__(self, client, name: str):
        self.client, self.name = client, name
        self.passages, self.transcripts, self.bodies = f"{name}_passages", f"{name}_transcripts", f"{name}_bodies"
        self.terms, self.speakers, self.meta = f"{name}_terms", f"{name}_speakers", f"{name}_meta"

    def exist(self) -> bool:
        return self.client.has_collection(self.meta)

    def create(self, dim: int) -> None:
        pm = _pymilvus()
        dt, c = pm.DataType, self.client
        if not c.has_collection(self.passages):
            s = c.create_schema(auto_id=False)
            s.add_field("id", dt.INT64, is_primary=True)
            for f, n in (("transcript_id", 128), ("speaker", 1024), ("speaker_folded", 1024), ("role", 32),
                         ("label", 1024), ("asked_by", 1024), ("topic", 4096), ("date", 16)):
                s.add_field(f, dt.VARCHAR, max_length=n)
            for f in ("turn_index", "start", "end", "written"):
                s.add_field(f, dt.INT64)
            s.add_field("published", dt.BOOL)
            s.add_field("text", dt.VARCHAR, max_length=65535)
            s.add_field("answer_words", dt.VARCHAR, max_length=65535, enable_analyzer=True, enable_match=True,
                        analyzer_params=ANALYZER)
            s.add_field("asked", dt.VARCHAR, max_length=65535, enable_analyzer=True, enable_match=True,
                        analyzer_params=ANALYZER)
            s.add_field("answer_bm25", dt.SPARSE_FLOAT_VECTOR)
            s.add_field("asked_bm25", dt.SPARSE_FLOAT_VECTOR)
            s.add_field("vector", dt.FLOAT_VECTOR, dim=dim)
            for inp, out in (("answer_words", "answer_bm25"), ("asked", "asked_bm25")):
                s.add_function(pm.Function(name=out, function_type=pm.FunctionType.BM25, input_field_names=[inp],
                                           output_field_names=[out]))
            ip = c.prepare_index_params()
            ip.add_index("vector", index_type="HNSW", metric_type="IP", params=HNSW)
            ip.add_index("answer_bm25", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
            ip.add_index("asked_bm25", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
            for f in ("transcript_id", "speaker_folded", "date", "published"):
                ip.add_index(f, index_type="INVERTED")
            self._create(self.passages, s, ip)
        self._keyed(self.transcripts, [("title", 65535), ("date", 16), ("source_url", 65535), ("file", 65535),
                                       ("organisation", 1024), ("added", 32)],
                    ints=("parts", "written"), bools=("published",))
        self._keyed(self.bodies, [("transcript_id", 128), ("data", 65535)], ints=("part",))
        self._keyed(self.terms, [], ints=("df",))
        self._keyed(self.speakers, [("aliases", 65535)], ints=("passages", "transcripts"))
        self._keyed(self.meta, [("value", 65535)])  # last: its presence says the index exists

    def _keyed(self, name: str, strings, ints=(), bools=()) -> None:
        """A collection of records by a string key, with a placeholder vector."""
        pm = _pymilvus()
        dt, c = pm.DataType, self.client
        if c.has_collection(name):
            return
        s = c.create_schema(auto_id=False)
        s.add_field("key", dt.VARCHAR, max_length=2048, is_primary=True)
        for f, n in strings:
            s.add_field(f, dt.VARCHAR, max_length=n)
        for f in ints:
            s.add_field(f, dt.INT64)
        for f in bools:
            s.add_field(f, dt.BOOL)
        s.add_field("v", dt.FLOAT_VECTOR, dim=2)
        ip = c.prepare_index_params()
        ip.add_index("v", index_type="FLAT", metric_type="IP")
        self._create(name, s, ip)

    def _create(self, name: str, schema, index_params) -> None:
        """A collection and its indexes, not waiting on them (pymilvus polls every 0.5 s): an empty
        collection's indexes are built at once, and loading waits for them on a server."""
        self.client.create_collection(name, schema=schema, consistency_level="Strong")
        self.client.create_index(name, index_params, sync=False)

    def names(self) -> tuple[str, ...]:
        return self.passages, self.transcripts, self.bodies, self.terms, self.speakers, self.meta

    def load(self) -> None:
        for name in self.names():
            self.client.load_collection(name)

    def query_all(self, name: str, flt: str, fields: list[str]) -> list[dict]:
        """Every row matching a filter (past Milvus' query limit, by an iterator)."""
        it = self.client.query_iterator(name, filter=flt, output_fields=fields, batch_size=2000)
        out = []
        try:
            while batch := it.next():
                out.extend(batch)
        finally:
            it.close()
        return out

    def meta_value(self) -> dict | None:
        if not self.exist():
            return None
        self.client.load_collection(self.meta)
        rows = self.client.query(self.meta, filter=keys_in(["meta"]), output_fields=["value"])
        return json.loads(rows[0]["value"]) if rows else None


def describe(index: str) -> IndexInfo | None:
    """What a Milvus index says of itself, or None when there is none yet."""
    kind, _, name = parse_location(index)
    try:
        meta = _Collections(client_for(index), name).meta_value()
    except IndexError_:
        raise
    except Exception as exc:
        raise IndexError_(f"cannot read the Milvus index at {index} ({str(exc)[:300]})") from None
    if meta is None:
        return None
    return IndexInfo(store=kind, model=meta["model"], backend=meta["backend"], dim=meta["dim"],
                     generation=meta["generation"], transcripts=meta.get("transcripts", 0),
                     passages=meta.get("passages", 0))


def _filter(f: Filters) -> str:
    parts = ["published == true"]
    if f.speaker:
        folded = f.speaker.lower().replace("%", "\\%").replace("_", "\\_")
        parts.append(f"speaker_folded like {lit('%' + folded + '%')}")
    if f.since:
        parts.append(f"date >= {lit(f.since)}")
    if f.until:
        parts.append(f'date != "" and date <= {lit(f.until)}')
    if f.transcript:
        parts.append(f"transcript_id == {lit(f.transcript)}")
    return " and ".join(parts)


def _phrase_filter(phrases: tuple[str, ...]) -> str:
    """Every word of every phrase in the answer's words or in the question (the phrase itself is
    checked by search, on the candidates' text)."""
    out = []
    for p in phrases:
        words = terms_of(p) or p.split()
        if not words:
            continue
        side = [" and ".join(f"TEXT_MATCH({field}, {lit(w)})" for w in words) for field in ("answer_words", "asked")]
        out.append(f"(({side[0]}) or ({side[1]}))")
    return " and ".join(out)


def _record(row: dict, info: TranscriptInfo | None) -> PassageRecord:
    values = {k: row[k] for k in _RECORD_FIELDS}
    for k in ("asked", "asked_by", "topic"):
        values[k] = values[k] or None
    if info is not None:
        values.update(title=info.title, date=info.date, source_url=info.source_url, file=info.file,
                      organisation=info.organisation)
    return PassageRecord(**values)


class MilvusStore:
    """An index in Milvus, read through the engine (no local files). One store per generation, so
    that the caches of names and transcripts stay true; the data itself is the server's."""

    def __init__(self, index: str):
        self.location = index
        kind, _, name = parse_location(index)
        self.c = _Collections(client_for(index), name)
        meta = self.c.meta_value()
        if meta is None:
            raise IndexNotFound(f"no index at {index}: build one with 'onrecord ingest PATH --index {index}'")
        self.c.load()
        self.info = IndexInfo(store=kind, model=meta["model"], backend=meta["backend"], dim=meta["dim"],
                              generation=meta["generation"], transcripts=meta.get("transcripts", 0),
                              passages=meta.get("passages", 0))
        self._infos: dict[str, TranscriptInfo | None] = {}
        self._bodies: dict[str, dict] = {}
        self._registry: list[Speaker] | None = None
        self._names: list[str] | None = None

    def acquire(self) -> None:
        pass

    def release(self) -> None:
        pass

    def retire(self) -> None:
        pass

    def close(self) -> None:
        pass

    # search
    def dense(self, vector: np.ndarray, filters: Filters, n: int) -> list[int]:
        hits = self.c.client.search(
            self.c.passages, data=[np.asarray(vector, dtype=np.float32).tolist()], anns_field="vector",
            limit=min(n, MAX_LIMIT), filter=_filter(filters), output_fields=["id"],
            search_params={"metric_type": "IP", "params": {"ef": max(EF_SEARCH, n)}})
        return [int(h["id"]) for h in hits[0]]

    def lexical(self, terms: tuple[str, ...], phrases: tuple[str, ...], filters: Filters, n: int,
                side: str = ANSWER) -> list[tuple[int, float]]:
        text = " ".join(terms) or " ".join(phrases)
        if not text.strip():
            return []
        flt = " and ".join(x for x in (_filter(filters), _phrase_filter(phrases)) if x)
        hits = self.c.client.search(
            self.c.passages, data=[text], anns_field="answer_bm25" if side == ANSWER else "asked_bm25",
            limit=min(n, MAX_LIMIT), filter=flt, output_fields=["id"], search_params={"metric_type": "BM25"})
        return [(int(h["id"]), abs(float(h["distance"]))) for h in hits[0]]  # Milvus Lite gives the score negated

    def document_frequency(self, terms: list[str]) -> dict[str, int]:
        if not terms:
            return {}
        rows = self.c.client.query(self.c.terms, filter=keys_in(terms), output_fields=["key", "df"], limit=MAX_LIMIT)
        return {r["key"]: int(r["df"]) for r in rows}

    # passages
    def _info(self, tid: str) -> TranscriptInfo | None:
        if tid not in self._infos:
            rows = self.c.client.query(self.c.transcripts, filter=f"key == {lit(tid)} and published == true",
                                       output_fields=["key", *_INFO_FIELDS[1:]])
            r = rows[0] if rows else None
            self._infos[tid] = r and TranscriptInfo(
                id=tid, title=r["title"], date=r["date"] or None, source_url=r["source_url"] or None, file=r["file"],
                organisation=r["organisation"] or None)
        return self._infos[tid]

    def _records(self, rows: list[dict]) -> list[PassageRecord]:
        out = []
        for r in rows:
            info = self._info(r["transcript_id"])
            if info is not None:  # a transcript being removed: its passages are gone with it
                out.append(_record(r, info))
        return out

    def passages(self, ids: list[int]) -> dict[int, PassageRecord]:
        if not ids:
            return {}
        rows = self.c.client.query(self.c.passages, filter=f"id in {[int(i) for i in ids]} and published == true",
                                   output_fields=_RECORD_FIELDS, limit=MAX_LIMIT)
        return {p.id: p for p in self._records(rows)}

    def vectors_of(self, ids: list[int]) -> dict[int, np.ndarray]:
        if not ids:
            return {}
        rows = self.c.client.query(self.c.passages, ids=list(ids), output_fields=["id", "vector"])
        return {int(r["id"]): np.asarray(r["vector"], dtype=np.float32) for r in rows}

    def turn_shapes(self, turns: set[tuple[str, int]]) -> dict[tuple[str, int], tuple[int, int]]:
        by_transcript: dict[str, set[int]] = {}
        for tid, turn in turns:
            by_transcript.setdefault(tid, set()).add(turn)
        if not by_transcript:
            return {}
        which = " or ".join(f"(transcript_id == {lit(tid)} and turn_index in {sorted(wanted)})"
                            for tid, wanted in by_transcript.items())
        out: dict[tuple[str, int], tuple[int, int]] = {}
        for r in self.c.client.query(self.c.passages, filter=f"({which}) and published == true",  # one round trip
                                     output_fields=["transcript_id", "turn_index", "start"], limit=MAX_LIMIT):
            key = (r["transcript_id"], int(r["turn_index"]))
            first, count = out.get(key, (r["start"], 0))
            out[key] = (min(first, r["start"]), count + 1)
        return out

    def _where(self, flt: str) -> list[PassageRecord]:
        rows = self.c.client.query(self.c.passages, filter=f"{flt} and published == true", output_fields=_RECORD_FIELDS,
                                   limit=MAX_LIMIT)
        return sorted(self._records(rows), key=lambda p: (p.turn_index, p.start))

    def turn_passages(self, transcript_id: str, turn_index: int) -> list[PassageRecord]:
        return self._where(f"transcript_id == {lit(transcript_id)} and turn_index == {int(turn_index)}")

    def exchange_passages(self, transcript_id: str, asked: str) -> list[PassageRecord]:
        return [p for p in self._where(f"transcript_id == {lit(transcript_id)} and asked == {lit(asked)}")
                if p.asked == asked]  # the literal folds line breaks: compare exactly

    def iter_passages(self) -> Iterator[tuple[PassageRecord, np.ndarray]]:
        rows = self.c.query_all(self.c.passages, "published == true", [*_RECORD_FIELDS, "vector"])
        for r in sorted(rows, key=lambda r: r["id"]):
            info = self._info(r["transcript_id"])
            if info is not None:
                yield _record(r, info), np.asarray(r["vector"], dtype=np.float32)

    # transcripts and speakers
    def transcripts(self, limit: int | None = None, offset: int = 0) -> list[TranscriptInfo]:
        rows = self.c.query_all(self.c.transcripts, "published == true", ["key", *_INFO_FIELDS[1:]])
        infos = [TranscriptInfo(id=r["key"], title=r["title"], date=r["date"] or None, source_url=r["source_url"] or None,
                                file=r["file"], organisation=r["organisation"] or None) for r in rows]
        infos.sort(key=lambda i: (i.date is not None, i.date or "", i.file))  # as SQLite: no date first
        return infos[offset: None if limit is None else offset + limit]

    def transcript_info(self, tid: str) -> TranscriptInfo:
        info = self._info(tid)
        if info is None:
            raise NotFound(f"no transcript with id '{tid}'")
        return info

    def _body(self, tid: str) -> dict:
        if tid not in self._bodies:
            info = self.transcript_info(tid)
            rows = self.c.client.query(self.c.bodies, filter=f"transcript_id == {lit(tid)}", output_fields=["part", "data"],
                                       limit=MAX_LIMIT)
            body = json.loads("".join(r["data"] for r in sorted(rows, key=lambda r: r["part"])))
            if len(self._bodies) > 64:
                self._bodies.clear()
            self._bodies[tid] = {**asdict(info), **body}
        return self._bodies[tid]

    def transcript(self, tid: str) -> Transcript:
        return transcript_from_row(self._body(tid))

    def text_span(self, tid: str, start: int, end: int) -> str:
        return self._body(tid)["text"][start:end]

    def cues_of(self, tids: list[str]) -> dict[str, tuple]:
        out = {}
        for tid in dict.fromkeys(tids):
            try:
                cues = self._body(tid).get("cues")
            except NotFound:
                continue
            if cues:
                out[tid] = tuple((int(a), int(b), float(s), float(e)) for a, b, s, e in json.loads(cues))
        return out

    def speaker_names(self) -> list[str]:
        if self._names is None:
            self._names = [r["key"] for r in self.c.query_all(self.c.speakers, 'key != ""', ["key"])]
        return self._names

    def speaker_registry(self) -> list[Speaker]:
        if self._registry is None:
            rows = self.c.query_all(self.c.speakers, 'key != ""', ["key", "passages", "transcripts", "aliases"])
            rows.sort(key=lambda r: (-r["passages"], r["key"]))
            self._registry = [Speaker(r["key"], tuple(a for a in json.loads(r["aliases"] or "[]") if a), SPOKESPERSON,
                                      int(r["transcripts"]), int(r["passages"])) for r in rows if not is_generic(r["key"])]
        return self._registry

    def asked_questions(self, limit: int) -> list[tuple[str, str]]:
        rows = self.c.client.query(self.c.passages, filter='asked != "" and published == true',
                                   output_fields=["id", "transcript_id", "asked", "date"], limit=min(limit * 4, MAX_LIMIT))
        rows.sort(key=lambda r: (r["date"] or "", -r["id"]), reverse=True)
        return [(r["transcript_id"], r["asked"]) for r in rows[:limit]]


class MilvusWriter:
    """A writer of a Milvus index; a context manager. Additions and removals are held until
    `commit()`, then written (see the module's note on visibility); no commit, no change.

    Raises (on open):
        ModelMismatch: the index was built with another model or dimension.
        IndexError_: Milvus cannot be reached.
    """

    def __init__(self, index: str, model: str, dim: int, backend: str):
        self.location, self.model, self.dim, self.backend = index, model, dim, backend
        kind, _, name = parse_location(index)
        self.kind = kind
        self.c = _Collections(client_for(index), name)
        try:
            self.meta = self.c.meta_value()
        except Exception as exc:
            raise IndexError_(f"cannot read the Milvus index at {index} ({str(exc)[:300]})") from None
        if self.meta is not None:
            for key, mine in (("model", model), ("backend", backend), ("dim", dim)):
                if self.meta.get(key) != mine:
                    raise ModelMismatch(f"the index at {index} was built with {key} {self.meta.get(key)!r}, the configured "
                                        f"{key} is {mine!r}: configure the same or use another index")
        self.c.create(dim)
        self.c.load()
        self._clear_stale()
        self._added: list[tuple[Transcript, list[Passage], np.ndarray]] = []
        self._removed: list[str] = []
        self.committed = False

    def _clear_stale(self) -> None:
        old = int(time.time()) - STALE_SECONDS
        for name in (self.c.passages, self.c.transcripts):
            self.c.client.delete(name, filter=f"published == false and written < {old}")

    def known_speakers(self) -> list[str]:
        return [r["key"] for r in self.c.query_all(self.c.speakers, 'key != ""', ["key"])]

    def has(self, tid: str) -> bool:
        if any(t.id == tid for t, _, _ in self._added):
            return True
        rows = self.c.client.query(self.c.transcripts, filter=f"key == {lit(tid)} and published == true", output_fields=["key"])
        return bool(rows) and tid not in self._removed

    def same_occasion(self, t: Transcript) -> str | None:
        if not t.date:
            return None
        rows = self.c.client.query(
            self.c.transcripts, filter=f"date == {lit(t.date)} and key != {lit(t.id)} and published == true",
            output_fields=["key", "title"], limit=MAX_LIMIT)
        return next((r["key"] for r in rows if r["title"] == t.title), None)

    def add(self, transcript: Transcript, passages: list[Passage], vectors: np.ndarray) -> None:
        if len(passages) != len(vectors):
            raise ValueError("one vector per passage")
        self._added.append((transcript, passages, np.asarray(vectors, dtype=np.float32)))

    def remove(self, tid: str) -> None:
        if not self.has(tid):
            raise NotFound(f"no transcript with id '{tid}'")
        self._removed.append(tid)

    def commit(self) -> IndexInfo:
        client, now = self.c.client, int(time.time())
        changed_speakers: set[str] = set()
        term_delta: dict[str, int] = {}
        for tid in self._removed:
            rows = self.c.query_all(self.c.passages, f"transcript_id == {lit(tid)}",
                                    ["text", "asked", "speaker", "topic", "role"])
            _count_terms(term_delta, rows, -1)
            changed_speakers |= {r["speaker"] for r in rows if r["role"] == SPOKESPERSON}
            client.delete(self.c.passages, filter=f"transcript_id == {lit(tid)}")  # unsearchable first
            client.delete(self.c.transcripts, filter=keys_in([tid]))
            client.delete(self.c.bodies, filter=f"transcript_id == {lit(tid)}")
        for t, passages, vectors in self._added:
            rows = [_passage_row(t, n, p, v, now) for n, (p, v) in enumerate(zip(passages, vectors))]
            for i in range(0, len(rows), BATCH):
                client.upsert(self.c.passages, rows[i: i + BATCH])
            body = json.dumps({"text": t.text, "speakers": json.dumps(list(t.speakers)),
                               "turns": json.dumps([asdict(x) for x in t.turns]),
                               "exchanges": json.dumps([asdict(x) for x in t.exchanges]),
                               "cues": json.dumps([list(c) for c in t.cues]) if t.cues else None})
            parts = [body[i: i + PART_CHARS] for i in range(0, len(body), PART_CHARS)] or [""]
            client.delete(self.c.bodies, filter=f"transcript_id == {lit(t.id)}")
            for i in range(0, len(parts), 50):
                client.upsert(self.c.bodies, [{"key": f"{t.id}/{n:06d}", "transcript_id": t.id, "part": n, "data": d,
                                               "v": PLACEHOLDER} for n, d in enumerate(parts[i: i + 50], i)])
            record = {"key": t.id, "title": t.title, "date": t.date or "", "source_url": t.source_url or "",
                      "file": t.file, "organisation": t.organisation or "", "added": time.strftime("%Y-%m-%dT%H:%M:%SZ"),
                      "parts": len(parts), "written": now, "published": False, "v": PLACEHOLDER}
            client.upsert(self.c.transcripts, [record])
            for row in rows:
                row["published"] = True
            for i in range(0, len(rows), BATCH):  # searchable from here on, whole
                client.upsert(self.c.passages, rows[i: i + BATCH])
            client.upsert(self.c.transcripts, [{**record, "published": True}])  # listed last
            _count_terms(term_delta, [{"text": p.text, "asked": p.asked, "speaker": p.speaker, "topic": p.topic}
                                      for p in passages], +1)
            changed_speakers |= {p.speaker for p in passages if p.role == SPOKESPERSON}
        self._update_terms(term_delta)
        self._update_speakers(changed_speakers)
        n_t = client.query(self.c.transcripts, filter="published == true", output_fields=["count(*)"])[0]["count(*)"]
        n_p = client.query(self.c.passages, filter="published == true", output_fields=["count(*)"])[0]["count(*)"]
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        meta = {**(self.meta or {"created": stamp}), "model": self.model, "backend": self.backend, "dim": self.dim,
                "generation": (self.meta or {}).get("generation", 0) + 1, "transcripts": n_t, "passages": n_p,
                "updated": stamp}
        client.upsert(self.c.meta, [{"key": "meta", "value": json.dumps(meta), "v": PLACEHOLDER}])
        for name in self.c.names():  # sealed segments: searches stop scanning the write buffer (Lite: 10x faster)
            client.flush(name)
        self.meta, self.committed = meta, True
        return IndexInfo(store=self.kind, model=self.model, backend=self.backend, dim=self.dim,
                         generation=meta["generation"], transcripts=n_t, passages=n_p)

    def _update_terms(self, delta: dict[str, int]) -> None:
        keys = [k for k, v in delta.items() if v]
        for i in range(0, len(keys), 1000):
            chunk = keys[i: i + 1000]
            have = {r["key"]: int(r["df"]) for r in self.c.client.query(self.c.terms, filter=keys_in(chunk),
                                                                        output_fields=["key", "df"], limit=MAX_LIMIT)}
            self.c.client.upsert(self.c.terms, [{"key": k, "df": max(0, have.get(k, 0) + delta[k]), "v": PLACEHOLDER}
                                                for k in chunk])

    def _update_speakers(self, names: set[str]) -> None:
        """Each changed spokesperson's passages, transcripts and labels, counted from the passages."""
        for name in names:
            rows = self.c.query_all(self.c.passages, f"speaker == {lit(name)} and role == {lit(SPOKESPERSON)} and "
                                    "published == true", ["transcript_id", "label"])
            if not rows:
                self.c.client.delete(self.c.speakers, filter=keys_in([name]))
                continue
            labels = list(dict.fromkeys(r["label"] for r in rows))
            self.c.client.upsert(self.c.speakers, [{
                "key": name, "passages": len(rows), "transcripts": len({r["transcript_id"] for r in rows}),
                "aliases": json.dumps(labels), "v": PLACEHOLDER}])

    def abort(self) -> None:
        self._added, self._removed = [], []

    def __enter__(self) -> MilvusWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if not self.committed:
            self.abort()
        if exc is not None and type(exc).__module__.startswith("pymilvus"):
            raise IndexError_(f"could not write the Milvus index at {self.location} ({str(exc)[:300]}); transcripts "
                              "not fully written stay unsearchable and are written again by the next ingest") from exc


def _passage_row(t: Transcript, n: int, p: Passage, v: np.ndarray, now: int) -> dict:
    return {
        "id": passage_id(t.id, n), "transcript_id": t.id, "turn_index": p.turn_index, "start": p.span[0],
        "end": p.span[1], "speaker": p.speaker, "speaker_folded": p.speaker.lower(), "role": p.role, "label": p.label,
        "asked": p.asked or "", "asked_by": p.asked_by or "", "topic": p.topic or "", "text": p.text,
        "answer_words": f"{p.text}\n{p.topic or ''}", "date": t.date or "", "written": now, "published": False,
        "vector": np.asarray(v, dtype=np.float32).tolist(),
    }


def _count_terms(delta: dict[str, int], rows, sign: int) -> None:
    for r in rows:
        for t in set(terms_of(" ".join(r.get(x) or "" for x in ("text", "asked", "speaker", "topic")))):
            delta[t] = delta.get(t, 0) + sign
