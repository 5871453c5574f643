"""Where a small write's bytes go: what the disk wrote during each step of one add.

    python benchmarks/write_phases.py --index INDEX [--file T.txt]

Adds one transcript (a marker line makes it new) through the real ingest path, with a sync and a
reading of the block device's count of sectors written (as small_write.py reads it) around each
step of the local writer: opening it (the lock, the new generation's folders and links, the
previous generation read for repeated talking points), the adds before the lexical commit, the
lexical commit, the vector segment, the database's commit, publishing. The syncs between steps
write some blocks twice that one add writes once, so the steps add up to more than an add costs
alone (small_write.py): read the figures as shares. The transcript stays in the index.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from small_write import DEFAULT, device_written  # noqa: E402

from onrecord.embedding import make_embedder  # noqa: E402
from onrecord.ingest import ingest_bytes  # noqa: E402
from onrecord.store import describe, lexical, local, tables, vectors  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--file", type=Path, default=DEFAULT)
    args = ap.parse_args(argv)
    marks: list[tuple[str, int]] = []

    def mark(name: str) -> None:
        marks.append((name, device_written(args.index) or 0))

    def around(owner, attr: str, name: str) -> None:
        inner = getattr(owner, attr)

        def step(*a, **k):
            mark(f"before {name}")
            out = inner(*a, **k)
            mark(name)
            return out
        setattr(owner, attr, step)

    around(local.LocalWriter, "__init__", "opening the writer")
    around(lexical.LexicalWriter, "finish", "lexical commit")
    around(vectors.VectorsWriter, "write", "vector segment")
    around(tables.TablesWriter, "finish", "database commit")
    around(local, "publish", "publishing")
    info = describe(args.index)
    embedder = make_embedder(info.model, info.backend)
    embedder.embed(["warm up"])
    data = args.file.read_bytes() + f"\n\n(write phases {time.time()})\n".encode()
    report = ingest_bytes([(args.file.name, data)], args.index, embedder)
    mark("end")
    if not report.added:
        print(report.summary(), file=sys.stderr)
        return 1
    print(f"{args.index}: {info.passages:,} passages; {args.file.name}, {report.passages} passages")
    for (_, before), (name, after) in zip(marks, marks[1:]):
        if not name.startswith("before "):
            print(f"{(after - before) / 1024:8,.0f} KB  {name}")
        elif after > before:
            print(f"{(after - before) / 1024:8,.0f} KB  between steps, {name[7:]} next")
    print(f"{(marks[-1][1] - marks[0][1]) / 1024:8,.0f} KB  in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
