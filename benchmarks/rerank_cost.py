"""Experiment: what reading question and answer together would cost a question (a cross-encoder).

    python benchmarks/rerank_cost.py --index INDEX ../shared/data/queries.jsonl [--top 3 5 10] [--words 60 150]

A cross-encoder reads the question and each candidate answer as one text through the whole
transformer; with the shipped model's architecture (all-MiniLM-L6-v2, the index's own backend)
its cost per question is one forward pass over `top` such texts, as the model embeds them (the
classification head a cross-encoder adds is one dot product). For each question of the file, its
top candidates as the product ranks them are joined to it, cut to `words` words of answer, and
timed through the index's embedder. Printed: the median and 90th percentile per question, to set
beside the ask goal (p50 <= 30 ms at 100,000 passages, of which retrieval and ranking take 12-20
ms on this machine: benchmarks/bench.py). Nothing is trained: this measures the cost only.

`--layers 6 3 2 1` also times the same pairs through the model's first N transformer layers in
torch fp32 (a smaller cross-encoder that would start from them), beside the full six in torch.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from onrecord.config import get_settings
from onrecord.evaluation import load_queries
from onrecord.service import Onrecord


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("queries", type=Path)
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--top", type=int, nargs="+", default=[3, 5, 10])
    ap.add_argument("--words", type=int, nargs="+", default=[60, 150])
    ap.add_argument("--questions", type=int, default=40)
    ap.add_argument("--layers", type=int, nargs="*", default=[], help="also time the first N layers in torch")
    args = ap.parse_args()
    app = Onrecord(get_settings().model_copy(update={"index": args.index}))
    with app.using() as searcher:
        pairs = []
        for spec in load_queries(args.queries)[: args.questions]:
            answers = searcher.search(spec["query"], top_k=max(args.top)).answers
            pairs.append((spec["query"], [a.text for a in answers]))
        searcher.embedder.embed(["warm up"])
        print(f"{len(pairs)} questions; {searcher.embedder.__class__.__name__}; per question, ms: p50 / p90")
        for top in args.top:
            for words in args.words:
                times = []
                for question, texts in pairs:
                    batch = [f"{question} {' '.join(t.split()[:words])}" for t in texts[:top]]
                    t0 = time.perf_counter()
                    searcher.embedder.embed(batch)
                    times.append(1000 * (time.perf_counter() - t0))
                print(f"top {top:>2}, {words:>3} words of answer: {np.median(times):6.1f} / {np.percentile(times, 90):6.1f}")
        if args.layers:
            truncated(pairs, args.layers, min(args.top), min(args.words), app.settings.model)
    return 0


def truncated(pairs, layer_counts: list[int], top: int, words: int, model: str) -> None:
    """The same (question, answer) pairs through the first N layers of the model, torch fp32."""
    import copy

    import torch
    from transformers import AutoModel, AutoTokenizer

    from onrecord.embedding import model_path

    path = model_path(model)
    tokenizer, full = AutoTokenizer.from_pretrained(path), AutoModel.from_pretrained(path).eval()
    batches = [tokenizer([q] * len(texts[:top]), [" ".join(t.split()[:words]) for t in texts[:top]],
                         return_tensors="pt", padding=True, truncation=True, max_length=256)
               for q, texts in pairs if texts]
    print(f"torch fp32, {torch.get_num_threads()} threads, top {top}, {words} words of answer: p50 / p90")
    for n in layer_counts:
        m = copy.deepcopy(full)
        m.encoder.layer = m.encoder.layer[:n]
        times = []
        with torch.inference_mode():
            m(**batches[0])
            for b in batches:
                t0 = time.perf_counter()
                m(**b)
                times.append(1000 * (time.perf_counter() - t0))
        print(f"{n} of {len(full.encoder.layer)} layers: {np.median(times):6.1f} / {np.percentile(times, 90):6.1f}")


if __name__ == "__main__":
    sys.exit(main())
