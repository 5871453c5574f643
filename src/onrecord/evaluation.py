"""Retrieval metrics on a graded query file, with the development set's relevance rule.

A returned answer R is relevant to a gold span G when, after normalisation (NFKC, lower case,
HTML tags, markdown escapes and * _ ` removed, punctuation dropped), they share a run of at least
max(min(12, |G|/2, |R|/2), min(4, |G|)) consecutive words. This is the rule of the development
set's score.py, so `onrecord eval` and that scorer agree.
"""

from __future__ import annotations

import html
import json
import math
import re
import unicodedata
from collections.abc import Callable
from pathlib import Path

_TAG = re.compile(r"</?[A-Za-z][^<>]{0,200}>")
_PUNCT = re.compile(r"[^\w\s]|_", re.UNICODE)
METRICS = ("R@1", "R@5", "MRR@10", "nDCG@10", "Gold@10")
MIN_RUN = 4


def normalize(text: str) -> list[str]:
    t = unicodedata.normalize("NFKC", text or "")
    t = html.unescape(t)
    t = _TAG.sub(" ", t)
    t = t.replace("\\", "")
    t = re.sub(r"[*_`]", "", t)
    return _PUNCT.sub(" ", t.lower()).split()


def _needed(n_gold: int, n_ret: int) -> int:
    t = max(min(12.0, n_gold / 2.0, n_ret / 2.0), float(min(MIN_RUN, n_gold)))
    return max(1, math.ceil(t - 1e-9))


def _shares_run(r: list[str], g: list[str], need: int) -> bool:
    if need > len(r) or need > len(g):
        return False
    grams = {tuple(g[i : i + need]) for i in range(len(g) - need + 1)}
    return any(tuple(r[i : i + need]) in grams for i in range(len(r) - need + 1))


def score_query(gold: list[str], answers: list[str]) -> dict:
    """Metrics of one ranked answer list against the gold spans."""
    golds = [g for g in (normalize(x) for x in gold) if g]
    ranked = [normalize(a) for a in answers[:10]]
    rel = [[gi for gi, g in enumerate(golds) if r and _shares_run(r, g, _needed(len(g), len(r)))] for r in ranked]
    first = next((i for i, h in enumerate(rel) if h), None)
    claimed, dcg = set(), 0.0
    for i, hits in enumerate(rel):
        free = [g for g in hits if g not in claimed]
        if free:
            claimed.add(free[0])
            dcg += 1.0 / math.log2(i + 2)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(len(golds), 10)))
    return {
        "R@1": float(first is not None and first < 1),
        "R@5": float(first is not None and first < 5),
        "MRR@10": 1.0 / (first + 1) if first is not None else 0.0,
        "nDCG@10": dcg / ideal if ideal else 0.0,
        "Gold@10": len(claimed) / len(golds) if golds else 0.0,
        "rank": None if first is None else first + 1,
    }


def load_queries(path: str | Path) -> list[dict]:
    out = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if line.strip():
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{path}:{n}: not JSON ({exc.msg})") from None
    return out


def evaluate(queries: list[dict], answer_fn: Callable[[str], list[str]]) -> tuple[dict, list[dict]]:
    """Run every query through answer_fn (question -> ranked answer texts) and average per kind."""
    rows = []
    for q in queries:
        s = score_query(q.get("gold", []), answer_fn(q["query"]))
        s.update(id=q.get("id"), kind=q.get("kind", "all"))
        rows.append(s)
    return summarise(rows), rows


def summarise(rows: list[dict]) -> dict:
    groups: dict[str, list[dict]] = {}
    for r in rows:
        groups.setdefault(r["kind"], []).append(r)
    if len(groups) > 1:
        groups["overall"] = rows
    return {k: {**{m: sum(r[m] for r in v) / len(v) for m in METRICS}, "queries": len(v)} for k, v in groups.items()}


def format_table(summary: dict) -> str:
    head = f"{'kind':<12}{'n':>5}" + "".join(f"{m:>9}" for m in METRICS)
    lines = [head, "-" * len(head)]
    for kind, s in summary.items():
        lines.append(f"{kind:<12}{s['queries']:>5}" + "".join(f"{s[m]:>9.3f}" for m in METRICS))
    return "\n".join(lines)
