"""A generation's vectors: segments of exact FAISS vectors and, on large indexes, an HNSW graph.

    gen-N/vectors-000003.faiss       a segment: exact flat vectors, FAISS ids = passage row ids
    gen-N/vectors-000003.ids.npy     its ids (read by a writer without loading the segment)
    gen-N/vectors-000003.hnsw        the graph over that segment (the base, from HNSW_THRESHOLD passages)
    gen-N/vectors-000007.faiss       a later, small segment: what a later generation added
    gen-N/vectors.removed.npy        ids removed since their segments were written: searches skip them
    INDEX/recent-000000123456.f32    the recent passages' vectors (recent.py), appended to; in memory

A segment is written once and never changed: a new generation hard-links the segments it keeps
into its folder and writes only a segment of what it adds and the list of what it removed, so a
small write costs what it adds. Small segments are merged when there are more than MAX_SEGMENTS
of them; the vectors outside the graph are folded into it when they pass TAIL_MAX, or the graph
rebuilt when removed ids pass HNSW_MAX_REMOVED of it (and by `onrecord compact`).

An index written before segments (vectors.faiss, vectors.hnsw, vectors.hnsw.removed.npy) is read
as one segment with its graph; its next write goes on from there.
"""

from __future__ import annotations

import os
import re
import threading
import weakref
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import IndexError_
from .manifest import append_published, read_published

VECTORS = "vectors.faiss"  # an index from before segments: its one segment
HNSW = "vectors.hnsw"
REMOVED = "vectors.removed.npy"
OLD_REMOVED = "vectors.hnsw.removed.npy"  # before segments: ids the graph held and the flat file did not
_SEGMENT = re.compile(r"vectors(-\d{6})?\.faiss")
# From this many passages a graph index (HNSW, fp16 vectors) answers dense queries; exact flat
# search stays the source of truth. Measured (benchmarks/dense_threshold.py, README): one exact
# query costs ~3 ms at 50k, ~7 ms at 100k, ~14 ms at 200k on 2 cores, the graph ~1 ms with
# recall@10 >= 0.998, but building it costs ~25 s per 100k passages (once; later folds add to
# it). Below 100k exact search is cheap enough to need no graph.
HNSW_THRESHOLD = 100_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 200  # 40 (FAISS's default) gave recall@10 0.96 at 1M; 200: 0.995 at efSearch 512
HNSW_EF_SEARCH = 512
# A graph cannot drop a vector, and rebuilding it costs ~25 s per 100k passages: a removal only
# records the ids (searches skip them) until they are this share of the graph, then it is rebuilt.
HNSW_MAX_REMOVED = 0.10
# Vectors outside the graph are searched exactly (~3 ms per 50k on 2 cores): up to this many, a
# write adds a small segment; past it they are added to the graph (~25 s per 100k, seldom).
TAIL_MAX = 50_000
# More small segments than this are merged into one (each costs a search call).
MAX_SEGMENTS = 8
# A graph search for fewer than this many returns this many candidates, scored again on the exact
# vectors: on real embeddings of a corpus repeated 18 times (near-copies a cosine ~0.98 apart),
# recall@10 against exact search rose from 0.947 to 0.994 with 32 or more; a larger efSearch did
# nothing (1024: 0.948). benchmarks/real_vectors.py measures it.
RESCORE = 64


def faiss_module():
    import faiss

    return faiss


def new_graph(dim: int):
    """An empty HNSW graph over fp16 vectors, with onrecord's parameters."""
    faiss = faiss_module()
    graph = faiss.IndexHNSWSQ(dim, faiss.ScalarQuantizer.QT_fp16, HNSW_M)
    graph.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    graph.hnsw.efSearch = HNSW_EF_SEARCH
    return graph


def segment_names(data: Path) -> list[str]:
    """A generation's segments, oldest first (the one from before segments, vectors.faiss, first)."""
    return sorted((p.name for p in data.iterdir() if _SEGMENT.fullmatch(p.name)), key=lambda n: (n != VECTORS, n))


def graph_name(segment: str) -> str:
    return segment[: -len(".faiss")] + ".hnsw"


def ids_name(segment: str) -> str:
    return segment[: -len(".faiss")] + ".ids.npy"


def read_removed(data: Path) -> np.ndarray:
    """The ids a generation's segments still hold but that were removed."""
    parts = [np.load(data / name) for name in (REMOVED, OLD_REMOVED) if (data / name).is_file()]
    return np.unique(np.concatenate(parts).astype(np.int64)) if parts else np.zeros(0, dtype=np.int64)


def ids_of(index) -> np.ndarray:
    return faiss_module().vector_to_array(index.id_map).astype(np.int64)


@dataclass
class Segment:
    name: str
    exact: object  # IndexIDMap2(IndexFlatIP), mapped
    graph: object | None = None  # IndexIDMap(IndexHNSWSQ) over the same ids (and, from before segments, removed ones)
    _sorted: np.ndarray | None = None

    def holds(self, ids: np.ndarray) -> np.ndarray:
        """Which of some ids this segment holds (a mask): its ids sorted once, then searched."""
        if self._sorted is None:
            self._sorted = np.sort(ids_of(self.exact))
        if not len(self._sorted):
            return np.zeros(len(ids), dtype=bool)
        at = np.searchsorted(self._sorted, ids)
        return (at < len(self._sorted)) & (self._sorted[np.minimum(at, len(self._sorted) - 1)] == ids)


# Segments open in this process, by file identity: generations link the same files, so a reader of
# a new generation shares the previous one's loaded segments (the graph is read whole: ~1 GB and
# a second at a million passages) instead of loading them again; freed with the last reader.
_OPEN: weakref.WeakValueDictionary = weakref.WeakValueDictionary()
_OPEN_LOCK = threading.Lock()


def shared_segment(data: Path, name: str, with_graph: bool = True) -> Segment:
    """open_segment, or the same files already open in this process."""
    def identity(path: Path) -> tuple | None:
        try:
            st = path.stat()
        except OSError:
            return None
        return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns

    key = (identity(data / name), identity(data / graph_name(name)) if with_graph else None, with_graph)
    if key[0] is None:
        return open_segment(data, name, with_graph)  # reports the missing file
    with _OPEN_LOCK:
        segment = _OPEN.get(key)
        if segment is None:
            segment = open_segment(data, name, with_graph)
            _OPEN[key] = segment
        return segment


def open_segment(data: Path, name: str, with_graph: bool = True) -> Segment:
    faiss = faiss_module()
    try:
        exact = faiss.read_index(str(data / name), faiss.IO_FLAG_MMAP_IFC)
    except Exception as exc:
        raise IndexError_(f"index file {data / name} is corrupt ({exc}): rebuild the index with 'onrecord ingest'") from None
    graph = None
    if with_graph and (data / graph_name(name)).is_file():
        try:
            graph = faiss.read_index(str(data / graph_name(name)))
            faiss.downcast_index(graph.index).hnsw.efSearch = HNSW_EF_SEARCH
        except Exception as exc:
            raise IndexError_(f"index file {data / graph_name(name)} is corrupt ({exc}): "
                              "rebuild the index with 'onrecord ingest'") from None
    return Segment(name, exact, graph)


def _similarities(index, distances: np.ndarray) -> np.ndarray:
    """Inner products from what an index returns (the graph measures L2 between unit vectors)."""
    if index.metric_type == faiss_module().METRIC_L2:
        return 1.0 - distances / 2.0
    return distances


class Vectors:
    """One generation's vectors, read-only: mapped, not read, so opening is instant.

    Raises (on open):
        IndexError_: a file is missing, corrupt, or the segments do not hold one vector per passage.
    """

    def __init__(self, data: Path, dim: int, n_passages: int, with_graph: bool = True,
                 recent: tuple[np.ndarray, np.ndarray] | None = None):
        faiss = faiss_module()
        names = segment_names(data) if data.is_dir() else []
        if not names:
            raise IndexError_(f"index file {data / VECTORS} is missing: rebuild the index with 'onrecord ingest'")
        # without the graph (read whole: 1 GB at a million passages) only filtered searches are exact
        self.segments = [shared_segment(data, name, with_graph) for name in names]
        if recent is not None and len(recent[0]):  # the recent passages' vectors (recent.py), in memory
            exact = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
            exact.add_with_ids(np.ascontiguousarray(recent[1], dtype=np.float32), np.asarray(recent[0], dtype=np.int64))
            self.segments.append(Segment("recent", exact))
        self.removed = read_removed(data)
        held = sum(s.exact.ntotal for s in self.segments)
        if self.removed.size and held:
            held -= int(np.isin(self.removed, np.concatenate([ids_of(s.exact) for s in self.segments])).sum())
        bad = next((s for s in self.segments if s.exact.d != dim), None)
        self._held = held
        if held != n_passages or bad is not None:
            raise IndexError_(
                f"index files in {data} hold {held} vectors of dimension {(bad or self.segments[0]).exact.d}, the "
                f"database {n_passages} passages of dimension {dim}: rebuild the index with 'onrecord ingest'"
            )
        self.params = None  # with removed ids: the parameters that make every search skip them
        if self.removed.size:
            self._skip = (faiss.IDSelectorBatch(self.removed),)  # the selectors must outlive every search
            self._skip += (faiss.IDSelectorNot(self._skip[0]),)
            self.params = faiss.SearchParametersHNSW(sel=self._skip[1], efSearch=HNSW_EF_SEARCH)
            self._flat_params = faiss.SearchParameters(sel=self._skip[1])

    @property
    def graph(self):
        """The graph of the base segment, if the index has one."""
        return next((s.graph for s in self.segments if s.graph is not None), None)

    @property
    def ntotal(self) -> int:
        """The vectors searches can return: those of the segments less the removed ones."""
        return self._held

    @property
    def kind(self) -> str:
        """The dense index unfiltered searches use: "hnsw" or "flat"."""
        return "hnsw" if self.graph is not None else "flat"

    @staticmethod
    def _merged(query: np.ndarray, calls, n: int) -> list[int]:
        """Each (index, search parameters, segment) searched, the lists merged by similarity. Asked
        for fewer than RESCORE, a graph gives RESCORE candidates, scored again on its segment's exact
        vectors: its fp16 distances cannot order near-copies (a talking point said on many
        occasions), whose similarities differ by less than the rounding. Asked for more, its own
        top n already holds the exact top ten (1.0 on the real-vector index) and is returned as the
        graph found it: `rank` scores its candidates on exact vectors anyway, and reading them here
        too cost page faults on the mapped vector file (first answer at 1M 2.8 -> 3.6 s)."""
        query = np.asarray(query, dtype=np.float32).reshape(1, -1)
        best: list[tuple[float, int]] = []
        for index, params, segment in calls:
            if index.ntotal == 0:
                continue
            rescore = segment is not None and n < RESCORE
            d, ids = index.search(query, min(RESCORE if rescore else n, index.ntotal), params=params)
            if rescore:
                found = ids[0][ids[0] >= 0]
                if len(found):
                    best.extend(zip((segment.exact.reconstruct_batch(found) @ query[0]).tolist(), found.tolist()))
                continue
            best.extend((float(s), int(i)) for s, i in zip(_similarities(index, d[0]), ids[0]) if i >= 0)
        best.sort(key=lambda x: -x[0])
        seen, out = set(), []
        for _, i in best:
            if i not in seen:
                seen.add(i)
                out.append(i)
        return out[:n]

    def search(self, query: np.ndarray, n: int, allowed: np.ndarray | None = None) -> list[int]:
        """The n nearest ids: by the graph (skipping removed ids) where a segment has one, exactly in
        the others; among `allowed` ids by the exact vectors (a filtered graph search can miss)."""
        faiss = faiss_module()
        if allowed is not None:
            if len(allowed) == 0:
                return []
            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(allowed))
            return self._merged(query, [(s.exact, params, None) for s in self.segments], n)
        flat = self._flat_params if self.removed.size else None
        return self._merged(query, [(s.graph, self.params, s) if s.graph is not None else (s.exact, flat, None)
                                    for s in self.segments], n)

    def vectors_of(self, ids: list[int]) -> dict[int, np.ndarray]:
        """The exact vectors of some ids, from the segments that hold them (the vectors live only
        there: the database keeps none)."""
        wanted = np.unique(np.asarray(ids, dtype=np.int64))
        out: dict[int, np.ndarray] = {}
        for s in self.segments:
            if not wanted.size:
                break
            mask = s.holds(wanted)
            if mask.any():
                found = wanted[mask]
                out.update(zip(found.tolist(), s.exact.reconstruct_batch(found)))
                wanted = wanted[~mask]
        return out

    def exact_search(self, query: np.ndarray, k: int) -> list[int]:
        """Exact top-k ids (to measure the graph against)."""
        flat = self._flat_params if self.removed.size else None
        return self._merged(query, [(s.exact, flat, None) for s in self.segments], k)

    def close(self) -> None:
        self.segments, self.params = [], None  # unmaps the files


class VectorsWriter:
    """A new generation's vectors: the previous generation's segments, linked, plus a segment of
    what this writer adds, minus what it removes (see the module's note for when segments merge)."""

    def __init__(self, dim: int, previous: Path | None):
        self.dim, self.previous = dim, previous
        self.kept = segment_names(previous) if previous is not None and previous.is_dir() else []
        self.removed = read_removed(previous) if previous is not None else np.zeros(0, dtype=np.int64)
        self._added_ids: list[np.ndarray] = []
        self._added: list[np.ndarray] = []
        self._removed: list[np.ndarray] = []
        self.force_merge = False  # `onrecord compact`: one segment, its graph rebuilt, nothing removed left

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        self._added_ids.append(np.asarray(ids, dtype=np.int64))
        self._added.append(np.asarray(vectors, dtype=np.float32))

    def remove(self, ids: np.ndarray) -> None:
        self._removed.append(np.asarray(ids, dtype=np.int64))

    def pending(self) -> tuple[np.ndarray, np.ndarray]:
        """What this writer adds and has not removed again: (ids, vectors)."""
        ids = np.concatenate([np.zeros(0, dtype=np.int64), *self._added_ids])
        vecs = np.concatenate(self._added) if self._added else np.zeros((0, self.dim), dtype=np.float32)
        if self._removed and ids.size:
            keep = ~np.isin(ids, np.concatenate(self._removed))
            ids, vecs = ids[keep], vecs[keep]
        return ids, vecs

    def write(self, folder: Path, generation: int) -> tuple[list[str], list[str]]:
        """Write this generation's vector files into its folder: (files written, files linked
        unchanged from the previous generation)."""
        removed_now = np.concatenate([np.zeros(0, dtype=np.int64), *self._removed])
        ids, vecs = self.pending()  # added and removed by this writer: never written
        # a segment is opened only to be merged (loading one builds its id map: ~0.3 s per million),
        # and the graph is read (1 GB at a million passages) only to be extended
        segments = _Segments(self.previous)
        try:
            return self._write(folder, generation, segments, np.union1d(self.removed, removed_now).astype(np.int64),
                               ids, vecs)
        finally:
            segments.clear()

    def _write(self, folder, generation, segments, removed, ids, vecs) -> tuple[list[str], list[str]]:
        present = {name: segments.ids(name) for name in self.kept}
        base = next((n for n in self.kept if (self.previous / graph_name(n)).is_file()), None)
        flats = np.concatenate([np.zeros(0, dtype=np.int64), *present.values()])
        in_flats = np.isin(removed, flats)
        in_graph = np.zeros(0, dtype=np.int64)
        if base:  # the base's ids, and removed ids no flat segment holds (the graph kept them);
            # concatenated, not merged: a union would sort a million ids at every write
            in_graph = np.concatenate([present[base], removed[~in_flats]])
        tail = [n for n in self.kept if n != base]
        live = len(flats) - int(in_flats.sum()) + len(ids)
        graph_removed = int(np.isin(removed, in_graph).sum()) if base else 0
        rebuild = base is not None and graph_removed > HNSW_MAX_REMOVED * len(in_graph)
        tail_size = sum(len(present[n]) for n in tail) + len(ids)
        name = f"vectors-{generation:06d}.faiss"
        written: list[str] = []
        if self.force_merge or rebuild or (base is None and live >= HNSW_THRESHOLD) or (
                base is not None and tail_size > TAIL_MAX):
            # everything live in one segment, with a graph from HNSW_THRESHOLD: the base's graph
            # extended by what it lacks (its removed ids stay in it, skipped), or built anew
            merged = self._gather(segments, present, self.kept, removed, ids, vecs)
            self._write_segment(folder / name, *merged)
            written += [name, ids_name(name)]
            extend = base is not None and not (self.force_merge or rebuild)
            if len(merged[0]) >= HNSW_THRESHOLD or extend:
                write_index(self._graph(base if extend else None, merged, in_graph), folder / graph_name(name))
                written.append(graph_name(name))
            removed = removed[np.isin(removed, in_graph)] if extend else np.zeros(0, dtype=np.int64)
            linked: list[str] = []
        else:
            keep = list(self.kept)
            if len(tail) + bool(len(ids)) > MAX_SEGMENTS:  # the small segments merged with what is added
                ids, vecs = self._gather(segments, present, tail, removed, ids, vecs)
                dropped = np.concatenate([present[n] for n in tail])
                removed = removed[~np.isin(removed, dropped) | np.isin(removed, in_graph)]
                keep = [n for n in keep if n not in tail]
            if len(ids):
                self._write_segment(folder / name, ids, vecs)
                written += [name, ids_name(name)]
            linked = [f for n in keep for f in (n, graph_name(n), ids_name(n)) if (self.previous / f).is_file()]
            for f in linked:
                os.link(self.previous / f, folder / f)
            for n in keep:  # a segment from before the id files gets one, once
                if not (folder / ids_name(n)).is_file():
                    with open(folder / ids_name(n), "wb") as fh:
                        np.save(fh, present[n])
                    written.append(ids_name(n))
        if removed.size:
            np.save(folder / REMOVED, removed)
            written.append(REMOVED)
        return written, linked

    def _gather(self, segments, present, names, removed, ids, vecs) -> tuple[np.ndarray, np.ndarray]:
        """The live vectors of some segments, and what this writer adds: (ids, vectors)."""
        faiss = faiss_module()
        all_ids, all_vecs = [], []
        for name in names:
            flat = faiss.downcast_index(segments.open(name).exact.index)
            v = flat.reconstruct_n(0, flat.ntotal) if flat.ntotal else np.zeros((0, self.dim), dtype=np.float32)
            keep = ~np.isin(present[name], removed) if removed.size else slice(None)
            all_ids.append(present[name][keep])
            all_vecs.append(v[keep])
        all_ids.append(ids)
        all_vecs.append(vecs)
        return np.concatenate(all_ids), np.concatenate(all_vecs).astype(np.float32)

    def _write_segment(self, path: Path, ids: np.ndarray, vecs: np.ndarray) -> None:
        faiss = faiss_module()
        index = faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))
        if len(ids):
            index.add_with_ids(vecs, ids)
        write_index(index, path)
        with open(path.parent / ids_name(path.name), "wb") as fh:
            np.save(fh, np.asarray(ids, dtype=np.int64))

    def _graph(self, base: str | None, merged, in_graph: np.ndarray):
        faiss = faiss_module()
        ids, vecs = merged
        if base is not None:
            graph = faiss.read_index(str(self.previous / graph_name(base)))
            new = ~np.isin(ids, in_graph)
            if new.any():
                graph.add_with_ids(vecs[new], ids[new])
            return graph
        graph = faiss.IndexIDMap(new_graph(self.dim))
        graph.train(vecs)
        graph.add_with_ids(vecs, ids)
        return graph


class _Segments:
    """A previous generation's segments for a writer: their ids from the sidecar files (or, for a
    segment from before them, the segment), the segments themselves opened when first asked for."""

    def __init__(self, folder: Path | None):
        self.folder, self._open = folder, {}

    def open(self, name: str) -> Segment:
        if name not in self._open:
            self._open[name] = open_segment(self.folder, name, with_graph=False)
        return self._open[name]

    def ids(self, name: str) -> np.ndarray:
        sidecar = self.folder / ids_name(name)
        if sidecar.is_file():
            return np.load(sidecar)
        return ids_of(self.open(name).exact)

    def clear(self) -> None:
        self._open.clear()


def write_index(index, path: Path) -> None:
    """FAISS writes a file; its I/O failures (a full disk) surface as RuntimeError: say OSError."""
    try:
        faiss_module().write_index(index, str(path))
    except RuntimeError as exc:
        raise OSError(f"writing {path.name}: {str(exc).strip().splitlines()[-1]}") from exc


# The recent passages' vectors (recent.py): one file an index appends to, INDEX/recent-<first id>.f32,
# each record a passage id (int64) and its vector (float32). A generation's manifest names the
# file and how many of its bytes are that generation's (with their crc32): a reader reads no
# further, and a writer cuts away what a killed writer left past them before it appends.
RECORD_HEAD = 8


def recent_name(first: int) -> str:
    return f"recent-{first:012d}.f32"


def read_recent(index_dir: Path, recent: dict, dim: int) -> dict[int, np.ndarray]:
    """A generation's recent vectors by passage id.

    Raises:
        IndexError_: the file is missing, shorter than its manifest says, or damaged.
    """
    data = read_published(index_dir, recent)
    if len(data) % (RECORD_HEAD + 4 * dim):
        raise IndexError_(f"index file {index_dir / recent['file']} is corrupt (not whole records): "
                          "rebuild the index with 'onrecord ingest'")
    records = np.frombuffer(data, dtype=np.dtype([("id", "<i8"), ("v", "<f4", (dim,))]))
    return dict(zip(records["id"].tolist(), records["v"]))


def append_recent(index_dir: Path, recent: dict, ids: np.ndarray, vecs: np.ndarray) -> dict:
    """Append vectors to the recent file after the bytes `recent` names, on disk when this returns;
    what the manifest is to name now."""
    records = np.zeros(len(ids), dtype=np.dtype([("id", "<i8"), ("v", "<f4", (vecs.shape[1],))]))
    records["id"], records["v"] = ids, vecs
    return append_published(index_dir, recent, records.tobytes())
