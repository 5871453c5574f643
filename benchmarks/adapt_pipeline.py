"""Experiment: the adapted embedding model in the whole ranking pipeline, on held-out folds.

    python benchmarks/adapt_pipeline.py --index INDEX ../shared/data/queries.jsonl \
        ../shared/data/queries-more.jsonl [--self-supervised 800]

benchmarks/adapt_embedding.py measures an adapted all-MiniLM-L6-v2 on dense search alone; what
decides adoption (issue 12: +2 points held out) is the product's ranking, where the cosine is one
feature beside BM25 over the answer and over the question asked. Here the questions, candidate
lists, self-supervised masking and folds are those of benchmarks/ranking_cv.py. For each fold the
model is fine-tuned on the reporters' questions and their answers in the transcripts of the other
folds (adapt_embedding.train: one epoch, in-batch negatives), and the fold's questions and their
candidates are embedded with it (a self-supervised question's own exchange without its question).
Then the ranker is fitted per fold on the other folds' graded questions, as shipped, with (a) the
adapted cosine as three more features (cosine, gap below the best, the turn's best) and (b) the
adapted cosine in place of the shipped one; the candidate lists stay those of the shipped model,
so this measures re-ranking only. Printed: R@1 / R@5 / MRR@10 / nDCG@10 per kind, and the seconds.
"""

from __future__ import annotations

import copy
import os
import random
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).parent))
from adapt_embedding import train, training_pairs  # noqa: E402
from ranking_cv import item_folds, unasked  # noqa: E402
from ranking_features import COL, arguments, held_out, own_exchange, questions, turn_keys  # noqa: E402

from onrecord.config import get_settings  # noqa: E402
from onrecord.embedding import DEFAULT_MODEL, model_path  # noqa: E402
from onrecord.service import Onrecord  # noqa: E402


def cosine_columns(item, cos: dict[int, float]) -> np.ndarray:
    v = np.array([cos[i] for i in item.ids])
    best: dict[tuple, float] = {}
    for k, c in zip(turn_keys(item), v):
        best[k] = max(best.get(k, -1.0), c)
    return np.c_[v, v - v.max(), [best[k] for k in turn_keys(item)]]


def main() -> int:
    ap = arguments(__doc__)
    ap.add_argument("--max-pairs", type=int, help="train on at most this many pairs a fold (a quick run)")
    args = ap.parse_args()

    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(2)
    app = Onrecord(get_settings().model_copy(update={"index": args.index}))
    seconds = {"train": 0.0, "embed": 0.0}
    with app.using() as searcher:
        items = questions(searcher, args)
        records = [p for p, _ in searcher.store.iter_passages()]
        bare = {p.id: unasked(p) for p in records}
        fold = item_folds(searcher, items, args.folds, args.seed)
        adapted: dict[str, dict[int, float]] = {}
        for f in range(args.folds):
            pairs = training_pairs(records, bare, {t for t, k in fold.items() if k == f})
            random.Random(args.seed + f).shuffle(pairs)
            pairs = pairs[: args.max_pairs]
            model = SentenceTransformer(model_path(DEFAULT_MODEL), device="cpu")
            t = time.perf_counter()
            train(model, pairs)
            seconds["train"] += time.perf_counter() - t
            t = time.perf_counter()
            mine = [it for it in items if fold[it.group] == f and len(it.ids)]
            texts = {}
            for it in mine:
                for i in it.ids:
                    own = own_exchange(it, it.rows[i])
                    texts[(i, own)] = bare[i] if own else it.rows[i].passage().embedding_text()
            keys = list(texts)
            vecs = dict(zip(keys, model.encode([texts[k] for k in keys], batch_size=32, normalize_embeddings=True)))
            qvecs = model.encode([it.q.text for it in mine], batch_size=32, normalize_embeddings=True)
            for it, q in zip(mine, qvecs):
                adapted[it.qid] = {i: float(vecs[(i, own_exchange(it, it.rows[i]))] @ q) for i in it.ids}
            seconds["embed"] += time.perf_counter() - t
            print(f"fold {f}: {len(pairs)} training pairs, {len(mine)} questions, {len(keys)} passages; "
                  f"{seconds['train']:.0f} s training, {seconds['embed']:.0f} s embedding so far", file=sys.stderr, flush=True)

        def added(it):
            return cosine_columns(it, adapted[it.qid])

        def swapped(it):
            out = copy.copy(it)
            if len(it.ids):
                out.x = it.x.copy()
                out.x[:, [COL["cos"], COL["cos_gap"], COL["cos_turn"]]] = cosine_columns(it, adapted[it.qid])
            return out

        print(f"held-out folds ({args.folds}-fold over transcripts): R@1 / R@5 / MRR@10 / nDCG@10")
        for label, group, extra in (("shipped model", items, None), ("+ adapted cosine", items, added),
                                    ("adapted in place", [swapped(it) for it in items], None)):
            out = held_out(searcher, group, extra, None, args.folds, args.seed)
            cells = [f"{kind} {s['R@1']:.3f} / {s['R@5']:.3f} / {s['MRR@10']:.3f} / {s['nDCG@10']:.3f}"
                     for kind, s in out.items() if kind in ("handwritten", "heading", "self")]
            print(f"{label:<18}" + "   ".join(cells), flush=True)
        print(f"training {seconds['train']:.0f} s over {args.folds} folds; embedding {seconds['embed']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
