"""Reading a Milvus index: the store contract over the engine (filters and BM25 run inside it)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict

import numpy as np

from ...errors import IndexNotFound, NotFound
from ...models import SPOKESPERSON, Occasion, Transcript, TranscriptInfo
from ...registry import Speaker, is_generic
from ...terms import terms_of
from ..contract import ANSWER, Filters, IndexInfo, PassageRecord
from ..tables import transcript_from_row
from .schema import (
    EF_SEARCH,
    INFO_FIELDS,
    MAX_LIMIT,
    RECORD_FIELDS,
    Collections,
    client_for,
    keys_in,
    lit,
    parse_location,
)


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
    values = {k: row[k] for k in RECORD_FIELDS}
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
        self.c = Collections(client_for(index), name)
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
                                       output_fields=["key", *INFO_FIELDS[1:]])
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
                                   output_fields=RECORD_FIELDS, limit=MAX_LIMIT)
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
        rows = self.c.client.query(self.c.passages, filter=f"{flt} and published == true", output_fields=RECORD_FIELDS,
                                   limit=MAX_LIMIT)
        return sorted(self._records(rows), key=lambda p: (p.turn_index, p.start))

    def turn_passages(self, transcript_id: str, turn_index: int) -> list[PassageRecord]:
        return self._where(f"transcript_id == {lit(transcript_id)} and turn_index == {int(turn_index)}")

    def exchange_passages(self, transcript_id: str, asked: str) -> list[PassageRecord]:
        return [p for p in self._where(f"transcript_id == {lit(transcript_id)} and asked == {lit(asked)}")
                if p.asked == asked]  # the literal folds line breaks: compare exactly

    def iter_passages(self) -> Iterator[tuple[PassageRecord, np.ndarray]]:
        rows = self.c.query_all(self.c.passages, "published == true", [*RECORD_FIELDS, "vector"])
        for r in sorted(rows, key=lambda r: r["id"]):
            info = self._info(r["transcript_id"])
            if info is not None:
                yield _record(r, info), np.asarray(r["vector"], dtype=np.float32)

    # transcripts and speakers
    def transcripts(self, limit: int | None = None, offset: int = 0) -> list[TranscriptInfo]:
        rows = self.c.query_all(self.c.transcripts, "published == true", ["key", *INFO_FIELDS[1:]])
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

    def speaker_transcripts(self, speaker: str) -> set[str]:
        return {r["transcript_id"] for r in self.c.query_all(self.c.passages, _filter(Filters(speaker=speaker)),
                                                             ["transcript_id"])}

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

    def repeats(self, keys: list[tuple[str, int]]) -> dict[tuple[str, int], list[tuple[Occasion, float]]]:
        wanted = set(keys)
        if not wanted or not self.c.client.has_collection(self.c.repeats):
            return {}
        tids = {k[0] for k in wanted}
        starts = sorted({k[1] for k in wanted})
        rows = self.c.query_all(
            self.c.repeats, f"transcript_id in [{', '.join(lit(t) for t in tids)}] and start in {starts}",
            ["transcript_id", "start", "other_id", "other_start", "other_end", "similarity"])
        out: dict[tuple[str, int], list[tuple[Occasion, float]]] = {}
        for r in rows:
            if (r["transcript_id"], r["start"]) in wanted:
                out.setdefault((r["transcript_id"], int(r["start"])), []).append(
                    (Occasion(r["other_id"], int(r["other_start"]), int(r["other_end"])), r["similarity"] / 10_000))
        return out
