"""Cold start: process start to first answer, for `python app.py` (UI + API) and `onrecord ask`.

    python benchmarks/cold_start.py --index INDEX [--runs 3]

The index must exist (build it with `onrecord ingest`), so this measures start-up, not ingest.
"""

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "What did NATO say about Article 5?"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_cold_start(index: Path) -> float:
    port = free_port()
    env = {**os.environ, "ONRECORD_INDEX": str(index), "ONRECORD_PORT": str(port)}
    url = f"http://127.0.0.1:{port}/api/ask?q={urllib.parse.quote(QUESTION)}&top_k=1"
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, str(ROOT / "app.py")], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            if proc.poll() is not None:
                raise SystemExit("server exited")
            try:
                with urllib.request.urlopen(url, timeout=30) as r:
                    if json.loads(r.read())["answers"]:
                        return time.perf_counter() - t0
            except OSError:
                time.sleep(0.05)
    finally:
        proc.terminate()
        proc.wait()


def cli_cold_start(index: Path) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "onrecord", "ask", QUESTION, "-k", "1", "--index", str(index)],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    server = [server_cold_start(args.index) for _ in range(args.runs)]
    cli = [cli_cold_start(args.index) for _ in range(args.runs)]
    print(f"python app.py, process start to first answer: median {statistics.median(server):.1f} s "
          f"(runs: {', '.join(f'{x:.1f}' for x in server)})")
    print(f"onrecord ask, whole command: median {statistics.median(cli):.1f} s (runs: {', '.join(f'{x:.1f}' for x in cli)})")


if __name__ == "__main__":
    main()
