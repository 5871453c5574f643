"""Defaults that the settings and the stages share (so that `config` imports no stage)."""

from __future__ import annotations

import os
from pathlib import Path

# embedding backends: onnx (fp32), onnx-int8 (the default for a new index), torch (sentence-transformers)
BACKENDS = ("onnx", "onnx-int8", "torch")
DEFAULT_BACKEND = "onnx-int8"
DEFAULT_CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "onrecord"
# A top answer whose cosine to the question is below this is not an answer (calibrated on the
# development queries against off-topic questions: benchmarks/calibrate_no_answer.py).
WEAK_SCORE = 0.40
