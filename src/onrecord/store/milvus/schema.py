"""The Milvus store's collections: the location, the client, the schemas, expression literals.

    milvus://HOST:PORT/NAME        a server; the token (user:password or an API key) in ONRECORD_MILVUS_TOKEN
    milvus-lite:///PATH/FILE.db    Milvus Lite, a file on this machine

Seven collections named NAME_*: passages (dense vector with HNSW, Milvus' own BM25 over the answer's
words and over the question asked, and the scalar fields filters run on), transcripts (metadata),
bodies (each transcript's text and structure, in parts), terms (document frequencies), speakers
(the registry), repeats (pairs of passages with nearly the same words, both ways) and meta
(model, dimension, generation). Milvus wants a vector field in every
collection: those without one carry a 2-dimensional placeholder.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading

from ...errors import IndexError_
from ..contract import IndexInfo

STALE_SECONDS = 3600
PART_CHARS = 16_000  # a transcript body part (a VARCHAR holds 65,535 bytes; UTF-8 takes up to 4 per character)
BATCH = 500
MAX_LIMIT = 16_384  # Milvus' largest search or query limit
HNSW = {"M": 32, "efConstruction": 200}
EF_SEARCH = 512
ANALYZER = {"tokenizer": "standard", "filter": ["lowercase", {"type": "stemmer", "language": "english"}]}
PLACEHOLDER = [1.0, 0.0]
RECORD_FIELDS = ["id", "transcript_id", "turn_index", "start", "end", "speaker", "role", "label", "asked", "asked_by",
                  "topic", "text"]
INFO_FIELDS = ["id", "title", "date", "source_url", "file", "organisation"]
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


class Collections:
    """Names and schemas of an index's collections."""

    def __init__(self, client, name: str):
        self.client, self.name = client, name
        self.passages, self.transcripts, self.bodies = f"{name}_passages", f"{name}_transcripts", f"{name}_bodies"
        self.terms, self.speakers, self.meta = f"{name}_terms", f"{name}_speakers", f"{name}_meta"
        self.repeats = f"{name}_repeats"

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
        # similarity in ten-thousandths (a keyed collection holds strings and integers)
        self._keyed(self.repeats, [("transcript_id", 128), ("other_id", 128)],
                    ints=("start", "other_start", "other_end", "similarity"))
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
        return self.passages, self.transcripts, self.bodies, self.terms, self.speakers, self.repeats, self.meta

    def load(self) -> None:
        for name in self.names():
            if name != self.repeats or self.client.has_collection(name):  # an index from before repeats has none
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
        meta = Collections(client_for(index), name).meta_value()
    except IndexError_:
        raise
    except Exception as exc:
        raise IndexError_(f"cannot read the Milvus index at {index} ({str(exc)[:300]})") from None
    if meta is None:
        return None
    return IndexInfo(store=kind, model=meta["model"], backend=meta["backend"], dim=meta["dim"],
                     generation=meta["generation"], transcripts=meta.get("transcripts", 0),
                     passages=meta.get("passages", 0))
