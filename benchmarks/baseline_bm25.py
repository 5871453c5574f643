"""The naive baseline onrecord must beat: BM25 over fixed 200-word windows of the raw files.

No parsing, no speakers, no embeddings: each file's raw text (front matter and all) is cut into
consecutive 200-word windows, scored with Okapi BM25 (k1=1.2, b=0.75), and the top 10 windows are
the answers. Scored with the development set's relevance rule (onrecord.evaluation).

    python benchmarks/baseline_bm25.py ../shared/data/corpus ../shared/data/queries.jsonl [--results out.jsonl]

A self-supervised query file (benchmarks/ranking_cv.py --write-self) names, for each question, the
reporter's question it was made from (`mask`): those questions are deleted from the raw files
before they are cut into windows, so that no question finds itself (the same rule onrecord is
measured under).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections import Counter
from pathlib import Path

from onrecord.evaluation import evaluate, format_table, load_queries

WINDOW = 200
TOKEN = re.compile(r"[a-z0-9]+")


def windows(corpus: Path, masks: dict[str, list[str]] | None = None) -> list[tuple[str, str]]:
    out = []
    for path in sorted(corpus.iterdir()):
        if path.is_file():
            text = " ".join(path.read_text(encoding="utf-8", errors="replace").split())
            for mask in (masks or {}).get(path.name, ()):
                text = text.replace(mask, " ")
            words = text.split()
            out += [(path.name, " ".join(words[i : i + WINDOW])) for i in range(0, len(words), WINDOW)]
    return out


class BM25:
    def __init__(self, docs: list[str], k1: float = 1.2, b: float = 0.75):
        self.k1, self.b = k1, b
        self.tfs = [Counter(TOKEN.findall(d.lower())) for d in docs]
        self.lens = [sum(tf.values()) for tf in self.tfs]
        self.avg = sum(self.lens) / len(self.lens)
        df = Counter(t for tf in self.tfs for t in tf)
        n = len(docs)
        self.idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}
        self.postings: dict[str, list[int]] = {}
        for i, tf in enumerate(self.tfs):
            for t in tf:
                self.postings.setdefault(t, []).append(i)

    def scores(self, query: str) -> Counter:
        """Each matching document's BM25 score for the query, by document index."""
        scores: Counter = Counter()
        for t in set(TOKEN.findall(query.lower())):
            for i in self.postings.get(t, ()):
                tf = self.tfs[i][t]
                norm = tf * (self.k1 + 1) / (tf + self.k1 * (1 - self.b + self.b * self.lens[i] / self.avg))
                scores[i] += self.idf[t] * norm
        return scores

    def top(self, query: str, k: int = 10) -> list[int]:
        return [i for i, _ in self.scores(query).most_common(k)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", type=Path)
    ap.add_argument("queries", type=Path)
    ap.add_argument("--results", type=Path)
    args = ap.parse_args(argv)
    queries = load_queries(args.queries)
    masks: dict[str, list[str]] = {}
    for q in queries:
        if q.get("mask"):
            masks.setdefault(q["gold_doc"][0], []).append(" ".join(q["mask"].split()))
    wins = windows(args.corpus, masks)
    bm25 = BM25([text for _, text in wins])
    ranked = {}

    def answer(q: str) -> list[str]:
        ranked[q] = bm25.top(q)
        return [wins[i][1] for i in ranked[q]]

    summary, _ = evaluate(queries, answer)
    print(f"baseline: BM25 over {len(wins)} windows of {WINDOW} words")
    print(format_table(summary))
    if args.results:
        with open(args.results, "w", encoding="utf-8") as fh:
            for q in queries:
                ids = ranked[q["query"]]
                fh.write(json.dumps({"id": q["id"], "answers": [wins[i][1] for i in ids],
                                     "docs": [wins[i][0] for i in ids]}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
