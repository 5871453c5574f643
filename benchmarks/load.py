"""A bounded load test on loopback: N concurrent clients asking for T seconds.

    python benchmarks/load.py --index INDEX [--clients 16] [--seconds 60] [--queries QUERIES.jsonl] [--workers 1 2 4]
    python benchmarks/load.py --url http://127.0.0.1:7860 --pid PID ...

With --index it starts the server on a free loopback port itself (and stops it after): `python
app.py` for one worker, `onrecord serve --workers N` (the API in N processes) for more, one run
per --workers value, with a table of throughput at the end. Each
client keeps one HTTP connection and sends POST /api/ask with questions taken in turn from the
query file (or a built-in list), so most questions are not cached. It reports requests served,
errors (any status but 200, or a failed connection), throughput, p50/p99 latency, and the
server's resident memory at the start and the end. The run stops by itself.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = [
    "What did NATO say about Article 5?", "Iran nuclear weapons", "What did Kirby say about the hostages?",
    "gas prices and the pipeline", "What did the President say about Bert Lance?", "ceasefire in Gaza",
    "training mission in Iraq", "Rafah operation", "Federal Reserve and interest rates", "cyber attack on pipelines",
]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def tree_rss_mb(pid: int) -> float:
    """The resident memory of a process and all its descendants (the workers of a server)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        try:
            total += rss_mb(p)
        except OSError:
            continue
        todo += children.get(p, [])
    return total


def start_server(index: Path, workers: int = 1) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "ONRECORD_INDEX": str(index), "ONRECORD_PORT": str(port), "ONRECORD_HOST": "127.0.0.1",
           "ONRECORD_WORKERS": str(workers)}
    command = [sys.executable, str(ROOT / "app.py")] if workers == 1 else [sys.executable, "-m", "onrecord", "serve"]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/api/health")
            if conn.getresponse().status == 200:
                return proc, url
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the server did not start")


def run(url: str, clients: int, seconds: float, questions: list[str], unique: bool = False, pid: int | None = None) -> dict:
    parsed = urllib.parse.urlparse(url)
    if parsed.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("load tests only target this machine (loopback)")
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client(n: int) -> None:
        conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
        i = n * 7919
        while time.monotonic() < stop_at:
            question = questions[i % len(questions)] + (f" {n}-{i}" if unique else "")
            body = json.dumps({"question": question, "top_k": 5})
            i += 1
            t0 = time.perf_counter()
            try:
                conn.request("POST", "/api/ask", body, {"Content-Type": "application/json"})
                resp = conn.getresponse()
                resp.read()
                ok = resp.status == 200
                problem = None if ok else f"HTTP {resp.status}"
            except (OSError, http.client.HTTPException) as exc:
                problem = f"{type(exc).__name__}: {exc}"
                conn.close()
                conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
            elapsed = (time.perf_counter() - t0) * 1e3
            with lock:
                if problem:
                    errors.append(problem)
                else:
                    latencies.append(elapsed)
        conn.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    samples, next_sample = [], 0.0
    while any(t.is_alive() for t in threads):
        if pid and time.monotonic() >= next_sample:
            samples.append(round(tree_rss_mb(pid)))
            next_sample = time.monotonic() + max(1.0, seconds / 6)
        time.sleep(0.2)
    for t in threads:
        t.join()
    wall = time.monotonic() - t0
    latencies.sort()
    pick = lambda p: latencies[min(len(latencies) - 1, int(p / 100 * (len(latencies) - 1)))] if latencies else float("nan")  # noqa: E731
    return {
        "clients": clients, "seconds": round(wall, 1), "requests": len(latencies) + len(errors), "errors": len(errors),
        "error_examples": sorted(set(errors))[:3], "throughput_rps": round(len(latencies) / wall, 1),
        "p50_ms": round(pick(50), 1), "p99_ms": round(pick(99), 1), "rss_samples_mb": samples,
    }


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", type=Path, help="start `python app.py` on this index")
    ap.add_argument("--url", help="or target a running server on loopback")
    ap.add_argument("--pid", type=int, help="the running server's pid (for its memory)")
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--queries", type=Path)
    ap.add_argument("--unique", action="store_true", help="make every question unique (no query-cache hits)")
    ap.add_argument("--workers", type=int, nargs="+", default=[1], help="with --index: server processes, a run for each")
    args = ap.parse_args(argv)
    questions = QUESTIONS
    if args.queries:
        questions = [json.loads(line)["query"] for line in args.queries.read_text().splitlines() if line.strip()]
    if not args.index and not args.url:
        ap.error("give --index or --url")
    results = []
    for workers in args.workers if args.index else [1]:
        proc = None
        if args.index:
            proc, url = start_server(args.index, workers)
            pid = proc.pid
        else:
            url, pid = args.url, args.pid
        try:
            run(url, workers, 4 if workers > 1 else 2, questions)  # warm up: model and caches in every worker
            start_rss = tree_rss_mb(pid) if pid else float("nan")
            result = run(url, args.clients, args.seconds, questions, args.unique, pid)
            result.update(workers=workers, rss_start_mb=round(start_rss, 1),
                          rss_end_mb=round(tree_rss_mb(pid), 1) if pid else None)
        finally:
            if proc:
                proc.terminate()
                proc.wait()
        print(f"{workers} worker(s), {result['clients']} clients for {result['seconds']} s: {result['requests']} requests, "
              f"{result['errors']} errors, {result['throughput_rps']} req/s, p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms; "
              f"server RSS {result['rss_start_mb']} MB at start, {result['rss_end_mb']} MB at end "
              f"(samples: {result['rss_samples_mb']})")
        print(json.dumps(result))
        results.append(result)
    if len(results) > 1:
        print(f"{'workers':>7} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'RSS MB':>7}")
        for r in results:
            print(f"{r['workers']:>7} {r['throughput_rps']:>7} {r['p50_ms']:>7} {r['p99_ms']:>7} {r['rss_end_mb']:>7}")
    return results


if __name__ == "__main__":
    main()
