"""The benchmark keeps working: a CI-sized run (tiny sizes, the real model, no timing assertions)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import DATA

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent


def test_benchmark_runs_end_to_end_at_tiny_sizes(tmp_path):
    queries = tmp_path / "q.jsonl"
    queries.write_text("\n".join(json.dumps({"query": q}) for q in
                                 ["What did NATO say about Article 5?", "hurricane recovery", "Iran"]))
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench.py"), str(DATA), "--queries", str(queries),
         "--sizes", "1500", "3000", "--hnsw-threshold", "2000", "--no-torch", "--work", str(tmp_path / "w")],
        capture_output=True, text=True, timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "(a) ingest [onnx-int8]: 8 transcripts" in out.stdout
    result = json.loads(out.stdout.strip().splitlines()[-1])
    ingest = result["ingest"]
    assert ingest["failed"] == 0 and ingest["passages"] > 100 and ingest["tokens"] > ingest["passages"]
    assert 0 < ingest["embed_s"] < ingest["total_s"] and ingest["raw_encode_s"] > 0
    real, small, large = result["sizes"]
    assert [r["synthetic"] for r in result["sizes"]] == [False, True, True]
    assert (real["passages"], small["passages"], large["passages"]) == (ingest["passages"], 1500, 3000)
    # below the threshold dense search is exact (recall 1 by definition); above it, the graph
    assert real["ask"]["dense_index"] == small["ask"]["dense_index"] == "flat"
    assert real["ask"]["recall_at_10"] == 1.0
    assert large["ask"]["dense_index"] == "hnsw" and 0.9 <= large["ask"]["recall_at_10"] <= 1.0
    for row in result["sizes"]:
        assert row["cold"]["answers"] > 0 and row["cold"]["first_answer_s"] > 0 and row["cold"]["peak_rss_mb"] > 50
        assert set(row["ask"]["stages_p50_ms"]) >= {"embed", "dense", "lexical", "rank", "present"}
