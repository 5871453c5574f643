"""The reading of a whole corpus against its reviewed summary: per file, each speaker with its role
and number of turns, and the counts of turns and exchanges. Shows what a parser change moved.

    python benchmarks/reading_check.py ../shared/data/corpus            # compare (exit 1 on a difference)
    python benchmarks/reading_check.py ../shared/data/corpus --write    # after reviewing, record anew

The summary of the development corpus is benchmarks/golden/corpus-reading.json (the corpus itself
is not in the repository; the tests' golden files cover the transcripts in tests/).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from onrecord.transcripts import SUFFIXES, parse_file

GOLDEN = Path(__file__).parent / "golden" / "corpus-reading.json"


def reading(folder: Path) -> dict:
    out = {}
    for f in sorted(p for p in folder.iterdir() if p.suffix.lower() in SUFFIXES and p.name != "README.md"):
        for t in parse_file(f):
            speakers = Counter(f"{tu.speaker} ({tu.role})" for tu in t.turns)
            out[t.file] = {"speakers": dict(sorted(speakers.items())), "turns": len(t.turns),
                           "exchanges": len(t.exchanges), "date": t.date}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--golden", type=Path, default=GOLDEN)
    ap.add_argument("--write", action="store_true", help="record the current reading as the summary")
    args = ap.parse_args()
    now = reading(args.corpus)
    if args.write:
        args.golden.write_text(json.dumps(now, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"wrote {args.golden}: {len(now)} transcripts")
        return 0
    before = json.loads(args.golden.read_text(encoding="utf-8"))
    moved = [name for name in sorted(set(now) | set(before)) if now.get(name) != before.get(name)]
    for name in moved:
        print(f"{name}:\n  recorded {json.dumps(before.get(name), ensure_ascii=False)}\n"
              f"  now      {json.dumps(now.get(name), ensure_ascii=False)}")
    print(f"{len(now)} transcripts read, {len(moved)} differ from {args.golden.name}")
    return 1 if moved else 0


if __name__ == "__main__":
    sys.exit(main())
