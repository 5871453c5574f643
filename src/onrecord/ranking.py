"""Ranking: retrieved candidates -> features -> one learned score per passage (0-1).

Retrieval gives three ranked lists for a question (dense over the passage vectors, BM25 over the
answer's words, BM25 over the words of the question the reporter asked). Every passage in any of
them becomes a `Candidate` with the same features, and a logistic model turns them into the
probability that the passage answers the question. The weights are fitted by
`benchmarks/ranking_cv.py` (k-fold over transcripts, held-out scores reported) and shipped in
`ranker.json` beside this module; nothing here is keyed to a query, a file or a speaker.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

WEIGHTS_FILE = Path(__file__).with_name("ranker.json")
SHORT_WORDS = 12  # a passage this short is a fragment ("Which one?", "Go ahead.")

FEATURES = (
    "cos",  # cosine of the question and the passage vector (the passage embedded with its question)
    "cos_gap",  # its distance below the best cosine among the candidates
    "cos_turn",  # the best cosine among the candidates of the same turn (exchange-level evidence)
    "lex_answer",  # BM25 of the answer's words, as a share of the best in its list (0: not in it)
    "lex_answer_rr",  # 10 / (10 + rank) in that list
    "lex_question",  # the same for the words of the question the reporter asked
    "lex_question_rr",
    "lex_both",  # the lesser of the two: the question's words both in what was asked and in the answer
    "in_dense",  # among the dense top candidates
    "dense_rr",  # 10 / (10 + rank) by cosine among them
    "named",  # the question names a speaker, and this is the speaker
    "named_other",  # the question names a speaker, and this is someone else
    "president",  # "what did the President say", and the President said this
    "org",  # the question names an organisation, and this transcript is its
    "org_other",
    "year",  # the question names a year, and this is from it
    "year_other",
    "month",  # the question names a month of a year ("in May 2021"), and this is from it
    "month_other",
    "words",  # log length of the passage
    "short",  # a fragment
    "asked",  # an answer to a reporter's question (not an opening statement)
    "first",  # the first passage of its turn
    "turn_parts",  # log number of passages of its turn
    "unknown_role",  # a speaker whose role the reader could not tell
)


@dataclass(frozen=True)
class Retrieved:
    """What retrieval found for one question: (passage id, score) lists, best first."""

    dense: list[tuple[int, float]]
    answer_lexical: list[tuple[int, float]]  # BM25 (higher is better) of the answer text, speaker, topic
    question_lexical: list[tuple[int, float]]  # BM25 of the reporter's question


@dataclass(frozen=True)
class Candidate:
    """The facts about one candidate passage that ranking reads (plain values, from the store)."""

    id: int
    transcript_id: str
    turn_index: int
    speaker: str
    role: str
    label: str
    organisation: str | None
    date: str | None
    words: int
    asked: bool
    first: bool  # the first passage of its turn
    turn_parts: int


@dataclass(frozen=True)
class Hints:
    """What the question names: speakers, whether it asks the President, organisation, years."""

    named_speakers: tuple[str, ...] = ()
    president: bool = False
    organisation: str | None = None
    years: tuple[str, ...] = ()
    months: tuple[str, ...] = ()  # "2021-05"


@dataclass
class Ranker:
    """A logistic model over FEATURES: score = sigmoid(w . standardised(x) + b)."""

    weights: np.ndarray
    bias: float
    mean: np.ndarray
    scale: np.ndarray
    info: dict = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path = WEIGHTS_FILE) -> Ranker:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        names = data["features"]
        if tuple(names) != FEATURES:
            raise ValueError(f"{path} was fitted on features {names}, this code computes {list(FEATURES)}")
        return cls(np.array(data["weights"]), float(data["bias"]), np.array(data["mean"]), np.array(data["scale"]),
                   data.get("info", {}))

    def save(self, path: Path) -> None:
        data = {"features": list(FEATURES), "weights": [round(float(w), 6) for w in self.weights],
                "bias": round(self.bias, 6), "mean": [round(float(m), 6) for m in self.mean],
                "scale": [round(float(s), 6) for s in self.scale], "info": self.info}
        Path(path).write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")

    def scores(self, x: np.ndarray) -> np.ndarray:
        z = ((x - self.mean) / self.scale) @ self.weights + self.bias
        return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))

    @classmethod
    def fit(cls, x: np.ndarray, y: np.ndarray, l2: float = 1.0, steps: int = 50, info: dict | None = None,
            balanced: bool = True) -> Ranker:
        """Logistic regression by Newton's method, L2 on the standardised weights (not the bias);
        positives and negatives weighted to equal total weight when `balanced`."""
        mean = x.mean(axis=0)
        scale = x.std(axis=0)
        scale[scale < 1e-9] = 1.0
        z = np.hstack([(x - mean) / scale, np.ones((len(x), 1))])
        pos = max(1.0, float(y.sum()))
        neg = max(1.0, float(len(y) - y.sum()))
        sample = np.where(y > 0, len(y) / (2 * pos), len(y) / (2 * neg)) if balanced else np.ones(len(y))
        w = np.zeros(z.shape[1])
        reg = np.full(z.shape[1], l2)
        reg[-1] = 0.0
        for _ in range(steps):
            p = 1.0 / (1.0 + np.exp(-np.clip(z @ w, -30, 30)))
            grad = z.T @ (sample * (p - y)) + reg * w
            hess = (z * (sample * p * (1 - p))[:, None]).T @ z + np.diag(reg + 1e-9)
            step = np.linalg.solve(hess, grad)
            w -= step
            if np.abs(step).max() < 1e-7:
                break
        return cls(w[:-1], float(w[-1]), mean, scale, info or {})


def fit_listwise(xs: list[np.ndarray], ys: list[np.ndarray], l2: float = 1.0, steps: int = 300,
                 info: dict | None = None) -> Ranker:
    """A ranker fitted to put each question's relevant candidates first (ListNet: softmax cross-
    entropy over each question's candidates, L2 on the standardised weights), then calibrated so
    that its score is the probability that a candidate is relevant (a logistic fit on the ranking
    value: monotone, so the order stays). Questions without a relevant candidate only calibrate."""
    x_all = np.vstack(xs)
    mean = x_all.mean(axis=0)
    scale = x_all.std(axis=0)
    scale[scale < 1e-9] = 1.0
    groups = [((x - mean) / scale, y / y.sum()) for x, y in zip(xs, ys) if len(y) and y.sum() > 0]
    w = np.zeros(len(mean))

    def loss_grad(w):
        loss, grad = 0.5 * l2 * w @ w, l2 * w
        for z, target in groups:
            s = z @ w
            s = s - s.max()
            p = np.exp(s)
            total = p.sum()
            p /= total
            loss -= (target * (s - np.log(total))).sum()
            grad = grad + z.T @ (p - target)
        return loss, grad

    # L-BFGS would do; plain gradient descent with a backtracking step is enough for ~20 weights
    lr, (loss, grad) = 1.0, loss_grad(w)
    for _ in range(steps):
        trial = w - lr * grad
        new_loss, new_grad = loss_grad(trial)
        if new_loss <= loss:
            w, loss, grad, lr = trial, new_loss, new_grad, lr * 1.2
            if np.abs(grad).max() < 1e-6:
                break
        else:
            lr *= 0.5
    z = np.concatenate([((x - mean) / scale) @ w for x in xs])[:, None]
    calibration = Ranker.fit(z, np.concatenate(ys), l2=0.0, balanced=False)
    a = calibration.weights[0] / calibration.scale[0]
    b = calibration.bias - calibration.weights[0] * calibration.mean[0] / calibration.scale[0]
    return Ranker(a * w, float(b), mean, scale, info or {})


def features(retrieved: Retrieved, cosines: dict[int, float], passages: dict[int, Candidate],
             hints: Hints) -> tuple[list[int], np.ndarray]:
    """The candidates (every passage in any list that `passages` describes) and their features."""
    ids = [i for i in dict.fromkeys(
        [p for p, _ in retrieved.dense] + [p for p, _ in retrieved.answer_lexical]
        + [p for p, _ in retrieved.question_lexical]) if i in passages]
    if not ids:
        return [], np.zeros((0, len(FEATURES)))
    in_dense = {p for p, _ in retrieved.dense}
    dense_rank = {p: r for r, p in enumerate(sorted((i for i in ids if i in in_dense), key=lambda i: -cosines.get(i, 0.0)))}
    answer = _shares(retrieved.answer_lexical)
    question = _shares(retrieved.question_lexical)
    best = max(cosines.get(i, 0.0) for i in ids)
    by_turn: dict[tuple, float] = {}
    for i in ids:
        key = (passages[i].transcript_id, passages[i].turn_index)
        by_turn[key] = max(by_turn.get(key, -1.0), cosines.get(i, 0.0))
    rows = []
    for i in ids:
        p, cos = passages[i], cosines.get(i, 0.0)
        a_share, a_rr = answer.get(i, (0.0, 0.0))
        q_share, q_rr = question.get(i, (0.0, 0.0))
        named = bool(hints.named_speakers) and p.speaker in hints.named_speakers
        in_month = bool(p.date) and p.date[:7] in hints.months
        rows.append((
            cos, cos - best, by_turn[(p.transcript_id, p.turn_index)], a_share, a_rr, q_share, q_rr, min(a_share, q_share),
            float(i in in_dense), 10.0 / (10 + dense_rank[i]) if i in dense_rank else 0.0,
            float(named), float(bool(hints.named_speakers) and not named),
            float(hints.president and p.label.replace(".", "").strip() == "THE PRESIDENT"),
            float(bool(hints.organisation) and p.organisation == hints.organisation),
            float(bool(hints.organisation) and p.organisation != hints.organisation),
            float(bool(hints.years) and bool(p.date) and p.date[:4] in hints.years),
            float(bool(hints.years) and not (p.date and p.date[:4] in hints.years)),
            float(in_month), float(bool(hints.months) and not in_month),
            math.log1p(p.words), float(p.words < SHORT_WORDS), float(p.asked), float(p.first),
            math.log(max(1, p.turn_parts)), float(p.role == "unknown"),
        ))
    return ids, np.array(rows, dtype=np.float64)


def _shares(ranked: list[tuple[int, float]]) -> dict[int, tuple[float, float]]:
    """Each listed passage's score as a share of the list's best, and 10 / (10 + rank)."""
    if not ranked:
        return {}
    top = max(s for _, s in ranked) or 1.0
    return {pid: (max(0.0, s) / top, 10.0 / (10 + rank)) for rank, (pid, s) in enumerate(ranked)}
