"""Ingest throughput and warm `ask` latency, measured in one run on this machine.

    python benchmarks/bench.py CORPUS_DIR [--queries QUERIES.jsonl] [--rounds 3]

(a) ingest: the corpus into a fresh temporary index, timed by stage (parse + chunk, embed, store),
    and the raw `model.encode` of the same passage texts in the same run, as a ratio;
(b) ask: every query (or a built-in list) asked `--rounds` times after one warm-up pass, one
    client, p50/p99 and the per-stage breakdown (query embedding, dense, lexical, fusion,
    presentation).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from onrecord.chunking import chunk
from onrecord.embedding import SentenceTransformerEmbedder
from onrecord.ingest import collect_files, parse_many
from onrecord.search import Searcher
from onrecord.store import IndexReader, IndexWriter

QUESTIONS = [
    "What did NATO say about Article 5?", "Iran nuclear weapons", "What did Kirby say about the hostages?",
    "inflation and gas prices", "What did the President say about Vietnam?", "hurricane recovery FEMA",
]


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def bench_ingest(corpus: Path, index: Path, embedder: SentenceTransformerEmbedder) -> dict:
    t0 = time.perf_counter()
    files, _ = collect_files([corpus])
    transcripts, failed, _ = parse_many((str(f), f.read_bytes()) for f in files)
    passages = [chunk(t) for t in transcripts]
    texts = [p.embedding_text() for ps in passages for p in ps]
    t1 = time.perf_counter()
    vectors = embedder.embed(texts)
    t2 = time.perf_counter()
    with IndexWriter(index, embedder.name, embedder.dim) as w:
        at = 0
        for t, ps in zip(transcripts, passages):
            w.add(t, ps, vectors[at : at + len(ps)])
            at += len(ps)
        w.commit()
    t3 = time.perf_counter()
    # the model alone on the same texts, same batch size, length-sorted as sentence-transformers does
    model = embedder.load()
    r0 = time.perf_counter()
    model.encode(texts, batch_size=embedder.batch_size, normalize_embeddings=True, show_progress_bar=False)
    raw = time.perf_counter() - r0
    tokens = sum(len(model.tokenizer(t, truncation=True, max_length=model.max_seq_length)["input_ids"]) for t in texts)
    total = t3 - t0
    return {
        "transcripts": len(transcripts), "failed": len(failed), "passages": len(texts), "tokens": tokens,
        "parse_chunk_s": t1 - t0, "embed_s": t2 - t1, "store_s": t3 - t2, "total_s": total,
        "raw_encode_s": raw, "ingest_over_raw_encode": total / raw,
        "transcripts_per_s": len(transcripts) / total, "passages_per_s": len(texts) / total,
        "tokens_per_s": tokens / total,
    }


def bench_ask(index: Path, embedder, questions: list[str], rounds: int) -> dict:
    searcher = Searcher(IndexReader(index), embedder)
    for q in questions:  # warm-up: model loaded, caches filled as in a running server
        searcher.search(q, top_k=5)
    totals, stages = [], {}
    for _ in range(rounds):
        for q in questions:
            embedder._query_cache.clear()  # measure the real query embedding, not the cache
            t = time.perf_counter()
            r = searcher.search(q, top_k=5)
            totals.append((time.perf_counter() - t) * 1e3)
            for k, v in r.timings_ms.items():
                stages.setdefault(k, []).append(v)
    return {
        "queries": len(totals), "p50_ms": pct(totals, 50), "p99_ms": pct(totals, 99),
        "stages_p50_ms": {k: round(pct(v, 50), 2) for k, v in stages.items()},
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--queries", type=Path)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    questions = QUESTIONS
    if args.queries:
        questions = [json.loads(line)["query"] for line in args.queries.read_text().splitlines() if line.strip()]
    embedder = SentenceTransformerEmbedder(threads=args.threads)
    embedder.load()
    with tempfile.TemporaryDirectory() as tmp:
        ingest = bench_ingest(args.corpus, Path(tmp) / "index", embedder)
        ask = bench_ask(Path(tmp) / "index", embedder, questions, args.rounds)
    i, a = ingest, ask
    print(f"ingest: {i['transcripts']} transcripts, {i['passages']} passages, {i['tokens']} tokens in {i['total_s']:.1f} s "
          f"({i['transcripts_per_s']:.2f} transcripts/s, {i['passages_per_s']:.1f} passages/s, {i['tokens_per_s']:.0f} tokens/s)")
    print(f"        parse+chunk {i['parse_chunk_s']:.2f} s, embed {i['embed_s']:.1f} s, store {i['store_s']:.2f} s; "
          f"raw model.encode of the same texts {i['raw_encode_s']:.1f} s: ingest = {i['ingest_over_raw_encode']:.2f}x raw encode")
    print(f"ask:    {a['queries']} warm queries, one client: p50 {a['p50_ms']:.1f} ms, p99 {a['p99_ms']:.1f} ms; "
          f"stage p50 (ms): {a['stages_p50_ms']}")
    print(json.dumps({"ingest": ingest, "ask": ask}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
