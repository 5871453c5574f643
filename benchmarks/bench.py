"""onrecord's cost curves on this machine, in one run: ingest, `ask` latency, cold start, memory.

    python benchmarks/bench.py CORPUS_DIR [--queries QUERIES.jsonl] [--sizes 10000 100000 1000000]
                               [--work /tmp/onrecord-bench] [--backend onnx]

(a) ingest: CORPUS_DIR through the real `ingest` path (parse, chunk, embed, SQLite + Tantivy + FAISS,
    publish) into a fresh index, with the time spent inside the embedder's forward passes; then,
    in the same run, the same passage texts embedded again on their own ("raw encode": the model's
    speed, the ingest ceiling) and through sentence-transformers' `model.encode` on torch fp32 (the
    reference path; --no-torch skips it). Ratios: ingest / raw encode.
(b) ask: every query (or a built-in list), one client, warm (model loaded, one pass first), the
    query-embedding cache cleared before each so the model runs every time: p50/p99 and the stage
    breakdown (embed, dense, lexical, rank, present), the dense index kind and its recall@10
    against exact search. At the real index's size and at each --sizes.
    Quote checks: the first sentence of each question's top answer, checked (`onrecord verify`)
    with the query cache cleared: p50/p99.
(c) cold start: a new process from start to its first answer, then the rest of the queries, and
    its RSS (VmHWM: peak) at the end. At each size.

The row at the corpus's own size is REAL (real text, real vectors). The --sizes rows are
SYNTHETIC: the real index is repeated with distinct transcript ids (`-cN`) until it holds N
passages; text is the real text, and a copy's vector is its own real vector plus --mix (0.5)
times another random real passage's, renormalised, so points spread like real ones instead of
piling up as exact duplicates. Synthetic indexes are kept under --work and reused by later runs
(also after small writes changed them by up to 1%: the row gives the index's own count).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from onrecord.chunking import chunk  # noqa: E402
from onrecord.embedding import BACKENDS, DEFAULT_BACKEND, make_embedder, model_path  # noqa: E402
from onrecord.ingest import collect_files, ingest_files, parse_many  # noqa: E402
from onrecord.search import Searcher  # noqa: E402
from onrecord.store import Filters, describe, open_store, open_writer  # noqa: E402
from onrecord.store import vectors as local_vectors  # noqa: E402
from onrecord.verify import QuoteChecker  # noqa: E402

QUESTIONS = [
    "What did NATO say about Article 5?", "Iran nuclear weapons", "What did Kirby say about the hostages?",
    "inflation and gas prices", "What did the President say about Vietnam?", "hurricane recovery FEMA",
]


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


class TimedEmbedder:
    """The embedder, with the seconds spent inside it added up."""

    def __init__(self, inner):
        self.inner, self.seconds = inner, 0.0
        self.name, self.backend, self.dim = inner.name, inner.backend, inner.dim

    def embed(self, texts, progress=None):
        t = time.perf_counter()
        try:
            return self.inner.embed(texts, progress)
        finally:
            self.seconds += time.perf_counter() - t


def bench_ingest(corpus: Path, index: Path, embedder, torch_reference: bool) -> dict:
    timed = TimedEmbedder(embedder)
    t0 = time.perf_counter()
    report = ingest_files([corpus], index, timed)
    total = time.perf_counter() - t0
    # the same passage texts, for the raw runs
    files, _ = collect_files([corpus])
    transcripts, _, _ = parse_many((str(f), f.read_bytes()) for f in files)
    texts = [p.embedding_text() for t in transcripts for p in chunk(t)]
    r0 = time.perf_counter()
    embedder.embed(texts)
    raw = time.perf_counter() - r0
    out = {
        "backend": embedder.backend, "transcripts": len(report.added), "failed": len(report.failed),
        "passages": report.passages, "total_s": total, "embed_s": timed.seconds, "other_s": total - timed.seconds,
        "raw_encode_s": raw, "ingest_over_raw_encode": total / raw,
        "transcripts_per_s": len(report.added) / total, "passages_per_s": report.passages / total,
    }
    tok = Tokenizer.from_file(os.path.join(model_path(embedder.name), "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(256)  # the model's maximum sequence length: tokens it actually reads
    out["tokens"] = sum(len(e.ids) for e in tok.encode_batch(texts))
    out["tokens_per_s"] = out["tokens"] / total
    if torch_reference:
        model = make_embedder(embedder.name, "torch", embedder.threads).load()
        r0 = time.perf_counter()
        model.encode(texts, batch_size=32, normalize_embeddings=True, show_progress_bar=False)
        out["torch_encode_s"] = time.perf_counter() - r0
        out["ingest_over_torch_encode"] = total / out["torch_encode_s"]
    return out


def build_synthetic(source: Path, target: Path, size: int, mix: float = 0.5, seed: int = 0) -> float:
    """Repeat the real index at `source` into `target` until it holds `size` passages."""
    reader = open_store(source)
    per_transcript: dict[str, list] = {}
    vectors: list[np.ndarray] = []
    for p, v in reader.iter_passages():
        per_transcript.setdefault(p.transcript_id, []).append((p.passage(), v))
        vectors.append(v)
    pool = np.stack(vectors)
    rng = np.random.default_rng(seed)
    transcripts = [reader.transcript(i.id) for i in reader.transcripts()]
    info = reader.info
    t0 = time.perf_counter()
    made, copy = 0, 0
    with open_writer(target, info.model, info.dim, info.backend) as w:
        while made < size:
            for t in transcripts:
                ps = per_transcript.get(t.id, [])[: size - made]
                if not ps:
                    continue
                tid = f"{t.id}-c{copy}"
                t2 = type(t)(**{**t.__dict__, "id": tid, "file": f"c{copy}/{t.file}"})
                passages = [type(p)(**{**p.__dict__, "transcript_id": tid}) for p, _ in ps]
                vecs = np.stack([v for _, v in ps])
                if copy:
                    vecs = vecs + mix * pool[rng.integers(0, len(pool), len(vecs))]
                    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
                w.add(t2, passages, vecs)
                made += len(ps)
                if made >= size:
                    break
            copy += 1
        w.commit()
    reader.close()
    return time.perf_counter() - t0


def bench_ask(index: Path, embedder, questions: list[str], rounds: int) -> dict:
    reader = open_store(index)
    searcher = Searcher(reader, embedder)
    for q in questions:  # warm-up: model loaded, pages touched, as in a running server
        searcher.search(q)
    totals, stages = [], {}
    for _ in range(rounds):
        for q in questions:
            embedder._query_cache.clear()  # the real query embedding, not the cache
            t = time.perf_counter()
            r = searcher.search(q)
            totals.append((time.perf_counter() - t) * 1e3)
            for k, v in r.timings_ms.items():
                stages.setdefault(k, []).append(v)
    quotes = [q for q in (first_sentence(searcher.search(q, top_k=1)) for q in questions) if q]
    checker, verify_ms = QuoteChecker(searcher), []
    for quote in quotes:
        embedder._query_cache.clear()
        t = time.perf_counter()
        checker.verify(quote)
        verify_ms.append((time.perf_counter() - t) * 1e3)
    out = {
        "queries": len(totals), "p50_ms": pct(totals, 50), "p99_ms": pct(totals, 99),
        "verify_p50_ms": pct(verify_ms, 50) if verify_ms else None, "verify_p99_ms": pct(verify_ms, 99) if verify_ms else None,
        "stages_p50_ms": {k: round(pct(v, 50), 2) for k, v in stages.items()},
        "stages_p99_ms": {k: round(pct(v, 99), 2) for k, v in stages.items()},
        "dense_index": getattr(getattr(reader, "vectors", None), "kind", reader.info.store),
        "recall_at_10": dense_recall(reader, embedder, questions),
    }
    reader.close()
    return out


def load_questions(path: Path | None) -> list[str]:
    """The 'query' of each line of a JSONL file, or the built-in list."""
    if path is None:
        return list(QUESTIONS)
    return [json.loads(x)["query"] for x in path.read_text().splitlines() if x.strip()]


def first_sentence(result) -> str | None:
    """A quote to check: the first sentence of 8 words or more of the top answer."""
    for a in result.answers[:1]:
        for s in a.text.replace("?", ".").replace("!", ".").split(". "):
            if len(s.split()) >= 8:
                return s.strip()
    return None


def dense_recall(reader, embedder, questions: list[str]) -> float | None:
    """recall@10 of the store's dense search (flat or graph) against exact search, where the
    store offers exact search (the local store)."""
    if not hasattr(reader, "exact_search"):
        return None
    hits = 0
    for q in questions:
        qv = embedder.embed_query(q)
        hits += len(set(reader.dense(qv, Filters(), 10)) & set(reader.exact_search(qv, 10)))
    return hits / (10 * len(questions))


COLD = """
import json, sys, time
from onrecord.config import Settings
from onrecord.service import Onrecord
app = Onrecord(Settings(index=sys.argv[1]))
questions = json.loads(sys.argv[2])
first = app.ask(questions[0])
at = time.time()
for q in questions[1:]:
    app.ask(q)
status = dict(line.split(":", 1) for line in open("/proc/self/status"))
print(json.dumps({"first_answer_at": at, "answers": len(first.answers), "rss_mb": int(status["VmRSS"].split()[0]) / 1024,
                  "peak_rss_mb": int(status["VmHWM"].split()[0]) / 1024}))
"""


def cold_start(index: Path, questions: list[str]) -> dict:
    """A new process: seconds from its start to the first answer, and its memory after all the
    questions (VmRSS now, VmHWM peak: ru_maxrss would count this forking parent)."""
    t0 = time.time()
    out = subprocess.run([sys.executable, "-c", COLD, str(index), json.dumps(questions)],
                         capture_output=True, text=True, check=True)
    row = json.loads(out.stdout.strip().splitlines()[-1])
    row["first_answer_s"] = row.pop("first_answer_at") - t0  # from before the interpreter starts
    return row


def row_line(row: dict) -> str:
    a = row["ask"]
    return (f"{row['passages']:>9,} {'synthetic' if row['synthetic'] else 'real':<9} {a['p50_ms']:7.1f} {a['p99_ms']:7.1f}   "
            + " ".join(f"{a['stages_p50_ms'].get(k, 0):6.2f}" for k in ("embed", "dense", "lexical", "rank", "present"))
            + f"   {a['dense_index']:<13} {a['recall_at_10'] if a['recall_at_10'] is not None else float('nan'):.4f} {row['cold']['first_answer_s']:6.2f} "
              f"{row['cold']['rss_mb']:7.0f} {row['cold']['peak_rss_mb']:7.0f}   "
              f"{a['verify_p50_ms'] or float('nan'):6.1f} {a['verify_p99_ms'] or float('nan'):6.1f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--queries", type=Path, help="JSONL with a 'query' per line (default: a built-in list)")
    ap.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000, 1_000_000], help="synthetic index sizes")
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "onrecord-bench")
    ap.add_argument("--backend", choices=BACKENDS, default=DEFAULT_BACKEND)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=1, help="passes over the queries per size")
    ap.add_argument("--mix", type=float, default=0.5, help="synthetic vectors: own + MIX * another real passage's")
    ap.add_argument("--no-torch", action="store_true", help="skip the torch model.encode reference")
    ap.add_argument("--hnsw-threshold", type=int, default=local_vectors.HNSW_THRESHOLD,
                    help="passages above which the graph index is built (to exercise it at small sizes)")
    args = ap.parse_args(argv)
    local_vectors.HNSW_THRESHOLD = args.hnsw_threshold
    questions = load_questions(args.queries)
    embedder = make_embedder(backend=args.backend, threads=args.threads)
    embedder.load()
    args.work.mkdir(parents=True, exist_ok=True)
    real = args.work / f"real-{args.backend}"
    if real.exists():
        shutil.rmtree(real)
    i = bench_ingest(args.corpus, real, embedder, not args.no_torch)
    print(f"(a) ingest [{i['backend']}]: {i['transcripts']} transcripts, {i['passages']:,} passages, {i['tokens']:,} tokens "
          f"in {i['total_s']:.1f} s: {i['transcripts_per_s']:.2f} transcripts/s, {i['passages_per_s']:.1f} passages/s, "
          f"{i['tokens_per_s']:,.0f} tokens/s")
    print(f"    inside the embedder {i['embed_s']:.1f} s, everything else (parse, chunk, repeats, SQLite, Tantivy, FAISS, publish) "
          f"{i['other_s']:.2f} s = {i['other_s'] / i['total_s']:.1%} of the wall time")
    print(f"    raw encode of the same passages [{i['backend']}] {i['raw_encode_s']:.1f} s: ingest = "
          f"{i['ingest_over_raw_encode']:.2f}x raw encode")
    if "torch_encode_s" in i:
        print(f"    sentence-transformers model.encode [torch fp32] {i['torch_encode_s']:.1f} s: ingest = "
              f"{i['ingest_over_torch_encode']:.2f}x, raw [{i['backend']}] = {i['torch_encode_s'] / i['raw_encode_s']:.2f}x faster")
    rows = []
    targets = [(describe(real).passages, real, False)]
    for size in args.sizes:
        target = args.work / f"n{size}-{args.backend}-mix{args.mix:g}"
        info = describe(target) if target.exists() else None
        build_s = None
        if info is None or abs(info.passages - size) > size // 100:  # (one a few small writes changed: reused)
            if target.exists():
                shutil.rmtree(target.resolve())
            build_s = build_synthetic(real, target, size, args.mix)
        targets.append((describe(target).passages, target, True))
        rows.append({"build_s": build_s})
    rows = [{"build_s": None}] + rows
    print("(b, c) ask: warm, one client, ms; cold start: a new process to its first answer, s; RSS after the queries, MB")
    print(f"{'passages':>9} {'text':<9} {'p50':>7} {'p99':>7}   {'embed':>6} {'dense':>6} {'lexical':>7}{'rank':>7} "
          f"{'present':>7}   {'dense index':<13} {'rec@10':>6} {'cold':>6} {'RSS':>7} {'peakRSS':>7}   "
          f"{'verify p50':>6} {'p99':>6}")
    for (n, target, synthetic), row in zip(targets, rows):
        row.update({"passages": n, "synthetic": synthetic, "index": str(target)})
        row["ask"] = bench_ask(target, embedder, questions, args.rounds)
        row["cold"] = cold_start(target, questions)
        print(row_line(row), flush=True)
    print(json.dumps({"ingest": i, "sizes": rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
