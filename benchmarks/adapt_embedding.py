"""Experiment: adapt the embedding model to the index's own question/answer pairs, measured on held-out folds.

    python benchmarks/adapt_embedding.py --index /tmp/dev16 ../shared/data/queries.jsonl \
        ../shared/data/queries-more.jsonl [--folds 5] [--epochs 1] [--self-supervised 800]

For each fold of transcripts (the same seeded assignment as benchmarks/ranking_cv.py), the model
(all-MiniLM-L6-v2, sentence-transformers on the CPU, fp32) is fine-tuned on the reporters'
questions and the answers they got in the *other* folds' transcripts (MultipleNegativesRankingLoss:
each question against its answer and the batch's other answers), then every passage is embedded
again as the product embeds it (topic, question asked, text) and the fold's questions are asked of
dense search alone: the handwritten questions whose gold answer is in the fold, and self-supervised
ones (a reporter's question of the fold, its answer as gold; its own passages embedded without
their question so that it cannot find itself). The base model is measured the same way. Printed:
passage-level R@1, R@5, MRR@10 on held-out folds, base vs adapted, and the seconds spent.
Nothing is written to the product; adoption needs +2 points held out (issue 12).
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from onrecord.embedding import DEFAULT_MODEL, model_path  # noqa: E402
from onrecord.evaluation import _needed, _shares_run, load_queries, normalize  # noqa: E402
from onrecord.store import open_store  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from ranking_cv import folds_of, self_supervised, unasked  # noqa: E402
from ranking_features import arguments  # noqa: E402


def metrics(ranked: list[list[bool]]) -> dict:
    out = {"R@1": 0.0, "R@5": 0.0, "MRR@10": 0.0}
    for rel in ranked:
        first = next((i for i, r in enumerate(rel[:10]) if r), None)
        out["R@1"] += first == 0
        out["R@5"] += first is not None and first < 5
        out["MRR@10"] += 1 / (first + 1) if first is not None else 0
    return {k: v / max(1, len(ranked)) for k, v in out.items()} | {"n": len(ranked)}


def train(model, pairs: list[tuple[str, str]], lr: float = 2e-5, batch: int = 32, epochs: int = 1) -> None:
    """MultipleNegativesRankingLoss by hand: each question against its answer and the batch's others."""
    import torch
    import torch.nn.functional as F

    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    model.train()
    for _ in range(epochs):
        for b in range(0, len(pairs) - 1, batch):
            part = pairs[b: b + batch]
            eq = F.normalize(model(model.tokenize([q for q, _ in part]))["sentence_embedding"], dim=-1)
            ea = F.normalize(model(model.tokenize([a for _, a in part]))["sentence_embedding"], dim=-1)
            loss = F.cross_entropy(eq @ ea.T * 20.0, torch.arange(len(part)))
            loss.backward()
            opt.step()
            opt.zero_grad()
    model.eval()


def training_pairs(records, bare: dict[int, str], held_out: set[str]) -> list[tuple[str, str]]:
    """The reporters' questions (5 words or more) and the first passage of the answer each got, as
    the answer's text alone, from every transcript but those held out."""
    pairs, seen = [], set()
    for p in records:
        if p.asked and p.transcript_id not in held_out and len(p.asked.split()) >= 5:
            key = (p.transcript_id, p.asked, p.turn_index)
            if key not in seen:
                seen.add(key)
                pairs.append((" ".join(p.asked.split()[:60]), bare[p.id]))
    return pairs


def main() -> int:
    ap = arguments(__doc__)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=2e-5)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()

    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(2)
    store = open_store(args.index)
    files = {t.file: t.id for t in store.transcripts()}
    records = [p for p, _ in store.iter_passages()]
    texts = [p.passage().embedding_text() for p in records]
    bare = {p.id: unasked(p) for p in records}
    graded = [q for path in args.queries for q in load_queries(path) if q.get("kind") == "handwritten"]
    selfsup = self_supervised(store, args.self_supervised, args.seed)
    for q in graded + selfsup:
        q["group"] = files.get((q.get("gold_doc") or q.get("doc") or ["?"])[0], "?")
    fold = folds_of([r.transcript_id for r in records] + [q["group"] for q in graded + selfsup], args.folds, args.seed)
    golds = {id(q): [g for g in (normalize(t) for t in q["gold"]) if g] for q in graded + selfsup}
    norm = [normalize(p.text) for p in records]

    def relevant(q, i: int) -> bool:
        return any(_shares_run(norm[i], g, _needed(len(g), len(norm[i]))) for g in golds[id(q)])

    def evaluate(model, qs: list[dict]) -> list[list[bool]]:
        vecs = model.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
        qv = model.encode([q["query"] for q in qs], batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
        out = []
        for q, v in zip(qs, qv):
            sims = vecs @ v
            if "target" in q:  # its own exchange's passages scored as if nobody had asked
                tid, asked = q["target"]
                own = [i for i, p in enumerate(records) if p.transcript_id == tid and p.asked == asked]
                if own:
                    sims[own] = model.encode([bare[records[i].id] for i in own], normalize_embeddings=True) @ v
            top = np.argsort(-sims)[:10]
            out.append([relevant(q, int(i)) for i in top])
        return out

    path = model_path(DEFAULT_MODEL)
    results = {"base": {"handwritten": [], "self": []}, "adapted": {"handwritten": [], "self": []}}
    seconds = {"train": 0.0, "embed": 0.0}
    base = SentenceTransformer(path, device="cpu")
    t = time.perf_counter()
    everyone = graded + selfsup
    for q, rel in zip(everyone, evaluate(base, everyone)):
        if q["group"] in fold:
            results["base"]["self" if "target" in q else "handwritten"].append(rel)
    seconds["embed"] += time.perf_counter() - t
    for f in range(args.folds):
        qs = [q for q in everyone if fold.get(q["group"]) == f]
        pairs = training_pairs(records, bare, {t for t, k in fold.items() if k == f})  # the other folds' exchanges
        random.Random(args.seed + f).shuffle(pairs)
        model = SentenceTransformer(path, device="cpu")
        t = time.perf_counter()
        train(model, pairs, args.lr, args.batch, args.epochs)
        seconds["train"] += time.perf_counter() - t
        t = time.perf_counter()
        for q, rel in zip(qs, evaluate(model, qs)):
            results["adapted"]["self" if "target" in q else "handwritten"].append(rel)
        seconds["embed"] += time.perf_counter() - t
        print(f"fold {f}: {len(pairs)} training pairs, {len(qs)} questions; "
              f"{seconds['train']:.0f} s training, {seconds['embed']:.0f} s embedding so far", file=sys.stderr, flush=True)
    table = {m: {k: metrics(v) for k, v in r.items()} for m, r in results.items()}
    print(f"dense search alone, held-out folds ({args.folds}-fold over transcripts), passage level")
    print(f"{'set':<12} {'model':<8} {'R@1':>6} {'R@5':>6} {'MRR@10':>7} {'n':>5}")
    for kind in ("handwritten", "self"):
        for m in ("base", "adapted"):
            s = table[m][kind]
            print(f"{kind:<12} {m:<8} {s['R@1']:6.3f} {s['R@5']:6.3f} {s['MRR@10']:7.3f} {s['n']:5d}")
    print(f"training {seconds['train']:.0f} s over {args.folds} folds; embedding {seconds['embed']:.0f} s")
    if args.json:
        args.json.write_text(json.dumps({"table": table, "seconds": seconds, "command": "python " + " ".join(sys.argv)},
                                        indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
