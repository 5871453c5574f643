"""Which embedding backend: speed and answer quality of torch fp32, ONNX fp32 and ONNX int8.

    python benchmarks/backends.py ../shared/data/corpus ../shared/data/queries.jsonl [--backends torch onnx onnx-int8]

For each backend, in one run on this machine: the corpus ingested into a fresh index through the
real ingest path (wall time and passages/s), the development-set metrics of that index (R@1,
R@5, MRR@10, nDCG@10 per kind, as `onrecord eval` and score.py compute them), one question's
embedding time (p50 over the development questions, cache off), and the cosine of its passage
vectors to the first backend's (same model: 1.0 means the same vectors).
The adoption rule (issue 5): a faster backend becomes the default only if it is >= 1.5x faster
than torch fp32 and no development-set metric drops by 1 point or more.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from onrecord.embedding import BACKENDS, make_embedder  # noqa: E402
from onrecord.evaluation import evaluate, load_queries  # noqa: E402
from onrecord.ingest import ingest_files  # noqa: E402
from onrecord.search import Searcher  # noqa: E402
from onrecord.store import open_store  # noqa: E402

METRICS = ("R@1", "R@5", "MRR@10", "nDCG@10")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", type=Path)
    ap.add_argument("queries", type=Path)
    ap.add_argument("--backends", nargs="+", choices=BACKENDS, default=["torch", "onnx", "onnx-int8"])
    args = ap.parse_args(argv)
    queries = load_queries(args.queries)
    rows, first_vectors = [], None
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends:
            embedder = make_embedder(backend=backend, threads=2)
            embedder.load()
            index = Path(tmp) / backend
            t = time.perf_counter()
            report = ingest_files([args.corpus], index, embedder)
            took = time.perf_counter() - t
            reader = open_store(index)
            searcher = Searcher(reader, embedder)
            summary, _ = evaluate(queries, lambda q, s=searcher: [a.text for a in s.search(q, top_k=10).answers])
            times = []
            for q in queries:
                t = time.perf_counter()
                embedder.embed([q["query"]])
                times.append((time.perf_counter() - t) * 1e3)
            vectors = np.stack([v for _, v in reader.iter_passages()])
            cos = (vectors * first_vectors).sum(1) if first_vectors is not None else np.ones(len(vectors))
            first_vectors = vectors if first_vectors is None else first_vectors
            rows.append((backend, report.passages, took, summary, float(np.median(times)), cos))
            reader.close()
            print(f"{backend}: {report.passages} passages in {took:.1f} s", file=sys.stderr, flush=True)
    base_backend, _, base_s, base, _, _ = rows[0]
    kinds = [k for k in base if k != "overall"]
    print(f"{'backend':<10} {'ingest s':>8} {'pass/s':>7} {'speed':>6} {'1 question':>10} {'cos min/mean':>14}   "
          + "   ".join(f"{k} {' '.join(METRICS)}" for k in kinds))
    for backend, n, took, summary, q_ms, cos in rows:
        metrics = "   ".join(" ".join(f"{summary[k][m]:.3f}" for m in METRICS) for k in kinds)
        worst = min((summary[k][m] - base[k][m]) * 100 for k in kinds for m in METRICS)
        print(f"{backend:<10} {took:8.1f} {n / took:7.1f} {base_s / took:5.2f}x {q_ms:8.1f}ms {cos.min():6.4f}/{cos.mean():.5f}   "
              f"{metrics}   (largest drop vs {base_backend}: {max(0.0, -worst):.1f} points)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
