"""Where exact dense search stops being cheap: flat vs. HNSW by index size.

    python benchmarks/dense_threshold.py --from-index INDEX [--sizes 50000 100000 200000 400000 1000000]

For each size: one-question latency (p50/p99, k=100 as search asks) of exact flat search and of
the HNSW graph onrecord builds (store.vectors.new_graph: fp16, its M, efConstruction and efSearch), the
graph's build time and its recall@10 against exact search. Vectors are SYNTHETIC above the real
index's size: its real vectors, then copies blended with another random real vector (own + 0.5 x
other, renormalised); questions are the development questions, embedded with the index's backend.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import faiss  # noqa: E402

from onrecord.embedding import make_embedder  # noqa: E402
from onrecord.store import open_store  # noqa: E402
from onrecord.store.vectors import new_graph  # noqa: E402

DEFAULT_QUESTIONS = ["What did NATO say about Article 5?", "Iran nuclear weapons", "hostages in Gaza"]


def timed_searches(index, queries: np.ndarray, k: int = 100) -> list[float]:
    out = []
    for q in queries:
        t = time.perf_counter()
        index.search(q[None], k)
        out.append((time.perf_counter() - t) * 1e3)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--from-index", type=Path, required=True)
    ap.add_argument("--sizes", type=int, nargs="+", default=[50_000, 100_000, 200_000, 400_000, 1_000_000])
    ap.add_argument("--queries", type=Path)
    args = ap.parse_args()
    reader = open_store(args.from_index)
    pool = np.stack([v for _, v in reader.iter_passages()])
    questions = DEFAULT_QUESTIONS
    if args.queries:
        questions = [json.loads(x)["query"] for x in args.queries.read_text().splitlines() if x.strip()]
    embedder = make_embedder(reader.info.model, reader.info.backend)
    queries = np.stack([embedder.embed_query(q) for q in questions])
    rng = np.random.default_rng(0)
    print(f"{'passages':>9} {'flat p50':>9} {'flat p99':>9} {'graph p50':>9} {'graph p99':>9} {'build s':>8} {'recall@10':>9}")
    for n in args.sizes:
        reps = -(-n // len(pool))
        x = np.concatenate([pool] + [pool + 0.5 * pool[rng.integers(0, len(pool), len(pool))] for _ in range(reps - 1)])[:n]
        x = np.ascontiguousarray(x / np.linalg.norm(x, axis=1, keepdims=True), dtype=np.float32)
        flat = faiss.IndexFlatIP(x.shape[1])
        flat.add(x)
        flat_ms = sorted(timed_searches(flat, queries))
        _, truth = flat.search(queries, 10)
        del flat
        graph = new_graph(x.shape[1])
        t = time.perf_counter()
        graph.train(x)
        graph.add(x)
        build = time.perf_counter() - t
        graph_ms = sorted(timed_searches(graph, queries))
        _, got = graph.search(queries, 10)
        recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(got, truth)])
        p = lambda xs, q: xs[min(len(xs) - 1, int(q * len(xs)))]  # noqa: E731
        print(f"{n:>9,} {p(flat_ms, .5):9.2f} {p(flat_ms, .99):9.2f} {p(graph_ms, .5):9.2f} {p(graph_ms, .99):9.2f} "
              f"{build:8.0f} {recall:9.4f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
