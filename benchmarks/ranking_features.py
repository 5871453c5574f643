"""Experiment: candidate features and turn scores beside the shipped ranker's, on held-out folds.

    python benchmarks/ranking_features.py --index INDEX ../shared/data/queries.jsonl \
        ../shared/data/queries-more.jsonl [--self-supervised 800]

The questions, candidate lists, masking of the self-supervised questions and folds are those of
benchmarks/ranking_cv.py (its functions, the same seed). Each variant adds columns to the
ranker's features (or changes how a turn's passages make its score), is fitted per fold on the
other folds' graded questions (ListNet, as shipped), and its held-out answers are scored as the
product shows them. Printed: R@1 / R@5 / MRR@10 / nDCG@10 per kind, for the shipped features and
each variant. Nothing is written to the product; a variant is worth shipping only if it gains
on the handwritten, heading and self-supervised questions together (issue 12).

Variants:
  turn-lexical   the best answer-side BM25 share among the candidates of the passage's turn, how
                 many of its turn's passages are candidates, and the passage's share below the best
  coverage       the IDF-weighted share of the question's words found in the passage, in the
                 question the reporter asked, in either, and in the whole turn or that question
                 (a self-supervised question's own text left out, as everywhere else)
  names-out      the cosine of the question with the names of the speakers it names taken out
                 (the topic alone), beside the shipped cosine
  turn-second    a turn ranked by its best passage's score plus a quarter of its second best's
  transcript-relative
                 each candidate against the others of its press conference: its cosine and BM25
                 shares less the best of its transcript's candidates, and whether it is the best
  bigrams        the share of the question's adjacent content-word pairs ("article 5") found
                 adjacent in the answer, in the question the reporter asked, and in either
  products       pairwise products of the cosine, the two BM25 shares and the turn's best cosine
  sentences      the best cosine of the question with two consecutive sentences of the passage
                 (embedded alone), its gap to the passage's cosine, and the best of its turn
  answer-alone   the cosine of the question with the passage embedded without the reporter's
                 question, its gap to the best among the candidates, and the best of its turn
  topic          the question against the passage's topic heading alone: the IDF-weighted share of
                 the question's words in it, the share of its words in the question, both whole
  topic-exact    only the last: the question's words are the heading's
  topic-f        only the product of the two shares
  window-bm25    the baseline's evidence: BM25 of the question over 200-word windows of the raw
                 transcript, the best share and rank among the windows that overlap the passage
  split          either side of the exchange on its own: the cosine with the answer embedded
                 alone, with the question asked embedded alone, the better of the two, and the best
                 of that in the turn
  question-alone the cosine with the question asked embedded alone, its gap to the best among the
                 candidates, and the best of its turn
  deflection     whether the passage holds a stock non-answer ("I don't have an update", "refer
                 you to", "not going to get ahead of"), and whether it is that and short
  about          the question's form: whether it asks what was said about a topic ("What did NATO
                 say about Article 5?") rather than a question of its own, crossed with the shipped
                 lexical, turn, length, role and named-speaker features (0 for other questions), so
                 that one linear model can weigh the evidence differently for the two forms
  late-interaction
                 word-level matching by the model itself (MaxSim, as ColBERT scores, with no
                 training): for each word piece of the question its best cosine with a word piece
                 of the answer (the model's token vectors, answer embedded alone), averaged with
                 IDF weights; the same against the question the reporter asked (none for a
                 self-supervised question's own exchange); and the best of the first in the turn
"""

from __future__ import annotations

import argparse
import copy
import math
import re
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from baseline_bm25 import BM25, WINDOW  # noqa: E402
from ranking_cv import build, fit, item_folds, ranked_answers, report, self_supervised, unasked  # noqa: E402

from onrecord.chunking import _SENTENCE_END  # noqa: E402  (where passages are cut: the same sentence ends)
from onrecord.config import get_settings  # noqa: E402
from onrecord.evaluation import load_queries, score_query  # noqa: E402
from onrecord.ranking import FEATURES  # noqa: E402
from onrecord.service import Onrecord  # noqa: E402
from onrecord.terms import terms_of  # noqa: E402

COL = {name: i for i, name in enumerate(FEATURES)}


def stem(word: str) -> str:
    return word[:6]  # a crude stemmer, enough to match "tariffs" and "tariff"


def own_exchange(item, row) -> bool:
    """A self-supervised question's own exchange (its text must not be evidence for it)."""
    return item.kind == "self" and row.asked is not None and " ".join(row.asked.split())[:2000] == item.text


def turn_keys(item) -> list[tuple]:
    return [(item.rows[i].transcript_id, item.rows[i].turn_index) for i in item.ids]


def turn_best(item, values: np.ndarray) -> np.ndarray:
    """For each candidate, the best of `values` among the candidates of its turn."""
    keys = turn_keys(item)
    best: dict[tuple, float] = {}
    for key, v in zip(keys, values):
        best[key] = max(best.get(key, -np.inf), float(v))
    return np.array([best[key] for key in keys])


def turn_lexical(item, ctx) -> np.ndarray:
    keys, share = turn_keys(item), item.x[:, COL["lex_answer"]]
    best, hits = turn_best(item, share), Counter(keys)
    return np.stack([best, np.array([math.log1p(hits[k]) for k in keys]), share - best], axis=1)


def coverage(item, ctx) -> np.ndarray:
    df, n, turns = ctx["df"], ctx["n"], ctx["turn_text"]
    idf = {t: math.log(1 + (n - df.get(t, 0) + 0.5) / (df.get(t, 0) + 0.5)) for t in {stem(w) for w in item.q.terms}}
    total = sum(idf.values()) or 1.0

    def share(words: set[str]) -> float:
        return sum(v for t, v in idf.items() if t in words) / total

    rows = []
    for i in item.ids:
        r = item.rows[i]
        answer = {stem(w) for w in terms_of(r.text)}
        asked = set() if own_exchange(item, r) else {stem(w) for w in terms_of(r.asked or "")}
        turn = {stem(w) for w in terms_of(turns.get((r.transcript_id, r.turn_index), r.text))}
        rows.append([share(answer), share(asked), share(answer | asked), share(turn | asked)])
    return np.array(rows)


def names_out(item, ctx) -> np.ndarray:
    cos = item.x[:, [COL["cos"]]]
    if not item.q.named_speakers:
        return cos
    text = item.q.text
    for name in item.q.named_speakers:
        for part in name.split():
            if len(part) > 2:
                text = re.sub(r"(?i)\b" + re.escape(part) + r"(['’]s)?\b", " ", text)
    for typed, _ in item.q.read_as:
        text = re.sub(r"(?i)\b" + re.escape(typed) + r"(['’]s)?\b", " ", text)
    searcher = ctx["searcher"]
    qvec = searcher.embedder.embed_query(" ".join(text.split()) or item.q.text)
    vectors = searcher.store.vectors_of(list(item.ids))
    out = []
    for i in item.ids:
        r = item.rows[i]
        if own_exchange(item, r):  # embedded without its question, as ranking_cv.masked does
            v = searcher.embedder.embed([unasked(r)])[0]
        else:
            v = vectors[i]
        out.append([float(np.dot(v, qvec))])
    return np.array(out)


def turn_second(item, scores: np.ndarray) -> np.ndarray:
    keys = turn_keys(item)
    ranked: dict[tuple, list[float]] = {}
    for k, s in zip(keys, scores):
        ranked.setdefault(k, []).append(float(s))
    bonus = {k: 0.25 * sorted(v, reverse=True)[1] if len(v) > 1 else 0.0 for k, v in ranked.items()}
    return np.array([min(1.0, s + bonus[k]) for k, s in zip(keys, scores)])


def transcript_relative(item, ctx) -> np.ndarray:
    """Each candidate against the others of its own press conference (where most misses lose: a
    neighbouring answer): its cosine, question-side and answer-side BM25 shares less the best of
    its transcript's candidates, and whether it is that best by cosine and by question."""
    tids = [item.rows[i].transcript_id for i in item.ids]
    cols = [COL["cos"], COL["lex_question"], COL["lex_answer"]]
    best = {}
    for t, row in zip(tids, item.x[:, cols]):
        best[t] = np.maximum(best.get(t, row), row)
    out = []
    for t, row in zip(tids, item.x[:, cols]):
        gap = row - best[t]
        out.append([*gap, float(gap[0] >= 0), float(gap[1] >= 0 and row[1] > 0)])
    return np.array(out)


_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’\-]*")


def word_pairs(text: str) -> set[tuple[str, str]]:
    """The pairs of content words next to each other (stop words between them skipped), stemmed."""
    from onrecord.terms import STOPWORDS
    words = [w.lower().strip("'-") for w in _WORD.findall(text or "")]
    words = [stem(w) for w in words if w and w not in STOPWORDS and (len(w) > 1 or w.isdigit())]
    return set(zip(words, words[1:]))


def bigrams(item, ctx) -> np.ndarray:
    """The question's pairs of adjacent content words ("article 5", "climate change") found next
    to each other in the answer, in the question the reporter asked, and in either: a share of
    the question's pairs (0 when it has none)."""
    wanted = word_pairs(item.q.text)
    if not wanted:
        return np.zeros((len(item.ids), 3))
    rows = []
    for i in item.ids:
        r = item.rows[i]
        answer = word_pairs(r.text)
        asked = set() if own_exchange(item, r) else word_pairs(r.asked or "")
        rows.append([len(wanted & answer) / len(wanted), len(wanted & asked) / len(wanted),
                     len(wanted & (answer | asked)) / len(wanted)])
    return np.array(rows)


def products(item, ctx) -> np.ndarray:
    """Pairwise products of the main signals (the cosine, the answer-side and the question-side
    BM25 shares, the turn's best cosine): what a linear ranker cannot weigh together."""
    x = item.x[:, [COL["cos"], COL["lex_answer"], COL["lex_question"], COL["cos_turn"]]]
    pairs = [(0, 1), (0, 2), (1, 2), (0, 3), (2, 3)]
    return np.stack([x[:, a] * x[:, b] for a, b in pairs], axis=1)


def windows(text: str, size: int = 2) -> list[str]:
    """The passage's runs of `size` consecutive sentences (the whole passage when it is shorter)."""
    cuts = [0] + [m.end() for m in _SENTENCE_END.finditer(text)] + [len(text)]
    parts = [text[a:b].strip() for a, b in zip(cuts, cuts[1:]) if text[a:b].strip()]
    if len(parts) <= size:
        return [" ".join(parts) or text]
    return [" ".join(parts[k:k + size]) for k in range(len(parts) - size + 1)]


def sentences(item, ctx) -> np.ndarray:
    """The best cosine of the question with a run of two consecutive sentences of the passage
    (embedded alone, no question with them), its gap to the passage's own cosine, and the best of
    the turn: aimed at the long answer whose direct reply is one sentence among many."""
    cache, searcher = ctx.setdefault("windows", {}), ctx["searcher"]
    todo = [i for i in item.ids if i not in cache]
    if todo:
        texts = [windows(item.rows[i].text) for i in todo]
        flat = [t for ts in texts for t in ts]
        vecs = searcher.embedder.embed(flat)
        k = 0
        for i, ts in zip(todo, texts):
            cache[i] = vecs[k:k + len(ts)]
            k += len(ts)
    qvec = searcher.embedder.embed_query(item.q.text)
    best = np.array([float((cache[i] @ qvec).max()) for i in item.ids])
    return np.stack([best, best - item.x[:, COL["cos"]], turn_best(item, best)], axis=1)


# what a spokesperson says instead of answering ("I don't have an update", "I'd refer you to ...",
# "I'm not going to get ahead of ...")
_DEFLECTION = re.compile(
    r"\bI (?:do not|don['’]t) have (?:anything|an update|any update|more|any more|any details|a (?:comment|readout))"
    r"|\b(?:refer you|point you) (?:to|back)|\bI(?:['’]m| am) not going to (?:get|go|comment|speak|weigh)"
    r"|\bI (?:can['’]t|cannot|won['’]t|will not) (?:get|go|comment|speak|confirm)|\bnothing to (?:share|announce|add)"
    r"|\b(?:get|getting) ahead of\b",
    re.I,
)


def deflection(item, ctx) -> np.ndarray:
    """Whether the passage deflects (a stock non-answer), and whether it is that and short (under 40
    words: nothing but the deflection)."""
    d = np.array([float(bool(_DEFLECTION.search(item.rows[i].text))) for i in item.ids])
    short = np.array([float(len(item.rows[i].text.split()) < 40) for i in item.ids])
    return np.stack([d, d * short], axis=1)


def answer_alone(item, ctx) -> np.ndarray:
    """The cosine of the question with the passage embedded without the reporter's question (its
    answer alone), its gap to the best such cosine among the candidates, and the best of its turn:
    two answers to one question (two officials, or the parts of a long answer) differ only there."""
    cos = _answer_alone_cosines(item, ctx)
    return np.stack([cos, cos - cos.max(), turn_best(item, cos)], axis=1)


def _answer_alone_cosines(item, ctx) -> np.ndarray:
    """The question's cosine with each candidate's answer embedded alone (cached by passage)."""
    cache, searcher = ctx.setdefault("alone", {}), ctx["searcher"]
    todo = [i for i in item.ids if i not in cache]
    if todo:
        for i, v in zip(todo, searcher.embedder.embed([unasked(item.rows[i]) for i in todo])):
            cache[i] = v
    qvec = searcher.embedder.embed_query(item.q.text)
    return np.array([float(cache[i] @ qvec) for i in item.ids])


def _asked_alone_cosines(item, ctx) -> np.ndarray:
    """The question's cosine with the question each candidate's reporter asked, embedded alone (0
    where nobody asked, and for a self-supervised question's own exchange, whose question is the
    query itself); cached by the question's text as embedded (its first 40 words)."""
    cache, searcher = ctx.setdefault("asked", {}), ctx["searcher"]
    asked = {i: " ".join(item.rows[i].asked[:4000].split()[:40]) for i in item.ids
             if item.rows[i].asked and not own_exchange(item, item.rows[i])}
    todo = [t for t in dict.fromkeys(asked.values()) if t not in cache]
    if todo:
        for t, v in zip(todo, searcher.embedder.embed(todo)):
            cache[t] = v
    qvec = searcher.embedder.embed_query(item.q.text)
    return np.array([float(cache[asked[i]] @ qvec) if i in asked else 0.0 for i in item.ids])


def split(item, ctx) -> np.ndarray:
    """Either side of the exchange on its own: the cosine with the answer alone, with the question
    asked alone, the better of the two, and the best of that in the turn (a reporter's question
    that says what the query says, or an answer that does, when the two embedded together do not)."""
    a, q = _answer_alone_cosines(item, ctx), _asked_alone_cosines(item, ctx)
    best = np.maximum(a, q)
    return np.stack([a, q, best, turn_best(item, best)], axis=1)


def question_alone(item, ctx) -> np.ndarray:
    """The cosine with the question asked alone, its gap to the best among the candidates, and the
    best of its turn."""
    q = _asked_alone_cosines(item, ctx)
    return np.stack([q, q - q.max(), turn_best(item, q)], axis=1)


def topic(item, ctx) -> np.ndarray:
    """The question against the passage's topic heading ("EXECUTIVE PRIVILEGE COMPARISON"), apart
    from the answer's words it is mixed with in the answer-side BM25: the IDF-weighted share of the
    question's words in the heading, the share of the heading's words in the question, and whether
    both are whole (the question names the heading's topic and nothing more)."""
    df, n = ctx["df"], ctx["n"]
    q = {stem(w) for w in item.q.terms}
    idf = {t: math.log(1 + (n - df.get(t, 0) + 0.5) / (df.get(t, 0) + 0.5)) for t in q}
    total = sum(idf.values()) or 1.0
    rows = []
    for i in item.ids:
        words = {stem(w) for w in terms_of(item.rows[i].topic or "")}
        recall = sum(v for t, v in idf.items() if t in words) / total if words else 0.0
        precision = len(words & q) / len(words) if words else 0.0
        rows.append([recall, precision, float(recall > 0.999 and precision > 0.999)])
    return np.array(rows)


def topic_exact(item, ctx) -> np.ndarray:
    """Only whether the question's words are the heading's, all of them and no others."""
    return topic(item, ctx)[:, 2:]


def topic_f(item, ctx) -> np.ndarray:
    """The product of the two shares (one column, high only when the question is the heading)."""
    t = topic(item, ctx)
    return (t[:, 0] * t[:, 1])[:, None]


def _windows(ctx) -> dict:
    """The baseline's BM25 (benchmarks/baseline_bm25.py) over consecutive 200-word windows of each
    transcript's text, with each window's character span, by transcript."""
    if "windows" not in ctx:
        store, spans, docs = ctx["searcher"].store, [], []
        for t in store.transcripts():
            text = store.text_span(t.id, 0, 10 ** 9)
            words = [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]
            for i in range(0, len(words), WINDOW):
                a, b = words[i][0], words[min(i + WINDOW, len(words)) - 1][1]
                spans.append((t.id, a, b))
                docs.append(text[a:b])
        by_tid: dict[str, list] = {}
        for k, (tid, a, b) in enumerate(spans):
            by_tid.setdefault(tid, []).append((a, b, k))
        ctx["windows"] = {"bm25": BM25(docs), "count": len(docs), "by_tid": by_tid}
    return ctx["windows"]


def window_bm25(item, ctx) -> np.ndarray:
    """The baseline's own evidence: BM25 of the question over 200-word windows of the raw
    transcript; for a passage, the best share (of the best window anywhere) among the windows
    that overlap it, and 10 / (10 + rank) of that window. (Graded questions only: a
    self-supervised question's own text is not masked from the windows here.)"""
    w = _windows(ctx)
    found = w["bm25"].scores(item.q.text)
    scores = np.zeros(w["count"])
    for k, v in found.items():
        scores[k] = v
    top = scores.max() or 1.0
    rank = {k: r for r, k in enumerate(np.argsort(-scores)[:200])}
    rows = []
    for i in item.ids:
        r = item.rows[i]
        over = [k for a, b, k in w["by_tid"].get(r.transcript_id, ()) if a < r.end and b > r.start]
        best = max(over, key=lambda k: scores[k]) if over else None
        rows.append([scores[best] / top if best is not None else 0.0,
                     10.0 / (10 + rank[best]) if best is not None and best in rank else 0.0])
    return np.array(rows)


# the question's form, as `about` reads it: "what did X say about Y", "what has X said on Y"
ASKS_ABOUT = re.compile(r"\bwhat\b.{0,80}?\b(?:say|said|says|saying|think|thinks)\b(?:\s+\w+){0,2}?\s+(?:about|on|of)\b", re.I)
ABOUT_CROSSED = ("lex_answer", "lex_answer_rr", "lex_question", "cos_turn", "words", "asked", "turn_parts",
                 "president", "named")


def about(item, ctx) -> np.ndarray:
    """The shipped columns ABOUT_CROSSED again for a question that asks what was said about a
    topic, zeros for any other."""
    x = item.x[:, [COL[name] for name in ABOUT_CROSSED]]
    return x if ASKS_ABOUT.search(item.text) else np.zeros_like(x)


def late_interaction(item, ctx) -> np.ndarray:
    """MaxSim of the question's word pieces against the answer's and the reporter's question's
    (see the module doc), and the best answer MaxSim of the passage's turn."""
    (q_ids, q_vec), = _token_vectors([item.q.text], ctx)
    weights = _piece_idf(q_ids, ctx)
    asked = [None if not item.rows[i].asked or own_exchange(item, item.rows[i]) else item.rows[i].asked
             for i in item.ids]
    asked_vectors = dict(zip([a for a in asked if a], _token_vectors([a for a in asked if a], ctx)))
    a = np.array([_maxsim(q_vec, weights, v) for _, v in _token_vectors([item.rows[i].text for i in item.ids], ctx)])
    q = np.array([_maxsim(q_vec, weights, asked_vectors[t][1]) if t else 0.0 for t in asked])
    return np.stack([a, q, turn_best(item, a)], axis=1)


def _token_vectors(texts: list[str], ctx) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each text's word-piece ids and unit token vectors (the bundled model in torch, special
    tokens left out), cached by text."""
    model, cache = _torch_model(ctx), ctx["tokens"]
    todo = [t for t in dict.fromkeys(texts) if t not in cache]
    if todo:
        out = model.encode(todo, output_value="token_embeddings", batch_size=32, convert_to_numpy=False)
        for t, e in zip(todo, out):
            ids = _pieces(t, model)
            e = e.float().numpy()[1:len(ids) + 1]
            cache[t] = (np.array(ids), (e / (np.linalg.norm(e, axis=1, keepdims=True) + 1e-9)).astype(np.float32))
    return [cache[t] for t in texts]


def _torch_model(ctx):
    """The bundled model in torch (for its token vectors), loaded once; with the word-piece
    document frequencies over the index's passages and an empty token-vector cache."""
    if "st" not in ctx:
        from sentence_transformers import SentenceTransformer

        from onrecord.embedding import default_model_path
        model, df = SentenceTransformer(default_model_path(), device="cpu"), Counter()
        for p, _ in ctx["searcher"].store.iter_passages():
            df.update(set(_pieces(p.text, model)))
        ctx.update(st=model, tokens={}, piece_df=df, pieces=ctx["n"])
    return ctx["st"]


def _pieces(text: str, model) -> list[int]:
    """The word-piece ids of a text as the model reads it (truncated, special tokens left out)."""
    return model.tokenizer(text, truncation=True, max_length=model.max_seq_length)["input_ids"][1:-1]


def _piece_idf(ids: np.ndarray, ctx) -> np.ndarray:
    df, n = ctx["piece_df"], ctx["pieces"]
    return np.array([math.log((n + 1) / (df.get(int(i), 0) + 1)) for i in ids])


def _maxsim(q_vec: np.ndarray, weights: np.ndarray, p_vec: np.ndarray) -> float:
    """The weighted mean over the question's word pieces of their best cosine in the passage."""
    if not len(p_vec) or not len(q_vec) or weights.sum() <= 0:
        return 0.0
    return float((q_vec @ p_vec.T).max(axis=1) @ weights / weights.sum())


VARIANTS = {"turn-lexical": turn_lexical, "split": split, "question-alone": question_alone, "window-bm25": window_bm25, "topic": topic, "topic-exact": topic_exact, "topic-f": topic_f, "answer-alone": answer_alone, "deflection": deflection, "sentences": sentences, "coverage": coverage, "names-out": names_out,
            "transcript-relative": transcript_relative, "bigrams": bigrams, "products": products, "about": about,
            "late-interaction": late_interaction}


def held_out(searcher, items, extra, rescore, k: int, seed: int) -> dict:
    fold = item_folds(searcher, items, k, seed)
    graded = {it.kind for it in items} - {"self"}
    if extra is not None:
        wider = []
        for it in items:
            it2 = copy.copy(it)
            if len(it.ids):
                it2.x = np.hstack([it.x, extra(it)])
            wider.append(it2)
        items = wider
    rows = []
    for f in range(k):
        model = fit([it for it in items if fold[it.group] != f and it.kind in graded and len(it.ids)], "listwise", 1.0)
        for it in items:
            if fold[it.group] != f:
                continue
            scores = model.scores(it.x) if len(it.ids) else np.zeros(0)
            if rescore is not None and len(scores):
                scores = rescore(it, scores)
            texts, top = ranked_answers(searcher, it, scores)
            rows.append(score_query(it.gold, texts) | {"id": it.qid, "kind": it.kind, "top": top})
    return report(rows)


def arguments(doc: str) -> argparse.ArgumentParser:
    """The arguments of ranking_cv.py's experiments: query files, the index, the folds."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("queries", nargs="+", type=Path)
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--self-supervised", type=int, default=800)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=13)
    return ap


def questions(searcher, args) -> list:
    """The graded questions of the files and the self-supervised ones, with their candidates."""
    files = {t.file: t.id for t in searcher.store.transcripts()}
    queries = [dict(q) for path in args.queries for q in load_queries(path)]
    queries += self_supervised(searcher.store, args.self_supervised, args.seed)
    return build(searcher, queries, files)


def main() -> int:
    ap = arguments(__doc__)
    ap.add_argument("--variants", nargs="*", help="the variants to run (default: all)")
    args = ap.parse_args()
    app = Onrecord(get_settings().model_copy(update={"index": args.index}))
    t0 = time.perf_counter()
    with app.using() as searcher:
        items = questions(searcher, args)
        df, n, parts = Counter(), 0, {}
        for p, _ in searcher.store.iter_passages():
            n += 1
            df.update({stem(w) for w in terms_of(f"{p.text} {p.asked or ''}")})
            parts.setdefault((p.transcript_id, p.turn_index), []).append((p.start, p.text))
        ctx = {"df": df, "n": n, "searcher": searcher,
               "turn_text": {k: " ".join(t for _, t in sorted(v)) for k, v in parts.items()}}
        print(f"{len(items)} questions; {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        chosen = set(args.variants) if args.variants is not None else {*VARIANTS, "turn-second"}
        runs = [("shipped features", None, None)] + [(name, (lambda it, fn=fn: fn(it, ctx)), None)
                                                     for name, fn in VARIANTS.items() if name in chosen]
        if "turn-second" in chosen:
            runs.append(("turn-second", None, turn_second))
        print(f"held-out folds ({args.folds}-fold over transcripts): R@1 / R@5 / MRR@10 / nDCG@10")
        for label, extra, rescore in runs:
            out = held_out(searcher, items, extra, rescore, args.folds, args.seed)
            cells = [f"{kind} {s['R@1']:.3f} / {s['R@5']:.3f} / {s['MRR@10']:.3f} / {s['nDCG@10']:.3f}"
                     for kind, s in out.items() if kind in ("handwritten", "heading", "self")]
            print(f"{label:<20}" + "   ".join(cells), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
