"""What small writes cost over time, the write that takes the recent passages to the files included.

    python benchmarks/recent_fold.py CORPUS_FOLDER [--base 50] [--work /tmp/onrecord-fold]

Builds an index from the first --base transcripts of a folder in one write, then adds the others
one file at a time through the real ingest path (as a newsroom adds its briefings), each its own
write: the small ones keep their passages recent (store/recent.py) until one would take them past
RECENT_MAX (or past the lexical index's size), which writes them all to a lexical and a vector
segment in a new generation folder. Per add: passages, the recent passages after it, seconds, and
what the block device wrote (a sync before and after, as small_write.py reads it); then the
median add, the adds that went to the files, and the bytes an add on average over all of them,
SQLite's checkpoint of what they left in its log included. --files-only writes every add to the
files, as before recent passages, for comparison.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from small_write import checkpoint, device_written  # noqa: E402

from onrecord.embedding import make_embedder  # noqa: E402
from onrecord.ingest import ingest_files  # noqa: E402
from onrecord.store import read_manifest  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--base", type=int, default=50, help="transcripts in the first write")
    ap.add_argument("--work", type=Path, default=Path("/tmp/onrecord-fold"))
    ap.add_argument("--files-only", action="store_true", help="every write to the files (no recent passages): "
                                                              "the comparison")
    args = ap.parse_args(argv)
    if args.files_only:
        import onrecord.store.local as local

        local.RECENT_MAX = 0
    files = sorted(p for p in args.corpus.iterdir() if p.is_file() and not p.name.startswith("."))
    embedder = make_embedder()
    embedder.embed(["warm up"])
    index = args.work / "index"
    shutil.rmtree(args.work, ignore_errors=True)
    ingest_files([str(p) for p in files[: args.base]], index, embedder)
    db = index / "onrecord.sqlite"
    checkpoint(db)
    adds, folds = [], []
    for path in files[args.base:]:
        before = read_manifest(index)
        d0, t0 = device_written(db), time.perf_counter()
        report = ingest_files([str(path)], index, embedder)
        took, wrote = time.perf_counter() - t0, (device_written(db) or 0) - (d0 or 0)
        after = read_manifest(index)
        recent = after["recent"]
        folded = after["data"] != before["data"]
        n_recent = after["passages"] - recent["from"] + 1 if not folded else 0  # ids run on: an upper bound
        adds.append((took, wrote, report.passages))
        if folded:
            folds.append(len(adds) - 1)
        print(f"{path.name[:60]:<60} {report.passages:>4} passages {took:5.2f} s {wrote / 1024:8,.0f} KB"
              + ("   -> the files" if folded else f"   recent <= {n_recent:,}"), flush=True)
    d0 = device_written(db)
    checkpoint(db)
    share = ((device_written(db) or 0) - (d0 or 0)) / max(1, len(adds))
    small = sorted(w for i, (_, w, _) in enumerate(adds) if i not in folds)
    big = sorted(adds[i][1] for i in folds)
    times = sorted(t for t, _, _ in adds)
    mean = sum(w for _, w, _ in adds) / len(adds) + share
    print(f"{len(adds)} adds, {sum(p for _, _, p in adds):,} passages; {len(folds)} to the files"
          + (f" ({big[len(big) // 2] / 1024:,.0f} KB median, {big[-1] / 1024:,.0f} KB max)" if big else "")
          + (f"; the others {small[len(small) // 2] / 1024:,.0f} KB median" if small else "")
          + f"; add {times[len(times) // 2]:.2f} s median, {times[-1]:.2f} s max; checkpoint after them "
          f"{share / 1024:,.0f} KB an add; {mean / 1024:,.0f} KB an add in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
