"""The promises every response keeps, checked over graded question files: each answer verbatim
(its transcript's canonical span), `score` in 0-1 and never rising down the list, `no_answer`
the same for top_k 1, 5 and 20, and no fragment (an answer under 12 words: "Mm-hmm.", "Which
one?") above a longer answer to the same question in the same transcript (printed, not fatal: a
short answer may be the direct one).

    python benchmarks/answer_checks.py ../shared/data/queries.jsonl ../shared/data/queries-more.jsonl --index INDEX
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from onrecord.config import get_settings
from onrecord.evaluation import load_queries
from onrecord.ranking import SHORT_WORDS
from onrecord.service import Onrecord


def fragment_first(answers) -> bool:
    """A fragment ranked above a longer answer that was asked the same question in its transcript."""
    for n, a in enumerate(answers):
        if a.asked and len(a.text.split()) < SHORT_WORDS and any(
                b.transcript.id == a.transcript.id and b.asked == a.asked and len(b.text.split()) >= SHORT_WORDS
                for b in answers[n + 1:]):
            return True
    return False


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("queries", nargs="+", type=Path)
    ap.add_argument("--index", type=Path, required=True)
    args = ap.parse_args()
    app = Onrecord(get_settings().model_copy(update={"index": args.index}))
    questions = [q["query"] for path in args.queries for q in load_queries(path)]
    answers = not_verbatim = rising = flips = fragments = 0
    with app.using() as searcher:
        texts: dict[str, str] = {}
        for question in questions:
            results = {k: searcher.search(question, top_k=k) for k in (1, 5, 20)}
            flips += len({r.no_answer for r in results.values()}) > 1
            scores = [a.score for a in results[20].answers]
            rising += any(not 0 <= s <= 1 for s in scores) or scores != sorted(scores, reverse=True)
            fragments += fragment_first(results[20].answers)
            for a in results[20].answers:
                if a.transcript.id not in texts:
                    texts[a.transcript.id] = searcher.store.transcript(a.transcript.id).text
                not_verbatim += texts[a.transcript.id][a.span[0]:a.span[1]] != a.text
                answers += 1
    print(f"{len(questions)} questions, {answers} answers (top 20): {not_verbatim} not verbatim, "
          f"{rising} responses with a score out of 0-1 or rising, {flips} questions whose no_answer differs "
          f"between top_k 1, 5 and 20, {fragments} with a fragment above a longer answer to its question")
    return 1 if not_verbatim or rising or flips else 0


if __name__ == "__main__":
    sys.exit(main())
