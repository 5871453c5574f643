"""What adding one small transcript to a large index costs: wall time and bytes written.

    python benchmarks/small_write.py --index /tmp/onrecord-bench/n1000000 [--file T.txt] [--rounds 3]

Each round ingests a transcript of ten passages (by default the test file
tests/data/nato-2020-01-06-stoltenberg.txt; a marker line makes each round's copy new) through the real ingest path
(parse, chunk, embed, repeats, one new generation), then removes it again, so the index ends as it
began. Reported per round: seconds, bytes this process wrote to storage (/proc/self/io
write_bytes: the generation's new files, copies included), and the transcript's own size in the
index (its passages' text and vectors), for the issue's "no more than 2x its own size".
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from onrecord.embedding import make_embedder  # noqa: E402
from onrecord.ingest import ingest_bytes, remove_transcripts  # noqa: E402
from onrecord.store import describe  # noqa: E402

DEFAULT = Path(__file__).resolve().parent.parent / "tests" / "data" / "nato-2020-01-06-stoltenberg.txt"  # 10 passages


def written() -> int:
    with open("/proc/self/io") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("write_bytes"))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", required=True)
    ap.add_argument("--file", type=Path, default=DEFAULT)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)
    info = describe(args.index)
    embedder = make_embedder(info.model, info.backend)
    embedder.embed(["warm up"])
    base = args.file.read_bytes()
    print(f"{args.index}: {info.passages:,} passages")
    for n in range(args.rounds):
        data = base + f"\n\n(small-write round {n} {time.time()})\n".encode()
        w0, t0 = written(), time.perf_counter()
        report = ingest_bytes([(args.file.name, data)], args.index, embedder)
        took, wrote = time.perf_counter() - t0, written() - w0
        if not report.added:
            print(report.summary(), file=sys.stderr)
            return 1
        t = report.added[0]
        own = sum(len(t.text[s:e].encode()) for s, e in (tu.span for tu in t.turns)) + report.passages * info.dim * 4
        w1, t1 = written(), time.perf_counter()
        remove_transcripts([t.id], args.index, info.model, info.dim, info.backend)
        print(f"round {n}: add {report.passages} passages {took:.2f} s, wrote {wrote / 2**20:,.1f} MB "
              f"({wrote / max(1, own):,.0f}x its own {own / 1024:.0f} KB); remove {time.perf_counter() - t1:.2f} s, "
              f"wrote {(written() - w1) / 2**20:,.1f} MB", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
