"""Count answer passages that hold another turn's label, a footnote paragraph or a call on a
reporter, over a folder of transcripts (parse + chunk, no model).

    python benchmarks/passage_check.py ../shared/data/corpus [--show 5]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from onrecord.chunking import chunk
from onrecord.errors import TranscriptError
from onrecord.inspection import passage_problems
from onrecord.transcripts import SUFFIXES, parse_file


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folders", nargs="+", type=Path)
    ap.add_argument("--show", type=int, default=3, help="examples to print per kind")
    args = ap.parse_args()
    passages, failed = [], 0
    files = sorted(f for d in args.folders for f in d.rglob("*") if f.suffix.lower() in SUFFIXES and f.name != "README.md")
    for f in files:
        try:
            passages += [p for t in parse_file(f) for p in chunk(t)]
        except TranscriptError as exc:
            failed += 1
            print(f"skipped {f.name}: {exc}", file=sys.stderr)
    problems = passage_problems(passages)
    print(f"{len(files)} files, {len(passages)} passages, {failed} unreadable")
    for kind, hits in problems.items():
        print(f"{kind:<10} {len(hits)}")
        for h in hits[: args.show]:
            print("   ", h[:200])


if __name__ == "__main__":
    main()
