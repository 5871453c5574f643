"""Embedding backends: the same model three ways, one backend per index, no torch to answer."""

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from conftest import DATA, SEED
from onrecord.config import Settings
from onrecord.embedding import OnnxEmbedder, SentenceTransformerEmbedder, _st_config, export_onnx
from onrecord.errors import ModelMismatch, OnrecordError
from onrecord.service import Onrecord, backend_for
from onrecord.store import LocalWriter, read_manifest


def test_auto_backend_is_the_index_s_own_or_the_default_for_a_new_index(tmp_path):
    settings = Settings(index=tmp_path / "index")
    assert backend_for(settings) == "onnx-int8"
    with LocalWriter(settings.index, "all-MiniLM-L6-v2", 384, "torch") as w:
        w.commit()
    assert read_manifest(settings.index)["backend"] == "torch"
    assert backend_for(settings) == "torch"  # an index keeps answering with the backend it was built with
    assert backend_for(settings.model_copy(update={"backend": "onnx"})) == "onnx"


def test_an_index_refuses_questions_embedded_by_another_backend(tmp_path, fake_embedder):
    app = Onrecord(Settings(index=tmp_path / "index"), embedder=fake_embedder)
    app.ingest_paths([str(SEED)])
    fake_embedder.backend = "other"
    with pytest.raises(ModelMismatch, match="built with the 'fake' embedding backend"):
        Onrecord(app.settings, embedder=fake_embedder).ask("Article 5")


def test_backend_setting_is_checked():
    with pytest.raises(ValueError, match="onnx-int8"):
        Settings(backend="tensorflow")


def test_onnx_backend_says_which_models_it_cannot_run(tmp_path):
    (tmp_path / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"},
    ]))
    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps({"pooling_mode_mean_tokens": True}))
    (tmp_path / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 128}))
    with pytest.raises(OnrecordError, match="ONRECORD_BACKEND=torch"):
        _st_config(tmp_path)
    with pytest.raises(OnrecordError, match="ONRECORD_BACKEND=torch"):
        export_onnx(tmp_path, tmp_path / "cache")  # no weights


@pytest.mark.slow
def test_onnx_computes_the_same_vectors_as_torch_and_int8_nearly(tmp_path):
    texts = [p.read_text(encoding="utf-8")[i : i + 700] for p in sorted(DATA.iterdir()) for i in (3000, 9000)]
    texts += ["What did NATO say about Article 5?", "Iran"]
    torch_v = SentenceTransformerEmbedder(threads=2).embed(texts)
    fp32 = OnnxEmbedder(threads=2, cache=tmp_path)
    int8 = OnnxEmbedder(threads=2, int8=True, cache=tmp_path)
    # a server's first requests arrive together: one load and one export, the same answer for all
    with ThreadPoolExecutor(4) as pool:
        first = list(pool.map(fp32.embed_query, ["Iran"] * 4))
    assert all(np.array_equal(v, first[0]) for v in first)
    cos32 = (fp32.embed(texts) * torch_v).sum(1)
    cos8 = (int8.embed(texts) * torch_v).sum(1)
    assert cos32.min() > 0.99999, cos32
    assert cos8.min() > 0.95 and cos8.mean() > 0.99, cos8  # int8 moves vectors a little (metrics: README)
    # exported once, written whole: only the two finished graphs are in the cache
    assert sorted(p.name for p in tmp_path.glob("*/*")) == ["model-int8.onnx", "model.onnx"]
    assert np.allclose(fp32.embed_query("Iran"), fp32.embed(["Iran"])[0])


@pytest.mark.slow
def test_a_process_that_only_answers_never_imports_torch(real_app):
    code = ("import sys; from onrecord.config import Settings; from onrecord.service import Onrecord;"
            f"r = Onrecord(Settings(index={str(real_app.index)!r})).ask('What did NATO say about Article 5?');"
            "assert r.answers[0].speaker == 'Jens Stoltenberg', r.answers[0];"
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "False"
