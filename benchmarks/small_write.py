"""What adding one small transcript to a large index costs: wall time and bytes written.

    python benchmarks/small_write.py --index /tmp/onrecord-bench/n1000000 [--file T.txt ...] [--rounds 20] [--kill 1 2 4]

Each round ingests a transcript (by default the test file tests/data/nato-2020-01-06-stoltenberg.txt,
ten passages; with several files, the next one in turn; a marker line makes a copy of one already
added new, so its passages repeat the earlier copies' as talking points) through the real ingest path
(parse, chunk, embed, repeats, one new generation), one after another, as a newsroom adds its
briefings; then each is removed again, so the index ends as it began. Reported per round:
seconds and bytes this process wrote to storage (/proc/self/io write_bytes less
cancelled_write_bytes: the generation's new files, the database's log and its checkpoint). A
writer that closes the database last copies its log into it (when another connection holds it
open, as a server does, the log stays for SQLite's checkpoint at 1,000 pages): the log is emptied
into the database before the rounds (not counted), and a checkpoint after them is measured (by
the process and by the device) and its share added to each round's figure, so the bytes per add
are all it costs. That count is the kernel's: on Linux 6.x, which caches a
file in folios of up to 2 MB, a 4 KB write into a cached folio counts the whole folio, so with the
database in the page cache it reads many times what the disk writes (7-17 MB an add at 100,000
passages, after the database was read through). Also reported (DISK) is what the block device
itself wrote during each add, after a sync before and after: every process's writes and the file
system's journal, so on a quiet machine the truth, an upper bound otherwise. Repeated copies of one
transcript find each other as repeated talking points, so later rounds write a few more rows.
They are set against the transcript's own size in the index (its passages' text and vectors), for
the issue's "no more than 2x its own size", and against the size of an index holding that
transcript alone (its database, lexical and vector files: what it costs to store it at all).

--kill S...: before the rounds, for each S, an `onrecord ingest` of the transcript in its own
process is sent SIGKILL S seconds in; then the index must still be at its generation and answer
(the fault test, at this size). The first round after them shows that the next writer goes on.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from onrecord.embedding import make_embedder  # noqa: E402
from onrecord.ingest import ingest_bytes, remove_transcripts  # noqa: E402
from onrecord.search import Searcher  # noqa: E402
from onrecord.store import describe, open_store  # noqa: E402

DEFAULT = Path(__file__).resolve().parent.parent / "tests" / "data" / "nato-2020-01-06-stoltenberg.txt"  # 10 passages


def written() -> int:
    """Bytes this process has sent to storage: /proc/self/io's write_bytes less cancelled_write_bytes
    (pages dirtied and then truncated away before they were written, such as SQLite's shared-memory
    file, removed with the log when the writer closes)."""
    with open("/proc/self/io") as fh:
        io = dict(line.split(": ") for line in fh.read().splitlines())
    return int(io["write_bytes"]) - int(io["cancelled_write_bytes"])


def device_written(path: Path) -> int | None:
    """Bytes the index's block device has written, all processes together (its stat file's seventh
    field, in 512-byte sectors), after flushing what is dirty: what reached the disk, the file
    system's journal included. None where the device cannot be found (not Linux, a network disk)."""
    os.sync()
    st = os.stat(path)
    try:
        return int(Path(f"/sys/dev/block/{os.major(st.st_dev)}:{os.minor(st.st_dev)}/stat").read_text().split()[6]) * 512
    except (OSError, IndexError, ValueError):
        return None


def checkpoint(db_path: Path) -> None:
    """Copy the log into the database now (what a later writer's checkpoint would write)."""
    db = sqlite3.connect(db_path)
    try:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", required=True)
    ap.add_argument("--file", type=Path, nargs="+", default=[DEFAULT],
                    help="transcripts to add, one a round in turn (a file given again is made new by a marker "
                         "line at its end: plain text or Markdown)")
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--kill", type=float, nargs="*", default=[], help="seconds into an ingest to SIGKILL it")
    args = ap.parse_args(argv)
    info = describe(args.index)
    embedder = make_embedder(info.model, info.backend)
    embedder.embed(["warm up"])
    print(f"{args.index}: {info.passages:,} passages")
    sizes = {}  # each file's own size: an index holding it alone
    for path in dict.fromkeys(args.file):
        alone = Path(tempfile.mkdtemp()) / "alone"
        ingest_bytes([(path.name, path.read_bytes())], alone, embedder)
        checkpoint(alone / "onrecord.sqlite")  # its log in its database, the log and its map removed
        sizes[path] = sum(f.stat().st_size for f in alone.rglob("*") if f.is_file() and f.name != ".lock")
        shutil.rmtree(alone.parent)
        print(f"an index holding only {path.name}: {sizes[path] / 1024:.0f} KB")
    base = args.file[0].read_bytes()
    if args.kill:
        store = open_store(args.index)
        known = {t.id for t in store.transcripts()}
        store.close()
    for seconds in args.kill:
        data = base + f"\n\n(killed round {seconds} {time.time()})\n".encode()
        tmp = Path(tempfile.mkdtemp()) / args.file[0].name
        tmp.write_bytes(data)
        proc = subprocess.Popen([sys.executable, "-m", "onrecord", "ingest", str(tmp), "--index", str(args.index)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(seconds)
        alive = proc.poll() is None
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        now = describe(args.index)
        store = open_store(args.index)
        answers = Searcher(store, embedder).search("What did NATO say about Article 5?", top_k=1).answers
        store.close()
        shutil.rmtree(tmp.parent)
        print(f"kill -9 at {seconds:.1f} s ({'while it ran' if alive else 'it had already exited'}): generation "
              f"{info.generation} -> {now.generation}, {now.passages:,} passages, answers: {bool(answers)} "
              f"({answers[0].speaker if answers else '-'})", flush=True)
        if now.generation != info.generation:  # it finished first: take its transcript out again
            store = open_store(args.index)
            added = [t.id for t in store.transcripts() if t.file == tmp.name and t.id not in known]
            store.close()
            remove_transcripts(added, args.index, info.model, info.dim, info.backend)
            info = describe(args.index)
    db_path = Path(args.index) / "onrecord.sqlite"
    checkpoint(db_path)  # the log left by earlier writes is not these rounds' to pay for
    added, adds, disk, alone_of, owns = [], [], [], [], []
    for n in range(args.rounds):
        path = args.file[n % len(args.file)]
        data = path.read_bytes()
        if n >= len(args.file):
            data += f"\n\n(small-write round {n} {time.time()})\n".encode()
        alone_of.append(sizes[path])
        d0 = device_written(db_path)
        w0, t0 = written(), time.perf_counter()
        report = ingest_bytes([(path.name, data)], args.index, embedder)
        took, wrote = time.perf_counter() - t0, written() - w0
        d1 = device_written(db_path)
        if d0 is not None and d1 is not None:
            disk.append(d1 - d0)
        if not report.added:
            print(report.summary(), file=sys.stderr)
            return 1
        t = report.added[0]
        owns.append(sum(len(t.text[s:e].encode()) for s, e in (tu.span for tu in t.turns)) + report.passages * info.dim * 4)
        added.append(t.id)
        adds.append((took, wrote))
        print(f"add {n}: {path.name}, {report.passages} passages {took:.2f} s, wrote {wrote / 1024:,.0f} KB"
              + (f"; the disk wrote {disk[-1] / 1024:,.0f} KB = {disk[-1] / sizes[path]:.2f}x its index alone "
                 f"({sizes[path] / 1024:.0f} KB)" if disk else ""), flush=True)
    w0, d0 = written(), device_written(db_path)
    checkpoint(db_path)
    share = (written() - w0) / len(adds)
    d1 = device_written(db_path)
    disk_share = (d1 - d0) / len(adds) if d0 is not None and d1 is not None else 0
    per_add = sum(w for _, w in adds) / len(adds) + share
    times = sorted(t for t, _ in adds)
    print(f"checkpoint after {len(adds)} adds: {share * len(adds) / 1024:,.0f} KB, {share / 1024:,.0f} KB an add")
    alone_mean = sum(alone_of) / len(alone_of)
    print(f"ADD: {times[len(times) // 2]:.2f} s median, {times[-1]:.2f} s max; {per_add / 1024:,.0f} KB written an add "
          f"(log {sum(w for _, w in adds) / len(adds) / 1024:,.0f} KB + checkpoint share {share / 1024:,.0f} KB) = "
          f"{per_add / max(1, sum(owns) / len(owns)):,.1f}x its text and vectors ({sum(owns) / len(owns) / 1024:.0f} KB), "
          f"{per_add / alone_mean:,.2f}x an index of it alone ({alone_mean / 1024:.0f} KB)", flush=True)
    if disk:
        ratios = sorted((d + disk_share) / a for d, a in zip(disk, alone_of))
        on_disk = sorted(disk)[len(disk) // 2]
        print(f"DISK: {on_disk / 1024:,.0f} KB an add, median (min {min(disk) / 1024:,.0f}, max {max(disk) / 1024:,.0f}): "
              f"what the device wrote while it ran, every process, journal included; with the checkpoint's share "
              f"({disk_share / 1024:,.0f} KB an add) each add against its index alone: median "
              f"{ratios[len(ratios) // 2]:.2f}x (min {ratios[0]:.2f}x, max {ratios[-1]:.2f}x)", flush=True)
    removes = []
    for tid in added:
        w1, t1 = written(), time.perf_counter()
        remove_transcripts([tid], args.index, info.model, info.dim, info.backend)
        removes.append((time.perf_counter() - t1, written() - w1))
    w0 = written()
    checkpoint(db_path)
    share = (written() - w0) / len(removes)
    times = sorted(t for t, _ in removes)
    print(f"REMOVE: {times[len(times) // 2]:.2f} s median, {times[-1]:.2f} s max; "
          f"{(sum(w for _, w in removes) / len(removes) + share) / 1024:,.0f} KB written a removal "
          f"(checkpoint share {share / 1024:,.0f} KB)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
