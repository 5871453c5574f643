"""The two stores side by side in one run: the same index copied into Milvus Lite, the same questions.

    python benchmarks/stores.py --index INDEX QUERIES.jsonl [MORE.jsonl ...]
                                [--milvus milvus-lite:///tmp/onrecord-stores/onrecord.db] [--rounds 1]

INDEX is a local index (e.g. `onrecord ingest ../shared/data/corpus --index /tmp/dev`). Its
transcripts, passages and vectors are copied through the store contract into the Milvus location
(rebuilt when its passage count differs), so the two differ only in the store: dense search (FAISS
flat or HNSW vs Milvus HNSW), BM25 (SQLite FTS5 vs Milvus' BM25 function) and filters. Prints, per
query file and store, R@1, R@5, MRR@10 and nDCG@10 (the product's relevance rule, `onrecord eval`),
the largest difference, and `ask` latency p50/p99 with its stages. Milvus Lite is for correctness:
its latency is not a Milvus cluster's.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench import pct  # noqa: E402  (this folder: the percentile the other benchmarks report)

from onrecord.embedding import make_embedder  # noqa: E402
from onrecord.evaluation import METRICS, evaluate, load_queries  # noqa: E402
from onrecord.search import Searcher  # noqa: E402
from onrecord.store import describe, open_store, open_writer  # noqa: E402


def copy_index(source: str, target: str) -> float:
    """Every transcript of `source` with its passages and vectors, into `target`; seconds taken."""
    reader = open_store(source)
    passages: dict[str, list] = {}
    for p, v in reader.iter_passages():
        passages.setdefault(p.transcript_id, []).append((p.passage(), v))
    t0 = time.perf_counter()
    info = reader.info
    with open_writer(target, info.model, info.dim, info.backend) as w:
        for t in reader.transcripts():
            rows = passages.get(t.id, [])
            if rows:
                w.add(reader.transcript(t.id), [p for p, _ in rows], np.stack([v for _, v in rows]))
        w.commit()
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", required=True, help="a local index")
    ap.add_argument("queries", type=Path, nargs="+")
    ap.add_argument("--milvus", default="milvus-lite:///tmp/onrecord-stores/onrecord.db")
    args = ap.parse_args(argv)
    source = describe(args.index)
    target = describe(args.milvus)
    if target is None or target.passages != source.passages:
        if target is not None:
            raise SystemExit(f"{args.milvus} holds another index ({target.passages} passages): give a new location")
        took = copy_index(args.index, args.milvus)
        print(f"copied {source.transcripts} transcripts, {source.passages:,} passages into {args.milvus} in {took:.1f} s",
              file=sys.stderr)
    embedder = make_embedder(source.model, source.backend)
    results: dict[str, dict] = {}
    for location in (args.index, args.milvus):
        store = open_store(location)
        searcher = Searcher(store, embedder)
        totals, stages = [], {}

        def answer(q: str, s=searcher, totals=totals, stages=stages) -> list[str]:
            t = time.perf_counter()
            r = s.search(q, top_k=10)
            totals.append((time.perf_counter() - t) * 1e3)
            for k, v in r.timings_ms.items():
                stages.setdefault(k, []).append(v)
            return [a.text for a in r.answers]

        per_file = {f.name: evaluate(load_queries(f), answer)[0] for f in args.queries}
        results[store.info.store] = {"metrics": per_file, "p50": pct(totals, 50), "p99": pct(totals, 99),
                                     "stages": {k: pct(v, 50) for k, v in stages.items()}}
    names = list(results)
    print(f"{'queries':<22} {'kind':<10} {'store':<12} " + " ".join(f"{m:>8}" for m in METRICS))
    worst, where = 0.0, "-"
    for f in args.queries:
        kinds = [k for k in results[names[0]]["metrics"][f.name] if k != "overall"] + ["overall"]
        for kind in kinds:
            for name in names:
                m = results[name]["metrics"][f.name].get(kind)
                if m:
                    print(f"{f.name:<22} {kind:<10} {name:<12} " + " ".join(f"{m[x]:8.3f}" for x in METRICS))
            a, b = (results[n]["metrics"][f.name].get(kind) for n in names)
            if a and b:
                for x in METRICS:
                    if abs(a[x] - b[x]) > worst:
                        worst, where = abs(a[x] - b[x]), f"{x} of {f.name} {kind}"
    print(f"largest difference between the stores: {worst:.4f} ({where})")
    for name in names:
        r = results[name]
        print(f"{name:<12} ask p50 {r['p50']:.1f} ms p99 {r['p99']:.1f} ms; stages p50 "
              + ", ".join(f"{k} {v:.1f}" for k, v in r["stages"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
