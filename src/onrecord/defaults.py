"""Defaults that the settings and the stages share (so that `config` imports no stage)."""

from __future__ import annotations

import os
from pathlib import Path

# embedding backends: onnx (fp32), onnx-int8 (the default for a new index), torch (sentence-transformers)
BACKENDS = ("onnx", "onnx-int8", "torch")
DEFAULT_BACKEND = "onnx-int8"
DEFAULT_CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "onrecord"
# An answer whose ranking score (0-1) is below this is a weak match, and a question whose top
# answer is weak has nothing on the record (calibrated on the development questions' held-out
# scores against off-topic questions: benchmarks/ranking_cv.py prints the table).
WEAK_SCORE = 0.02
