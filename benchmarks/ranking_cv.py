"""Fit the ranker by k-fold cross-validation over transcripts, and report held-out-fold scores.

    python benchmarks/ranking_cv.py --index INDEX ../shared/data/queries.jsonl ../shared/data/queries-more.jsonl \
        [--self-supervised 800] [--train graded|handwritten|self|both] [--folds 5] [--write src/onrecord/ranker.json]

Query sets: each graded file (its kinds reported apart, and the handwritten questions pooled), and
a self-supervised set built from the index itself: a sample of the reporters' questions, each as a
query with the answer it got as gold. So that such a question cannot find itself, its own text is
taken out of its answer's evidence when that exchange is the target: the target passages' cosine
is that of the passage embedded without its question (as an opening statement is), they are
dropped from the question-side BM25 list, and they count among the dense candidates only when
that cosine earns them a place.

Folds: every transcript of the index is assigned to one of k folds (a seeded shuffle of all its
file names, so that the draw is the same for any reading of the files and any sample of questions); a query belongs to the fold of its gold
answer's transcript. A fold's questions are ranked by a model fitted on the
other folds' questions only; every figure printed is such a held-out score. "before" is the
previous release's fusion (reciprocal rank fusion of the dense and lexical lists, k=20, lexical
weight 1.6, a length prior and one extra vote for a named speaker, half one for organisation and
year) over the same masked candidate lists, its one lexical list approximated by the answer-side
and half the question-side BM25 scores summed. `--write` fits on every question and saves the
weights with the held-out figures.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

from onrecord.config import get_settings
from onrecord.evaluation import (
    METRICS,
    _needed,
    _shares_run,
    format_table,
    load_queries,
    normalize,
    score_query,
    summarise,
)
from onrecord.models import Passage
from onrecord.ranking import FEATURES, Ranker, Retrieved, fit_listwise
from onrecord.service import Onrecord


class Item:
    """One question with its candidates, their features and labels, computed once."""

    def __init__(self, qid, kind, text, gold, group, q, ids, x, rows, retrieved, shown):
        self.qid, self.kind, self.text, self.gold, self.group = qid, kind, text, gold, group
        self.q, self.ids, self.x, self.rows, self.retrieved = q, ids, x, rows, retrieved
        golds = [g for g in (normalize(t) for t in gold) if g]
        # a candidate is relevant when the answer it would be shown as is (the relevance rule)
        self.y = np.array([float(any(_shares_run(r, g, _needed(len(g), len(r))) for g in golds))
                           for r in (normalize(shown[i]) for i in ids)])


def answer_turns(reader) -> dict[tuple, list]:
    """The index's answers to a reporter's question: (transcript id, turn) -> its passages, in order."""
    turns: dict[tuple, list] = {}
    for p, _ in reader.iter_passages():  # in id order: a turn's passages in order
        if p.asked is not None:
            turns.setdefault((p.transcript_id, p.turn_index), []).append(p)
    return dict(sorted(turns.items()))


def self_supervised(reader, n: int, seed: int) -> list[dict]:
    """A sample of the index's exchanges: the reporter's question, its answer turn's text as gold."""
    rows = [(tid, turn, ps[0].asked, ps[0].file, " ".join(p.text for p in ps))
            for (tid, turn), ps in answer_turns(reader).items()]
    first: dict[tuple, tuple] = {}
    for tid, turn, asked, file, text in rows:  # the first answer turn of each exchange
        if len(asked.split()) >= 8 and len(text.split()) >= 20:
            first.setdefault((tid, asked), (tid, turn, asked, file, text))
    picked = sorted(first.values())
    random.Random(seed).shuffle(picked)
    return [{"id": f"self-{tid[:8]}-{turn}", "query": " ".join(asked.split())[:2000], "kind": "self", "gold": [text],
             "gold_doc": [file], "target": (tid, asked), "mask": asked} for tid, turn, asked, file, text in picked[:n]]


def unasked(row) -> str:
    """A passage's text as it would be embedded had nobody asked it anything (an opening statement)."""
    return Passage(row.transcript_id, 0, (0, 0), row.text, "", "", topic=row.topic).embedding_text()


def masked(searcher, q, qvec, target) -> tuple[Retrieved, dict[int, float]]:
    """The candidate lists of a self-supervised question with its own text out of its answer's evidence."""
    tid, asked = target
    retrieved = searcher.retrieve(q, qvec)
    hits = searcher.store.exchange_passages(tid, asked)
    own = {h.id for h in hits}
    texts = [unasked(h) for h in hits]
    vecs = searcher.embedder.embed(texts)
    cos = {h.id: float(np.dot(v, qvec)) for h, v in zip(hits, vecs)}
    dense = [(i, s) for i, s in retrieved.dense if i not in own]
    if dense:
        kept = searcher.store.vectors_of([i for i, _ in dense])
        floor = min(float(np.dot(kept[i], qvec)) for i, _ in dense)
        dense += [(i, c) for i, c in cos.items() if c >= floor]
    return Retrieved(dense=dense, answer_lexical=retrieved.answer_lexical,
                     question_lexical=[(i, s) for i, s in retrieved.question_lexical if i not in own]), cos


def build(searcher, queries: list[dict], files: dict[str, str]) -> list[Item]:
    items = []
    for n, spec in enumerate(queries, 1):
        q = searcher.read(spec["query"])
        qvec = searcher.embedder.embed_query(q.text)
        if "target" in spec:
            retrieved, cos = masked(searcher, q, qvec, spec["target"])
        else:
            retrieved, cos = searcher.retrieve(q, qvec), None
        ids, x, rows = searcher.candidates(q, retrieved, qvec, cos)
        shown = {i: searcher._answer_span(searcher._real_answer(rows[i]))[2] for i in ids}
        doc = (spec.get("gold_doc") or spec.get("doc") or ["?"])[0]
        group = doc if doc in files else "?"  # its file's name: a reader change that alters an id keeps the folds
        items.append(Item(spec["id"], spec.get("kind", "all"), spec["query"], spec.get("gold", []), group, q, ids, x,
                          rows, retrieved, shown))
        if n % 200 == 0:
            print(f"  {n}/{len(queries)} questions", file=sys.stderr)
    return items


def before_scores(item: Item) -> np.ndarray:
    """The previous release's fusion over the item's candidates (see the module doc)."""
    col = {name: i for i, name in enumerate(FEATURES)}
    dense = {i for i, _ in item.retrieved.dense}
    cos = dict(zip(item.ids, item.x[:, col["cos"]]))
    dense_rank = {pid: r for r, pid in enumerate(sorted((p for p in item.ids if p in dense), key=lambda p: -cos[p]), 1)}
    lex: dict[int, float] = {}
    for pid, s in item.retrieved.answer_lexical:
        lex[pid] = lex.get(pid, 0.0) + s
    for pid, s in item.retrieved.question_lexical:
        lex[pid] = lex.get(pid, 0.0) + 0.5 * s
    lex_rank = {pid: r for r, pid in enumerate(sorted(lex, key=lambda p: -lex[p]), 1)}
    vote = 1 / 21
    out = []
    for n, pid in enumerate(item.ids):
        f = item.x[n]
        s = (1 / (20 + dense_rank[pid]) if pid in dense_rank else 0) + (1.6 / (20 + lex_rank[pid]) if pid in lex_rank else 0)
        words = np.expm1(f[col["words"]])
        s *= 1.0 if words >= 12 else 0.5 + 0.5 * words / 12
        s += vote * (f[col["named"]] + f[col["president"]] + 0.5 * f[col["org"]] + 0.5 * f[col["year"]])
        out.append(s)
    return np.array(out)


def ranked_answers(searcher, item: Item, scores: np.ndarray) -> tuple[list[str], float]:
    """The answer texts as the product shows them, and the top answer's score."""
    order = np.argsort(-scores, kind="stable")
    ranked = [(item.ids[i], float(scores[i])) for i in order]
    return [a.text for a in searcher.present(ranked, item.rows, item.q, 10)], float(scores[order[0]]) if len(order) else 0.0


def folds_of(groups: list[str], k: int, seed: int) -> dict[str, int]:
    names = sorted(set(groups))
    random.Random(seed).shuffle(names)
    return {g: i % k for i, g in enumerate(names)}


def item_folds(searcher, items: list[Item], k: int, seed: int) -> dict[str, int]:
    """Every transcript file of the index (and any group a question has besides) in one of k folds:
    the draw depends on the index's files only, not on which of them the sampled questions fall in."""
    return folds_of(sorted({t.file for t in searcher.store.transcripts()} | {it.group for it in items}), k, seed)


def fit(train: list[Item], objective: str, l2: float, info: dict | None = None) -> Ranker:
    if objective == "listwise":
        return fit_listwise([it.x for it in train], [it.y for it in train], l2=l2, info=info)
    return Ranker.fit(np.vstack([it.x for it in train]), np.concatenate([it.y for it in train]), l2=l2, info=info)


def cross_validate(searcher, items: list[Item], train_kinds: set[str], k: int, seed: int, l2: float,
                   objective: str) -> tuple[list, list]:
    fold = item_folds(searcher, items, k, seed)
    after, before = [], []
    for f in range(k):
        train = [it for it in items if fold[it.group] != f and it.kind in train_kinds and len(it.ids)]
        model = fit(train, objective, l2)
        for it in items:
            if fold[it.group] != f:
                continue
            for rows, scores in ((after, model.scores(it.x) if len(it.ids) else np.zeros(0)),
                                 (before, before_scores(it) if len(it.ids) else np.zeros(0))):
                texts, top = ranked_answers(searcher, it, scores)
                s = score_query(it.gold, texts)
                s.update(id=it.qid, kind=it.kind, top=top)
                rows.append(s)
    return after, before


def report(rows: list[dict]) -> dict:
    out = summarise(rows)
    hand = [r for r in rows if r["kind"] == "handwritten"]
    if hand:
        out["handwritten"] = {**{m: sum(r[m] for r in hand) / len(hand) for m in METRICS}, "queries": len(hand)}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("queries", nargs="+", type=Path)
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--self-supervised", type=int, default=800, help="self-supervised questions (0: none)")
    ap.add_argument("--train", choices=("graded", "handwritten", "self", "both"), default="graded",
                    help="the questions each fold's ranker is fitted on (handwritten: those of kind handwritten alone)")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--l2", type=float, default=1.0)
    ap.add_argument("--objective", choices=("listwise", "pointwise"), default="listwise")
    ap.add_argument("--write", type=Path, help="fit on every question and save the ranker here")
    ap.add_argument("--json", type=Path, help="write the held-out figures here")
    ap.add_argument("--write-self", type=Path, help="write the self-supervised questions here (for the baseline)")
    args = ap.parse_args()
    settings = get_settings().model_copy(update={"index": args.index})
    app = Onrecord(settings)
    t0 = time.perf_counter()
    with app.using() as searcher:
        files = {t.file: t.id for t in searcher.store.transcripts()}
        queries, kinds = [], set()
        for path in args.queries:
            for spec in load_queries(path):
                spec = dict(spec, set=path.name)  # the handwritten of every file pooled, and each file apart
                queries.append(spec)
                kinds.add(spec.get("kind", "all"))
        if args.self_supervised:
            selfsup = self_supervised(searcher.store, args.self_supervised, args.seed)
            queries += selfsup
            kinds.add("self")
            if args.write_self:
                with open(args.write_self, "w", encoding="utf-8") as fh:
                    for spec in selfsup:
                        fh.write(json.dumps({k: v for k, v in spec.items() if k != "target"}) + "\n")
        items = build(searcher, queries, files)
        print(f"{len(items)} questions, {sum(len(it.ids) for it in items)} candidates, "
              f"{int(sum(it.y.sum() for it in items))} relevant; {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        train_kinds = {"graded": kinds - {"self"}, "handwritten": {"handwritten"}, "self": {"self"}, "both": kinds}[args.train]
        after, before = cross_validate(searcher, items, train_kinds, args.folds, args.seed, args.l2, args.objective)
        by_set = {}
        for name in sorted({q["set"] for q in queries if "set" in q}):
            ids = {q["id"] for q in queries if q.get("set") == name}
            by_set[name] = ([r for r in after if r["id"] in ids], [r for r in before if r["id"] in ids])
        results = {}
        for label, (a, b) in [("all", (after, before)), *by_set.items()]:
            print(f"\n== {label} [{args.objective}]: held-out folds ({args.folds}-fold over transcripts, trained on {args.train})")
            print("after (learned ranker)")
            print(format_table(report(a)))
            print("before (previous fusion, same candidates)")
            print(format_table(report(b)))
            results[label] = {"after": report(a), "before": report(b)}
        offtopic = [line.strip() for line in (Path(__file__).parent / "offtopic_questions.txt").read_text().splitlines()
                    if line.strip()]
        graded = [r for r in after if r["kind"] != "self"]
        model = fit([it for it in items if it.kind in train_kinds and len(it.ids)], args.objective, args.l2)
        off = []
        for text in offtopic:
            q = searcher.read(text)
            qvec = searcher.embedder.embed_query(q.text)
            ids, x, _ = searcher.candidates(q, searcher.retrieve(q, qvec), qvec)
            off.append(float(model.scores(x).max()) if ids else 0.0)
        print(f"\n== no-answer threshold: top score of {len(graded)} graded questions (held-out folds) vs "
              f"{len(off)} off-topic questions (benchmarks/offtopic_questions.txt)")
        print("threshold  answerable-kept  right-first-made-weak  off-topic-refused")
        for t in (0.005, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.10, 0.20):
            kept = sum(r["top"] >= t for r in graded) / len(graded)
            lost = sum(r["R@1"] for r in graded if r["top"] < t)
            print(f"{t:9.3f}  {kept:15.3f}  {lost:21.0f}  {sum(o < t for o in off) / len(off):17.3f}")
        if args.json:
            args.json.write_text(json.dumps(results, indent=1) + "\n")
        if args.write:
            train = [it for it in items if it.kind in train_kinds and len(it.ids)]
            model = fit(train, args.objective, args.l2, info={"objective": args.objective, "trained_on": sorted(train_kinds), "questions": len(train), "l2": args.l2,
                                     "held_out": {k: {m: round(v[m], 3) for m in ("R@1", "R@5", "MRR@10", "nDCG@10")}
                                                  for k, v in report(after).items()},
                                     "command": "python " + " ".join(sys.argv)})
            model.save(args.write)
            for name, w in sorted(zip(FEATURES, model.weights), key=lambda x: -abs(x[1])):
                print(f"  {name:<16}{w:+.3f}")
            print(f"wrote {args.write}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
