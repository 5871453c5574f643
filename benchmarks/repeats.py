"""Repeated talking points: how many the ingest finds, and what the vector candidates miss.

    python benchmarks/repeats.py --index INDEX [--neighbours 5 10 20 50] [--threshold 0.5] [--show 8]

Over the passages of an index (e.g. `onrecord ingest ../shared/data/corpus --index /tmp/dev`):
- exhaustive: every pair of eligible passages (a named spokesperson, MIN_WORDS or more) by one
  speaker in two transcripts, compared by word 3-shingle Jaccard through an inverted index of the
  shingles: the pairs at or above the threshold are the truth;
- as ingest finds them (repeats.find): each passage's nearest passages of the same speaker by
  vector, for several numbers of neighbours, in two ways: one batch (a first ingest) and in two
  halves (the second half against an index holding the first, as a later ingest does);
- recall of the ingest's pairs against the exhaustive ones, and the time each takes;
- a sample of the pairs found, to read.
"""

from __future__ import annotations

import argparse
import itertools
import random
import time
from collections import defaultdict

import numpy as np

from onrecord import repeats
from onrecord.store import open_store


def exhaustive(passages, threshold: float) -> set:
    keep = [i for i, p in enumerate(passages) if repeats.eligible(p)]
    sets = {i: repeats.shingles(passages[i].text) for i in keep}
    postings = defaultdict(list)
    for i in keep:
        for s in sets[i]:
            postings[(passages[i].speaker, s)].append(i)
    seen, found = set(), set()
    for ids in postings.values():
        for a, b in itertools.combinations(ids, 2):
            if (a, b) in seen or passages[a].transcript_id == passages[b].transcript_id:
                continue
            seen.add((a, b))
            if repeats.similarity(sets[a], sets[b]) >= threshold:
                found.add(key(passages[a], passages[b]))
    return found


def key(a, b) -> tuple:
    x, y = (a.transcript_id, a.span[0]), (b.transcript_id, b.span[0])
    return (x, y) if x < y else (y, x)


def pair_key(pair) -> tuple:
    x, y = (pair.a.transcript_id, pair.a.start), (pair.b.transcript_id, pair.b.start)
    return (x, y) if x < y else (y, x)


def halves(passages, vectors, neighbours: int, threshold: float) -> set:
    """The second half of the transcripts ingested into an index holding the first."""
    tids = sorted({p.transcript_id for p in passages})
    first = set(tids[: len(tids) // 2])
    old = [i for i, p in enumerate(passages) if p.transcript_id in first]
    new = [i for i, p in enumerate(passages) if p.transcript_id not in first]
    by_speaker = defaultdict(list)
    for i in old:
        by_speaker[passages[i].speaker].append(i)

    def similar(vector, speaker, n):  # what the store's dense search within one speaker returns
        ids = by_speaker.get(speaker, [])
        if not ids:
            return []
        cos = vectors[ids] @ vector
        top = np.argsort(-cos)[:n]
        return [passages[ids[t]] for t in top]

    found = {pair_key(p) for p in repeats.find([passages[i] for i in old], vectors[old], None, neighbours, threshold)}
    found |= {pair_key(p) for p in repeats.find([passages[i] for i in new], vectors[new], similar, neighbours, threshold)}
    return found


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index", required=True)
    ap.add_argument("--neighbours", type=int, nargs="+", default=[5, 10, 20, 50])
    ap.add_argument("--threshold", type=float, default=repeats.MIN_SIMILARITY)
    ap.add_argument("--show", type=int, default=8)
    args = ap.parse_args()
    store = open_store(args.index)
    rows = list(store.iter_passages())
    passages = [r.passage() for r, _ in rows]
    vectors = np.stack([v for _, v in rows]).astype(np.float32)
    eligible = sum(repeats.eligible(p) for p in passages)
    print(f"{args.index}: {len(passages)} passages, {eligible} eligible (named spokesperson, >= {repeats.MIN_WORDS} words)")
    t0 = time.perf_counter()
    truth = exhaustive(passages, args.threshold)
    print(f"exhaustive, Jaccard >= {args.threshold}: {len(truth)} pairs in {time.perf_counter() - t0:.1f} s")
    print(f"{'neighbours':>10} {'one batch':>22} {'two halves':>22}")
    for k in args.neighbours:
        t0 = time.perf_counter()
        batch = {pair_key(p) for p in repeats.find(passages, vectors, None, k, args.threshold)}
        t1 = time.perf_counter()
        split = halves(passages, vectors, k, args.threshold)
        t2 = time.perf_counter()

        def cell(found, seconds):
            recall = len(found & truth) / len(truth) if truth else 1.0
            return f"{len(found):>4} recall {recall:.3f} {seconds:5.1f}s"
        print(f"{k:>10} {cell(batch, t1 - t0):>22} {cell(split, t2 - t1):>22}")
    by_key = {(p.transcript_id, p.span[0]): (p, r) for p, (r, _) in zip(passages, rows)}
    random.seed(0)
    for a, b in random.sample(sorted(truth), min(args.show, len(truth))):
        (pa, ra), (pb, rb) = by_key[a], by_key[b]
        s = repeats.similarity(repeats.shingles(pa.text), repeats.shingles(pb.text))
        print(f"\n-- {pa.speaker}, {ra.date} and {rb.date}: Jaccard {s:.2f}")
        print("   ", " ".join(pa.text.split())[:240])
        print("   ", " ".join(pb.text.split())[:240])


if __name__ == "__main__":
    main()
