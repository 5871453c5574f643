"""A large index of real embeddings of real text: the corpus repeated, each copy changed a little
and embedded again, so that HNSW recall and `ask` latency are measured on vectors a model made.

    python benchmarks/real_vectors.py ../shared/data/corpus --copies 18 --queries ../shared/data/queries.jsonl
                                      [--work /tmp/onrecord-real]

Copy 0 is the corpus as it is; in copy k (k >= 1) every paragraph of every file (after its
front matter) ends with the marker " [k]" (the recorded text change), and the copy's files go through the real ingest path
(parse, chunk, embed with the index's model, repeats, publish) in batches, so every passage's
vector is the model's embedding of its own text. The repeats near each other in meaning are what
an archive of briefings that repeat themselves looks like to the graph. Then, as bench.py (b)
and (c) do: ask p50/p99 and its stages, recall@10 of the dense search (HNSW above 100,000
passages) against exact search, and a new process's first answer and memory. The index is kept
in --work and reused.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench import bench_ask, cold_start, load_questions  # noqa: E402  (this folder)

from onrecord.embedding import DEFAULT_BACKEND, make_embedder  # noqa: E402
from onrecord.ingest import ingest_bytes  # noqa: E402
from onrecord.store import describe  # noqa: E402
from onrecord.transcripts import SUFFIXES  # noqa: E402

_PARAGRAPH_END = re.compile(rb"(?<=\S)(\r?\n\r?\n)")


_FRONT_MATTER = re.compile(rb"\A---\r?\n.*?\n---\r?\n", re.S)


def changed(data: bytes, k: int) -> bytes:
    """Copy k of a file: every paragraph after its front matter ends with " [k]" (copy 0 unchanged)."""
    if k == 0:
        return data
    head = _FRONT_MATTER.match(data)
    cut = head.end() if head else 0
    body = _PARAGRAPH_END.sub(lambda m: f" [{k}]".encode() + m.group(1), data[cut:])
    return data[:cut] + body.rstrip() + f" [{k}]\n".encode()


def build(corpus: Path, index: Path, copies: int, embedder) -> float:
    files = sorted(p for p in corpus.rglob("*") if p.suffix.lower() in SUFFIXES)
    t0 = time.perf_counter()
    for k in range(copies):
        items = [(f"c{k}-{p.name}", changed(p.read_bytes(), k)) for p in files]
        report = ingest_bytes(items, index, embedder)
        print(f"  copy {k}: {len(report.added)} transcripts, {report.passages} passages, {len(report.failed)} failed "
              f"({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--copies", type=int, default=18)
    ap.add_argument("--queries", type=Path)
    ap.add_argument("--work", type=Path, default=Path("/tmp/onrecord-real"))
    ap.add_argument("--backend", default=DEFAULT_BACKEND)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    index = args.work / f"copies{args.copies}-{args.backend}"
    embedder = make_embedder(backend=args.backend)
    info = describe(index)
    build_s = None
    if info is None:
        build_s = build(args.corpus, index, args.copies, embedder)
        info = describe(index)
    questions = load_questions(args.queries)
    ask = bench_ask(index, embedder, questions, 1)
    cold = cold_start(index, questions)
    row = {"passages": info.passages, "copies": args.copies, "build_s": build_s, "ask": ask, "cold": cold}
    print(f"{info.passages:,} real passages ({args.copies} copies, built in "
          f"{'an earlier run' if build_s is None else f'{build_s:.0f} s'}): ask p50 {ask['p50_ms']:.1f} ms, "
          f"p99 {ask['p99_ms']:.1f} ms; stages p50 " + ", ".join(f"{k} {v:.2f}" for k, v in ask["stages_p50_ms"].items())
          + f"; dense {ask['dense_index']}, recall@10 {ask['recall_at_10']:.4f}; first answer {cold['first_answer_s']:.2f} s, "
          f"RSS {cold['rss_mb']:.0f} MB")
    if args.json:
        args.json.write_text(json.dumps(row, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
