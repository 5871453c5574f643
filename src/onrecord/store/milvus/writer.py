"""Writing a Milvus index.

Visibility: a writer upserts a transcript's passages and its record with `published` false, then
sets it true (passages first, the transcript last); every search filters on `published`, so a
transcript is searchable whole or not at all. Passage ids are derived from the transcript id and
the passage's place in it, so a writer that died half way is overwritten when the transcript is
ingested again; unpublished rows older than STALE_SECONDS are removed by the next writer.
Several writers may run at once on different transcripts (the word counts they update may then
lose an update; the speaker registry is recomputed per speaker from the passages).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict

import numpy as np

from ...errors import IndexError_, ModelMismatch, NotFound
from ...models import SPOKESPERSON, Passage, RepeatPair, Transcript
from ...terms import terms_of
from ..contract import Filters, IndexInfo
from .schema import (
    BATCH,
    MAX_LIMIT,
    PART_CHARS,
    PLACEHOLDER,
    STALE_SECONDS,
    Collections,
    client_for,
    keys_in,
    lit,
    parse_location,
    passage_id,
)


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
        self.c = Collections(client_for(index), name)
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
        self._repeats: list[RepeatPair] = []
        self._base = None  # a reader of the published state, for `similar`
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

    def similar(self, vector: np.ndarray, speaker: str, n: int) -> list[Passage]:
        if self.meta is None:
            return []
        if self._base is None:
            from .reader import MilvusStore

            self._base = MilvusStore(self.location)
        ids = self._base.dense(vector, Filters(speaker=speaker), n)
        return [r.passage() for r in self._base.passages(ids).values() if r.transcript_id not in self._removed]

    def add_repeats(self, pairs: list[RepeatPair]) -> None:
        self._repeats.extend(pairs)

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
            client.delete(self.c.repeats, filter=f"transcript_id == {lit(tid)} or other_id == {lit(tid)}")
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
        self._write_repeats()
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

    def _write_repeats(self) -> None:
        """Both ways, after the passages they name are searchable."""
        rows = []
        for p in self._repeats:
            for x, y in ((p.a, p.b), (p.b, p.a)):
                rows.append({"key": f"{x.transcript_id}/{x.start}/{y.transcript_id}/{y.start}", "transcript_id": x.transcript_id,
                             "start": x.start, "other_id": y.transcript_id, "other_start": y.start, "other_end": y.end,
                             "similarity": round(p.similarity * 10_000), "v": PLACEHOLDER})
        for i in range(0, len(rows), BATCH):
            self.c.client.upsert(self.c.repeats, rows[i: i + BATCH])

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
        self._added, self._removed, self._repeats = [], [], []

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
