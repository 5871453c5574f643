"""How `ask` latency, cold start and memory grow with the index: 10k, 100k, 1M passages.

    python benchmarks/scale.py --from-index /tmp/dev --sizes 10000 100000 1000000 [--work /tmp/scale]

Larger indexes are SYNTHETIC: the real development index (real text, real vectors) is repeated
with distinct transcript ids until it holds N passages; each copy's vectors get a small random
jitter (sigma 0.01, renormalised) so that no two vectors are identical (approximate indexes
degrade on exact duplicates), and its text is the same real text. With --mix M a copy's vector is
instead its own plus M times another random real passage's, renormalised: points spread like
the real ones rather than in tight clusters of ~N/5,739 near-duplicates (the clusters are a worst
case for graph indexes). Only the 5,739-passage development index itself is real. Queries are
the development questions (real).

Prints, per size: build time, ask p50/p99 (warm, one client) with the per-stage breakdown, the
dense index kind and its recall@10 against exact search, cold start to first answer, and RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from onrecord.embedding import SentenceTransformerEmbedder
from onrecord.models import Passage
from onrecord.search import Searcher
from onrecord.store import IndexReader, IndexWriter, read_manifest, transcript_from_row

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_QUESTIONS = ["What did NATO say about Article 5?", "Iran nuclear weapons", "hostages in Gaza"]


def build(source: Path, target: Path, size: int, seed: int = 0, mix: float = 0.0) -> float:
    """Repeat the source index into `target` until it has `size` passages (synthetic copies)."""
    reader = IndexReader(source)
    pool = np.stack([np.frombuffer(r[0], dtype=np.float32) for r in reader.db.execute("SELECT vector FROM passages")])
    rng = np.random.default_rng(seed)
    rows = reader.db.execute("SELECT * FROM transcripts").fetchall()
    per_transcript = {}
    for p in reader.db.execute("SELECT * FROM passages ORDER BY id"):
        per_transcript.setdefault(p["transcript_id"], []).append(p)
    manifest = read_manifest(source)
    t0 = time.perf_counter()
    made, copy = 0, 0
    with IndexWriter(target, manifest["model"], manifest["dim"]) as w:
        while made < size:
            for row in rows:
                t = transcript_from_row(row)
                t = type(t)(**{**t.__dict__, "id": f"{t.id}-c{copy}", "file": f"c{copy}/{t.file}"})
                ps = per_transcript.get(row["id"], [])[: size - made]
                if not ps:
                    continue
                passages = [Passage(transcript_id=t.id, turn_index=p["turn_index"], span=(p["start"], p["end"]),
                                    text=p["text"], speaker=p["speaker"], role=p["role"], asked=p["asked"],
                                    asked_by=p["asked_by"], topic=p["topic"], label=p["label"]) for p in ps]
                vecs = np.stack([np.frombuffer(p["vector"], dtype=np.float32) for p in ps])
                if copy and mix:  # blend with other real passages: new points spread like real ones
                    others = pool[rng.integers(0, len(pool), len(vecs))]
                    vecs = vecs + mix * others
                    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
                elif copy:
                    vecs = vecs + rng.normal(0, 0.01, vecs.shape).astype(np.float32)
                    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
                w.add(t, passages, vecs)
                made += len(ps)
                if made >= size:
                    break
            copy += 1
        w.commit()
    return time.perf_counter() - t0


def measure(index: Path, questions: list[str], embedder) -> dict:
    searcher = Searcher(IndexReader(index), embedder)
    for q in questions:
        searcher.search(q)
    totals, stages = [], {}
    for q in questions:
        embedder._query_cache.clear()
        t = time.perf_counter()
        r = searcher.search(q)
        totals.append((time.perf_counter() - t) * 1e3)
        for k, v in r.timings_ms.items():
            stages.setdefault(k, []).append(v)
    pct = lambda xs, p: sorted(xs)[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]  # noqa: E731
    out = {"ask_p50_ms": round(pct(totals, 50), 1), "ask_p99_ms": round(pct(totals, 99), 1),
           "stages_p50_ms": {k: round(pct(v, 50), 2) for k, v in stages.items()},
           "stages_p99_ms": {k: round(pct(v, 99), 2) for k, v in stages.items()},
           "dense_index": type(faiss_inner(searcher.reader.search_index)).__name__}
    out["recall_at_10"] = dense_recall(searcher, questions, embedder)
    return out


def faiss_inner(index):
    import faiss

    return faiss.downcast_index(index.index) if hasattr(index, "index") else index


def dense_recall(searcher: Searcher, questions: list[str], embedder) -> dict:
    """recall@10 of the dense index against exact search over the same vectors.

    `ids`: the same passage ids. `texts`: the same passage texts. In a synthetic index each real
    passage stands ~N/5,739 times with jittered vectors, so which copy comes back is arbitrary;
    the text measure is the one that means anything there (on a real index the two agree).
    """
    reader = searcher.reader
    id_hits = text_hits = total = 0
    for q in questions:
        qv = embedder.embed_query(q).reshape(1, -1)
        _, approx = reader.search_index.search(qv, 10)
        truth = reader.exact_search(qv, 10)
        got = [int(i) for i in approx[0] if i >= 0]
        id_hits += len(set(got) & set(truth))
        rows = reader.passages(got + truth)
        text_hits += len({rows[i]["text"] for i in got} & {rows[i]["text"] for i in truth})
        total += len({rows[i]["text"] for i in truth})
    n = len(questions) * 10
    return {"ids": round(id_hits / n, 4), "texts": round(text_hits / total, 4)}


def cold_start(index: Path) -> tuple[float, float]:
    """Seconds from process start to the first answer, and that process's peak RSS in MB
    (VmHWM: ru_maxrss would count the memory of the forking parent)."""
    code = (
        "import time, resource; t=time.perf_counter();"
        "from onrecord.config import Settings; from onrecord.service import Onrecord;"
        f"r=Onrecord(Settings(index={str(index)!r})).ask('What did NATO say about Article 5?');"
        "assert r.answers; hwm=[l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1];"
        "print(time.perf_counter()-t, int(hwm)/1024)"
    )
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    return time.perf_counter() - t0, float(out[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--from-index", type=Path, required=True, help="a real index to repeat (the development corpus)")
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--work", type=Path, default=Path("/tmp/onrecord-scale"))
    ap.add_argument("--queries", type=Path)
    ap.add_argument("--mix", type=float, default=0.0,
                    help="copies' vectors = own + MIX * another real passage's (renormalised) instead of a small jitter")
    args = ap.parse_args()
    questions = DEFAULT_QUESTIONS
    if args.queries:
        questions = [json.loads(x)["query"] for x in args.queries.read_text().splitlines() if x.strip()]
    embedder = SentenceTransformerEmbedder(threads=2)
    embedder.load()
    results = []
    for size in args.sizes:
        target = args.work / f"n{size}"
        build_s = None
        if read_manifest(target) is None:
            build_s = build(args.from_index, target, size, mix=args.mix)
        row = {"passages": read_manifest(target)["passages"], "synthetic": size > 5739, "build_s": build_s}
        row.update(measure(target, questions, embedder))
        row["cold_start_s"], row["cold_start_rss_mb"] = cold_start(target)
        results.append(row)
        print(json.dumps(row), flush=True)
    print(f"this process peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    main()
