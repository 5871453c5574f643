"""Parse adversarial transcript files of a given size: time and peak memory per kind.

    python benchmarks/adversarial.py --mb 20        # each kind in its own process

The kinds are the hostile inputs of issue 10: long runs of white space in HTML and in text, many
distinct speaker labels, one giant line of punctuation, a run of asterisks, oversized front
matter. Each is parsed and chunked as ingest does (no embedding). Target: 20 MB in under 20 s.
"""

from __future__ import annotations

import argparse
import random
import resource
import string
import subprocess
import sys
import time


def html_spaces(n: int) -> bytes:
    return ("<html><body><p>MR. DOE: Hello." + " " * n + "there.</p></body></html>").encode()


def html_newlines(n: int) -> bytes:
    return ("<html><body><p>MR. DOE: Hello." + " \n" * (n // 2) + "there.</p></body></html>").encode()


def text_spaces(n: int) -> bytes:
    return ("MR. DOE: Hello." + " " * n + "there.\n").encode()


def many_labels(n: int) -> bytes:
    rng = random.Random(1)
    out, size = [], 0
    while size < n:
        name = "".join(rng.choice(string.ascii_uppercase) for _ in range(8))
        line = f"MR. {name}: I said so.\n\n"
        out.append(line)
        size += len(line)
    return "".join(out).encode()


def punctuation_line(n: int) -> bytes:
    return ("MS. ROE: " + "?!;,.:" * (n // 6)).encode()


def asterisks(n: int) -> bytes:
    return ("MS. ROE: Hello.\n\n" + "*" * n + "\n").encode()


def front_matter(n: int) -> bytes:
    return ("---\n" + "key: value\n" * (n // 11) + "---\nMS. ROE: Hello.\n").encode()


CASES = {
    "html-spaces": html_spaces, "html-newlines": html_newlines, "text-spaces": text_spaces,
    "many-labels": many_labels, "punctuation-line": punctuation_line, "asterisks": asterisks,
    "front-matter": front_matter,
}


def run_one(name: str, size: int) -> None:
    from onrecord.chunking import chunk
    from onrecord.errors import TranscriptError
    from onrecord.transcripts import parse_bytes

    data = CASES[name](size)
    t0 = time.perf_counter()
    outcome = ""
    try:
        transcripts = parse_bytes(data, name + (".html" if name.startswith("html") else ".md"))
        passages = [p for t in transcripts for p in chunk(t)]
        outcome = f"{sum(len(t.turns) for t in transcripts)} turns, {len(passages)} passages, "
        outcome += f"longest {max((len(p.text) for p in passages), default=0)} chars"
    except TranscriptError as exc:
        outcome = f"refused: {exc}"
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{name:<18} {len(data) / 1e6:6.1f} MB {seconds:7.2f} s  peak RSS {peak:7.0f} MB  {outcome[:90]}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mb", type=float, default=20.0, help="size of each file (default 20 MB)")
    ap.add_argument("--one", choices=sorted(CASES), help=argparse.SUPPRESS)
    args = ap.parse_args()
    size = int(args.mb * 1_000_000)
    if args.one:
        run_one(args.one, size)
        return
    print(f"{'kind':<18} {'size':>9} {'time':>9}  {'peak memory':>17}  outcome")
    for name in CASES:
        subprocess.run([sys.executable, __file__, "--one", name, "--mb", str(args.mb)], check=True)


if __name__ == "__main__":
    main()
