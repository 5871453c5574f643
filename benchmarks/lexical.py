"""Lexical search engines side by side in one run: SQLite FTS5 (today's local store), Tantivy
(store/lexical.py) and bm25s, at the real size and at synthetic sizes.

    python benchmarks/lexical.py --index INDEX QUERIES.jsonl [MORE.jsonl ...] [--sizes 100000 1000000]
                                 [--engines fts5 tantivy bm25s] [--work /tmp/onrecord-lexical]

INDEX is a local index of the development corpus (`onrecord ingest ../shared/data/corpus --index
/tmp/dev`). Each size repeats its passages (each copy its own passage id) until there are that
many, and each engine indexes the same rows: the answer's words (text and topic heading) and the
question it answered. The questions are the query files' own, read by the product (`Searcher.read`)
and their words chosen as `Searcher.selective` does at that size (document frequencies scaled with
the copies), so every engine answers the same BM25 queries: top 100 on the answer side and top 100
on the question side, as one `ask` does. Printed per engine and size: build seconds, index size on
disk, and the two searches' latency p50/p99 (warm, one thread). The development metrics of an
engine come from `onrecord eval` / `benchmarks/ranking_cv.py` on an index using it (README).

bm25s (BM25 over scipy sparse matrices, all in memory) has no phrase queries and no filters of its
own; it is measured for speed only, with its default tokenizer (no stemmer is installed).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench import pct  # noqa: E402  (this folder)

from onrecord.embedding import make_embedder  # noqa: E402
from onrecord.evaluation import load_queries  # noqa: E402
from onrecord.search import Searcher, selective  # noqa: E402
from onrecord.store import ANSWER, QUESTION, open_store  # noqa: E402
from onrecord.store import lexical as tv  # noqa: E402
from onrecord.store.tables import BM25, COLUMNS, fts_query  # noqa: E402

N = 100  # per side, as search.CANDIDATES


def du(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


class Fts5:
    name = "fts5"

    def build(self, rows, folder: Path) -> Path:
        path = folder / "fts5.sqlite"
        db = sqlite3.connect(path)
        db.execute("PRAGMA journal_mode=OFF")
        db.execute("PRAGMA synchronous=OFF")
        db.execute("CREATE VIRTUAL TABLE passages_fts USING fts5(text, asked, speaker, topic, tokenize='porter unicode61')")
        db.executemany("INSERT INTO passages_fts(rowid, text, asked, speaker, topic) VALUES (?,?,?,?,?)",
                       ((pid, r.text, r.asked or "", r.speaker, r.topic or "") for pid, r in rows))
        db.commit()
        db.close()
        self.db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        return path

    def search(self, terms, phrases, side):
        match = fts_query(terms, phrases, COLUMNS[side])
        if not match:
            return []
        sql = f"SELECT rowid, {BM25[side]} AS s FROM passages_fts WHERE passages_fts MATCH ? ORDER BY s LIMIT ?"
        return self.db.execute(sql, [match, N]).fetchall()


class Tantivy:
    name = "tantivy"

    def build(self, rows, folder: Path) -> Path:
        w = tv.LexicalWriter(folder, None)
        for pid, r in rows:
            w.add(pid, r.text, r.topic, r.asked, r.speaker, tv.day_of(r.date), r.transcript_id)
        w.finish()
        self.index = tv.Lexical(folder)
        return folder / tv.LEXICAL

    def search(self, terms, phrases, side):
        return self.index.search(terms, phrases, N, side)


class Bm25s:
    name = "bm25s"

    def build(self, rows, folder: Path) -> Path:
        import bm25s

        self.bm25s = bm25s
        unique: dict[int, int] = {}
        answer, asked, order = [], [], []
        for _, r in rows:  # the copies share their texts: tokenize each text once
            key = id(r)
            if key not in unique:
                unique[key] = len(answer)
                answer.append(f"{r.text}\n{r.topic or ''}")
                asked.append(r.asked or "")
            order.append(unique[key])
        self.retrievers, path = {}, folder / "bm25s"
        for side, texts in ((ANSWER, answer), (QUESTION, asked)):
            tok = bm25s.tokenize(texts, show_progress=False)
            ids = [tok.ids[i] for i in order]
            r = bm25s.BM25(k1=1.2, b=0.75)
            r.index(bm25s.tokenization.Tokenized(ids=ids, vocab=tok.vocab), show_progress=False)
            r.save(str(path / side))
            self.retrievers[side] = r
        return path

    def search(self, terms, phrases, side):
        words = " ".join(terms) or " ".join(phrases)
        r = self.retrievers[side]
        tokens = self.bm25s.tokenize([words], show_progress=False, return_ids=False)
        known = [[t for t in tokens[0] if t in r.vocab_dict]]
        if not known[0]:
            return []
        docs, scores = r.retrieve(known, k=N, show_progress=False, n_threads=1)
        return list(zip(docs[0], scores[0]))


ENGINES = {"fts5": Fts5, "tantivy": Tantivy, "bm25s": Bm25s}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", required=True)
    ap.add_argument("queries", type=Path, nargs="+")
    ap.add_argument("--sizes", type=int, nargs="*", default=[100_000, 1_000_000])
    ap.add_argument("--engines", nargs="+", default=list(ENGINES), choices=list(ENGINES))
    ap.add_argument("--work", type=Path, default=Path("/tmp/onrecord-lexical"))
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    store = open_store(args.index)
    searcher = Searcher(store, make_embedder(store.info.model, store.info.backend))
    real = [r for r, _ in store.iter_passages()]
    questions = [q["query"] for f in args.queries for q in load_queries(f)]
    read = [searcher.read(q) for q in questions]
    real_df = store.document_frequency(sorted({t for q in read for t in q.terms}))
    results = []
    print(f"{'engine':<8} {'passages':>10} {'build s':>8} {'size MB':>8} {'p50 ms':>7} {'p99 ms':>7}   (both BM25 sides, top {N} each)")
    for size in [len(real), *args.sizes]:
        copies = -(-size // len(real))
        rows = [(c * len(real) + i + 1, r) for c in range(copies) for i, r in enumerate(real)][:size]
        scale = size / len(real)
        df = {t: int(round(v * scale)) for t, v in real_df.items()}
        queries = [(selective(q.terms, df, size), q.phrases) for q in read]
        for name in args.engines:
            folder = args.work / f"{name}-{size}"
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            engine = ENGINES[name]()
            t0 = time.perf_counter()
            path = engine.build(rows, folder)
            build_s = time.perf_counter() - t0
            for terms, phrases in queries:  # warm: pages in memory, as in a running server
                for side in (ANSWER, QUESTION):
                    engine.search(terms, phrases, side)
            times = []
            for terms, phrases in queries:
                t = time.perf_counter()
                for side in (ANSWER, QUESTION):
                    engine.search(terms, phrases, side)
                times.append((time.perf_counter() - t) * 1e3)
            row = {"engine": name, "passages": size, "build_s": round(build_s, 1), "size_mb": round(du(path) / 2**20, 1),
                   "p50_ms": round(pct(times, 50), 2), "p99_ms": round(pct(times, 99), 2)}
            results.append(row)
            print(f"{name:<8} {size:>10,} {row['build_s']:>8.1f} {row['size_mb']:>8.1f} {row['p50_ms']:>7.2f} {row['p99_ms']:>7.2f}",
                  flush=True)
            del engine
            shutil.rmtree(folder, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
