"""Experiment: a small cross-encoder, trained on the index's own exchanges, re-ranking the top answers.

    python benchmarks/cross_encoder.py --index INDEX ../shared/data/queries.jsonl ../shared/data/queries-more.jsonl \
        [--layers 2] [--top 3] [--groups 2000]

Per fold of transcripts (ranking_cv.py's rule: a question in its gold answer's transcript's fold,
the same seed), a cross-encoder is started from the first `--layers` transformer layers of the
shipped model (all-MiniLM-L6-v2, torch fp32, mean pooling, one linear head) and trained one epoch
on the other folds' exchanges: the reporter's question against the start of the answer it got and
of two other answers of the same press conference (softmax over the three). It reads the question
and the answer's text only, never the question the reporter asked (that would be the training
question itself). The fold's graded questions are then ranked by the shipped ranker fitted on the
other folds (as ranking_cv.py does), and their top `--top` answers, as the product shows them,
re-ordered by the cross-encoder alone: nothing in the combination is fitted to the graded
questions. Printed: R@1 / R@5 / MRR@10 / nDCG@10 held out, before and after, per kind, and the
training time.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from ranking_cv import answer_turns, fit, item_folds, report  # noqa: E402
from ranking_features import arguments, questions  # noqa: E402

from onrecord.config import get_settings  # noqa: E402
from onrecord.evaluation import score_query  # noqa: E402
from onrecord.service import Onrecord  # noqa: E402


def exchanges(reader) -> dict[str, list[tuple[str, str]]]:
    """Each transcript's exchanges: (the reporter's question, the start of its first answer turn)."""
    out: dict[str, list[tuple[str, str]]] = {}
    seen = set()
    for (tid, _), ps in answer_turns(reader).items():
        asked = " ".join(ps[0].asked.split())
        if len(asked.split()) >= 8 and (tid, asked) not in seen:
            seen.add((tid, asked))
            out.setdefault(tid, []).append((asked, ps[0].text))
    return out


class CrossEncoder:
    def __init__(self, path: str, layers: int, max_length: int):
        import torch
        from transformers import AutoModel, AutoTokenizer

        self.torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModel.from_pretrained(path)
        self.model.encoder.layer = self.model.encoder.layer[:layers]
        self.head = torch.nn.Linear(self.model.config.hidden_size, 1)
        self.max_length = max_length

    def _scores(self, questions: list[str], answers: list[str]):
        questions = [" ".join(q.split()[:40]) for q in questions]  # a reporter's question can be a paragraph
        batch = self.tokenizer(questions, answers, return_tensors="pt", padding=True, truncation="longest_first",
                               max_length=self.max_length)
        hidden = self.model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).float()
        return self.head((hidden * mask).sum(1) / mask.sum(1)).squeeze(-1)

    def train(self, groups: list[tuple[str, list[str]]], batch_groups: int = 8, lr: float = 5e-5, seed: int = 13):
        torch = self.torch
        torch.manual_seed(seed)
        params = list(self.model.parameters()) + list(self.head.parameters())
        opt = torch.optim.AdamW(params, lr=lr)
        self.model.train()
        for k in range(0, len(groups), batch_groups):
            chunk = groups[k:k + batch_groups]
            qs = [q for q, texts in chunk for _ in texts]
            ans = [t for _, texts in chunk for t in texts]
            s = self._scores(qs, ans).view(len(chunk), -1)  # the answer it got first in each group
            loss = torch.nn.functional.cross_entropy(s, torch.zeros(len(chunk), dtype=torch.long))
            opt.zero_grad()
            loss.backward()
            opt.step()
        self.model.eval()

    def score(self, question: str, answers: list[str]) -> list[float]:
        with self.torch.inference_mode():
            return self._scores([question] * len(answers), answers).tolist()


def training_groups(ex: dict[str, list[tuple[str, str]]], tids: set[str], n: int, seed: int) -> list:
    rng = random.Random(seed)
    groups = []
    for tid in sorted(tids & set(ex)):
        pool = ex[tid]
        if len(pool) < 3:
            continue
        for k, (asked, answer) in enumerate(pool):
            others = [a for j, (_, a) in enumerate(pool) if j != k]
            groups.append((asked, [answer, *rng.sample(others, 2)]))
    rng.shuffle(groups)
    return groups[:n]


def main() -> int:
    ap = arguments(__doc__)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--top", type=int, default=3)
    ap.add_argument("--groups", type=int, default=2000, help="training groups per fold")
    ap.add_argument("--max-length", type=int, default=96)
    args = ap.parse_args()
    import torch

    torch.set_num_threads(2)
    app = Onrecord(get_settings().model_copy(update={"index": args.index}))
    from onrecord.embedding import model_path

    with app.using() as searcher:
        items = questions(searcher, args)
        ex = exchanges(searcher.store)
        fold = item_folds(searcher, items, args.folds, args.seed)
        graded = {it.kind for it in items} - {"self"}
        before, after, spent = [], [], 0.0
        for f in range(args.folds):
            held = [it for it in items if fold[it.group] == f and it.kind in graded]
            train_tids = {t for t, k in fold.items() if k != f}
            # transcripts no question belongs to are in no fold: they train every fold's model
            train_tids |= set(ex) - set(fold)
            t0 = time.perf_counter()
            ce = CrossEncoder(model_path(app.settings.model), args.layers, args.max_length)
            groups = training_groups(ex, train_tids, args.groups, args.seed + f)
            ce.train(groups)
            spent += time.perf_counter() - t0
            print(f"fold {f}: {len(groups)} groups, {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
            model = fit([it for it in items if fold[it.group] != f and it.kind in graded and len(it.ids)], "listwise", 1.0)
            for it in held:
                scores = model.scores(it.x) if len(it.ids) else np.zeros(0)
                order = np.argsort(-scores, kind="stable")
                answers = searcher.present([(it.ids[i], float(scores[i])) for i in order], it.rows, it.q, 10)
                texts = [a.text for a in answers]
                before.append(score_query(it.gold, texts) | {"id": it.qid, "kind": it.kind})
                head = texts[:args.top]
                if head:
                    ce_scores = ce.score(it.q.text, head)
                    head = [t for _, t in sorted(zip(ce_scores, head), key=lambda x: -x[0])]
                after.append(score_query(it.gold, head + texts[args.top:]) | {"id": it.qid, "kind": it.kind})
        print(f"{args.layers} layers, top {args.top} re-ordered, {args.groups} groups a fold, training {spent:.0f} s")
        for label, rows in (("shipped ranker", before), ("cross-encoder on its top", after)):
            out = report(rows)
            print(f"{label:<26}" + "   ".join(f"{k} {s['R@1']:.3f} / {s['R@5']:.3f} / {s['MRR@10']:.3f} / {s['nDCG@10']:.3f}"
                                             for k, s in out.items() if k in ("handwritten", "heading")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
