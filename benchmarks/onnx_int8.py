"""Would ONNX Runtime int8 make embedding faster without hurting answers? Measured, not adopted.

    pip install onnxruntime onnx            # not dependencies of onnrecord: only this experiment
    python benchmarks/onnx_int8.py --index /tmp/dev --queries ../shared/data/queries.jsonl

Exports the bundled all-MiniLM-L6-v2 to ONNX locally (torch.onnx, no download), quantises it to
int8 (dynamic, per channel: uses VNNI on this CPU), then measures on the development set:
(1) one-question embedding latency for torch, ONNX fp32 and ONNX int8, and retrieval metrics with
int8 query vectors against the index's fp32 passage vectors; (2) int8 passage vectors too: encode
throughput and metrics.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import faiss  # noqa: E402

from onrecord.embedding import SentenceTransformerEmbedder, default_model_path  # noqa: E402
from onrecord.evaluation import evaluate, load_queries  # noqa: E402
from onrecord.models import Passage  # noqa: E402
from onrecord.search import Searcher  # noqa: E402
from onrecord.store import IndexReader  # noqa: E402


def export(folder: Path) -> tuple[str, str]:
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel, AutoTokenizer

    path = default_model_path()
    tok, model = AutoTokenizer.from_pretrained(path), AutoModel.from_pretrained(path).eval()
    # two lengths with padding, so the attention-mask path is traced in general (not specialised away)
    enc = tok(["an example", "a longer example sentence, so that the batch needs padding"], padding=True, return_tensors="pt")

    class Hidden(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.m(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state

    names = ["input_ids", "attention_mask", "token_type_ids"]
    fp32, int8 = str(folder / "model.onnx"), str(folder / "model-int8.onnx")
    torch.onnx.export(Hidden(model), tuple(enc[n] for n in names), fp32, input_names=names, output_names=["hidden"],
                      dynamic_axes={n: {0: "b", 1: "s"} for n in [*names, "hidden"]}, opset_version=17, dynamo=False)
    quantize_dynamic(fp32, int8, per_channel=True, weight_type=QuantType.QInt8)
    return fp32, int8


def onnx_embedder(model_file: str):
    import onnxruntime as ort
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(os.path.join(default_model_path(), "tokenizer.json"))
    tok.enable_truncation(256)
    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = 2, 1
    session = ort.InferenceSession(model_file, options, providers=["CPUExecutionProvider"])

    def embed(texts: list[str]) -> np.ndarray:
        encs = tok.encode_batch(texts)
        width = max(len(e.ids) for e in encs)
        ids = np.zeros((len(texts), width), np.int64)
        mask = np.zeros_like(ids)
        for i, e in enumerate(encs):  # the tokenizer may pad by itself: take its mask, not len(ids)
            ids[i, : len(e.ids)], mask[i, : len(e.ids)] = e.ids, e.attention_mask
        hidden = session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)})[0]
        v = (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
        return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)

    return embed


def metrics(reader, embedder, queries) -> str:
    summary, _ = evaluate(queries, lambda q: [a.text for a in Searcher(reader, embedder).search(q, top_k=10).answers])
    return " | ".join(f"{k} " + " ".join(f"{summary[k][m]:.3f}" for m in ("R@1", "R@5", "MRR@10", "nDCG@10"))
                      for k in summary if k != "overall")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--queries", type=Path, required=True)
    args = ap.parse_args()
    queries = load_queries(args.queries)
    questions = [q["query"] for q in queries]
    torch_embedder = SentenceTransformerEmbedder(threads=2)
    torch_embedder.load()
    with tempfile.TemporaryDirectory() as tmp:
        fp32, int8 = export(Path(tmp))
        variants = {"torch fp32": lambda texts: torch_embedder.embed(texts),
                    "onnx fp32": onnx_embedder(fp32), "onnx int8": onnx_embedder(int8)}
        reader = IndexReader(args.index)
        print("(1) question vectors only; passages stay fp32 (metrics: R@1 R@5 MRR@10 nDCG@10)")
        for name, embed in variants.items():
            times = []
            for q in questions:
                t = time.perf_counter()
                embed([q])
                times.append((time.perf_counter() - t) * 1e3)
            times.sort()
            e = SentenceTransformerEmbedder(threads=2)
            e.embed_query = lambda q, embed=embed: embed([q])[0]
            print(f"  {name}: one question p50 {times[len(times) // 2]:.1f} ms, p99 {times[int(len(times) * 0.99)]:.1f} ms; "
                  f"{metrics(reader, e, queries)}", flush=True)
        rows = reader.db.execute("SELECT id, text, asked, topic, speaker, role FROM passages ORDER BY id").fetchall()
        texts = [Passage(transcript_id="", turn_index=0, span=(0, 0), text=r[1], speaker=r[4], role=r[5], asked=r[2],
                         topic=r[3]).embedding_text() for r in rows]
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        embed = variants["onnx int8"]
        vectors = np.zeros((len(texts), reader.manifest["dim"]), np.float32)
        t = time.perf_counter()
        for s in range(0, len(order), 32):
            idx = order[s : s + 32]
            vectors[idx] = embed([texts[i] for i in idx])
        took = time.perf_counter() - t
        flat = faiss.IndexIDMap2(faiss.IndexFlatIP(vectors.shape[1]))
        flat.add_with_ids(vectors, np.array([r[0] for r in rows], dtype=np.int64))
        reader.search_index = flat
        e = SentenceTransformerEmbedder(threads=2)
        e.embed_query = lambda q: embed([q])[0]
        print(f"(2) int8 passages and questions: encode {len(texts)} passages in {took:.1f} s ({len(texts) / took:.1f}/s); "
              f"{metrics(reader, e, queries)}")


if __name__ == "__main__":
    sys.exit(main())
