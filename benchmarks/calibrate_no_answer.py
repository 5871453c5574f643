"""Where to draw the "nothing on the record" line: the top answer's score (the ranker's, 0-1) for
answerable development questions vs. off-topic questions, and what each threshold would do.

    python benchmarks/calibrate_no_answer.py ../shared/data/queries.jsonl ../shared/data/queries-more.jsonl --index INDEX

The shipped ranker was fitted on the development questions, so their scores here are in-sample;
benchmarks/ranking_cv.py prints the same table with each question scored by a model fitted
without its transcript (the figures the threshold was chosen on).
"""

import argparse
from pathlib import Path

from onrecord.config import get_settings
from onrecord.evaluation import load_queries
from onrecord.service import Onrecord

HERE = Path(__file__).parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("queries", type=Path, nargs="+")
    ap.add_argument("--index", type=Path)
    args = ap.parse_args()
    settings = get_settings()
    if args.index:
        settings = settings.model_copy(update={"index": args.index})
    searcher = Onrecord(settings).searcher()
    answerable = [searcher.search(q["query"], top_k=1).answers[0].score for path in args.queries
                  for q in load_queries(path)]
    off = [line.strip() for line in (HERE / "offtopic_questions.txt").read_text().splitlines() if line.strip()]
    offtopic = [searcher.search(q, top_k=1).answers[0].score for q in off]
    print(f"answerable: n={len(answerable)} min={min(answerable):.3f} median={sorted(answerable)[len(answerable)//2]:.3f}")
    print(f"off-topic:  n={len(offtopic)} max={max(offtopic):.3f} median={sorted(offtopic)[len(offtopic)//2]:.3f}")
    print("threshold  answerable-kept  off-topic-refused")
    for t in (0.005, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.10, 0.20):
        kept = sum(s >= t for s in answerable) / len(answerable)
        refused = sum(s < t for s in offtopic) / len(offtopic)
        print(f"{t:9.3f}  {kept:15.3f}  {refused:17.3f}")


if __name__ == "__main__":
    main()
