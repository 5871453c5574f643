"""A generation's vectors: exact FAISS vectors (the source of truth) and, on large indexes, an HNSW graph.

    gen-N/vectors.faiss              exact flat vectors, FAISS ids = passage row ids
    gen-N/vectors.hnsw               the graph (from HNSW_THRESHOLD passages)
    gen-N/vectors.hnsw.removed.npy   ids removed since the graph was built: searches skip them
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import IndexError_

VECTORS = "vectors.faiss"
HNSW = "vectors.hnsw"
REMOVED = "vectors.hnsw.removed.npy"
# From this many passages a graph index (HNSW, fp16 vectors) answers dense queries; exact flat
# search stays the source of truth. Measured (benchmarks/dense_threshold.py, README): one exact
# query costs ~3 ms at 50k, ~7 ms at 100k, ~14 ms at 200k on 2 cores, the graph ~1 ms with
# recall@10 >= 0.998, but building it costs ~25 s per 100k passages (once; later ingests add to
# it). Below 100k exact search is cheap enough to need no graph.
HNSW_THRESHOLD = 100_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 200  # 40 (FAISS's default) gave recall@10 0.96 at 1M; 200: 0.995 at efSearch 512
HNSW_EF_SEARCH = 512
# A graph cannot drop a vector, and rebuilding it costs ~25 s per 100k passages: a removal only
# records the ids (searches skip them) until they are this share of the graph, then it is rebuilt.
HNSW_MAX_REMOVED = 0.10


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


def read_removed(data: Path) -> np.ndarray:
    """The ids a generation's graph still holds but that were removed (see HNSW_MAX_REMOVED)."""
    return np.load(data / REMOVED) if (data / REMOVED).is_file() else np.zeros(0, dtype=np.int64)


class Vectors:
    """One generation's vectors, read-only: mapped, not read, so opening is instant.

    Raises (on open):
        IndexError_: a file is missing, corrupt, or does not hold one vector per passage.
    """

    def __init__(self, data: Path, dim: int, n_passages: int):
        faiss = faiss_module()
        path = data / VECTORS
        if not path.is_file():
            raise IndexError_(f"index file {path} is missing: rebuild the index with 'onrecord ingest'")
        try:
            self.exact = faiss.read_index(str(path), faiss.IO_FLAG_MMAP_IFC)
        except Exception as exc:
            raise IndexError_(f"index file {path} is corrupt ({exc}): rebuild the index with 'onrecord ingest'") from None
        graph, removed = None, np.zeros(0, dtype=np.int64)
        if (data / HNSW).is_file():
            try:
                graph = faiss.read_index(str(data / HNSW))
                faiss.downcast_index(graph.index).hnsw.efSearch = HNSW_EF_SEARCH
                removed = read_removed(data)
            except Exception as exc:
                raise IndexError_(f"index file {data / HNSW} is corrupt ({exc}): rebuild the index with 'onrecord ingest'") from None
            if graph.ntotal - len(removed) != n_passages:
                raise IndexError_(f"index file {data / HNSW} holds {graph.ntotal - len(removed)} vectors for {n_passages} "
                                  "passages: rebuild the index with 'onrecord ingest'")
        if self.exact.ntotal != n_passages or self.exact.d != dim:
            raise IndexError_(
                f"index file {path} holds {self.exact.ntotal} vectors of dimension {self.exact.d}, the database "
                f"{n_passages} passages of dimension {dim}: rebuild the index with 'onrecord ingest'"
            )
        self.graph = graph  # what an unfiltered search asks when there is one
        self.params = None  # with removed ids: the parameters that make the graph skip them
        if len(removed):
            self._skip = (faiss.IDSelectorBatch(removed),)  # the selectors must outlive every search
            self._skip += (faiss.IDSelectorNot(self._skip[0]),)
            self.params = faiss.SearchParametersHNSW(sel=self._skip[1], efSearch=HNSW_EF_SEARCH)

    @property
    def kind(self) -> str:
        """The dense index unfiltered searches use: "hnsw" or "flat"."""
        return "hnsw" if self.graph is not None else "flat"

    def search(self, query: np.ndarray, n: int, allowed: np.ndarray | None = None) -> list[int]:
        """The n nearest ids: by the graph (skipping removed ids) when there is one; among `allowed`
        ids by the exact vectors (a filtered graph search can miss)."""
        faiss = faiss_module()
        index, params = (self.graph, self.params) if self.graph is not None else (self.exact, None)
        if allowed is not None:
            if len(allowed) == 0:
                return []
            index, params = self.exact, faiss.SearchParameters(sel=faiss.IDSelectorBatch(allowed))
        if index.ntotal == 0:
            return []
        _, ids = index.search(np.asarray(query, dtype=np.float32).reshape(1, -1), min(n, index.ntotal), params=params)
        return [int(i) for i in ids[0] if i >= 0]

    def exact_search(self, query: np.ndarray, k: int) -> list[int]:
        """Exact top-k ids (to measure the graph against)."""
        _, ids = self.exact.search(np.asarray(query, dtype=np.float32).reshape(1, -1), k)
        return [int(i) for i in ids[0] if i >= 0]

    def close(self) -> None:
        self.exact = self.graph = self.params = None  # unmaps the files


class VectorsWriter:
    """A new generation's vectors: the previous generation's plus additions, minus removals."""

    def __init__(self, dim: int, previous: Path | None):
        faiss = faiss_module()
        self.dim, self.previous = dim, previous
        self.exact = faiss.read_index(str(previous / VECTORS)) if previous else faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        self._added_ids: list[np.ndarray] = []
        self._added: list[np.ndarray] = []
        self._removed: list[np.ndarray] = []

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        self.exact.add_with_ids(vectors, ids)
        self._added_ids.append(ids)
        self._added.append(vectors)

    def remove(self, ids: np.ndarray) -> None:
        self.exact.remove_ids(ids)
        self._removed.append(ids)

    def write(self, folder: Path) -> list[str]:
        """Write the files into a generation folder; the names written."""
        write_index(self.exact, folder / VECTORS)
        written = [VECTORS]
        if self.exact.ntotal >= HNSW_THRESHOLD:
            graph, removed = self._graph()
            write_index(graph, folder / HNSW)
            written.append(HNSW)
            if len(removed):
                np.save(folder / REMOVED, removed)
                written.append(REMOVED)
        return written

    def _graph(self):
        """The HNSW index for this generation and the ids it holds that were removed: the previous
        graph plus what was added, its removed ids plus this writer's; built anew from the exact
        vectors the first time over the threshold, or once removed ids pass HNSW_MAX_REMOVED."""
        faiss = faiss_module()
        if self.previous is not None and (self.previous / HNSW).is_file():
            graph = faiss.read_index(str(self.previous / HNSW))
            removed = np.concatenate([read_removed(self.previous), *self._removed]).astype(np.int64)
            if len(removed) <= HNSW_MAX_REMOVED * (graph.ntotal + sum(len(a) for a in self._added_ids)):
                if self._added_ids:
                    graph.add_with_ids(np.concatenate(self._added), np.concatenate(self._added_ids))
                return graph, removed
        flat = faiss.downcast_index(self.exact.index)
        vectors = flat.reconstruct_n(0, flat.ntotal)
        ids = faiss.vector_to_array(self.exact.id_map).astype(np.int64)
        graph = faiss.IndexIDMap(new_graph(self.dim))
        graph.train(vectors)
        graph.add_with_ids(vectors, ids)
        return graph, np.zeros(0, dtype=np.int64)


def write_index(index, path: Path) -> None:
    """FAISS writes a file; its I/O failures (a full disk) surface as RuntimeError: say OSError."""
    try:
        faiss_module().write_index(index, str(path))
    except RuntimeError as exc:
        raise OSError(f"writing {path.name}: {str(exc).strip().splitlines()[-1]}") from exc
