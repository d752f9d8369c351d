"""Which int8 choices keep MiniLM's SST-2 accuracy: the exploration behind `--to onnx-int8`'s defaults.

    nice -n -5 .venv/bin/python bench/compress_int8_variants.py      # needs bench/out/compress-minilm (see README)

Exports the fine-tuned teacher once (raw and ORT-fused graphs), quantizes it five ways, prints accuracy and
agreement with fp32 on the 872 SST-2 test sentences, then times torch fp32, ONNX fp32 and every variant in one
process (alternating rounds, median of 3).
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
PARENT = REPO / "bench/out/compress-minilm"
ROOT = REPO / "bench/out/int8-variants"

# name → (graph, per_channel, reduce_range, modules kept fp32)
VARIANTS = {
    "naive": ("raw", False, False, ()),
    "pc_fused_rr": ("fused", True, True, ("classifier", "pooler")),   # lmforge's default
    "pc_fused": ("fused", True, False, ("classifier", "pooler")),
    "pt_fused_rr": ("fused", False, True, ("classifier", "pooler")),
    "pc_raw_rr": ("raw", True, True, ("classifier", "pooler")),
}


def main() -> None:
    from lmforge.compression.recipe import sample_batch
    from lmforge.compression.measure import measure_pair
    from lmforge.compression.onnx_export import export_onnx, fuse_transformer_graph, parity
    from lmforge.compression.quantize import quantize_onnx
    from lmforge.data.examples import load_labeled_texts
    from lmforge.inference.predictor import Predictor
    from lmforge.models.pretrained import load_sequence_classifier, load_tokenizer
    from lmforge.training.finetune import configure_threads

    print("threads", configure_threads(None))
    ROOT.mkdir(parents=True, exist_ok=True)
    data = load_labeled_texts(REPO / "examples/data/sst2-test.tsv")
    gold = np.array([int(label) for label in data.labels])
    model, _ = load_sequence_classifier(PARENT)
    tokenizer = load_tokenizer(PARENT)
    batch = sample_batch(tokenizer, data.texts, 128)
    graphs = {"raw": ROOT / "raw.onnx", "fused": ROOT / "fused.onnx"}
    export_onnx(model.eval(), batch, graphs["raw"])
    shutil.copy(graphs["raw"], graphs["fused"])
    fused = fuse_transformer_graph(graphs["fused"], model.config)
    print("fused", fused, "parity", parity(model, graphs["fused"], batch))

    def artifact(name: str, graph: Path | None = None) -> Path:
        d = ROOT / name
        d.mkdir(exist_ok=True)
        if graph is not None:
            shutil.copy(graph, d / "model.onnx")
        model.config.save_pretrained(d)
        tokenizer.save_pretrained(d)
        (d / "manifest.json").write_text(json.dumps({"config": {"max_length": 128}}))
        return d

    dirs = {"torch-fp32": PARENT, "onnx-fp32": artifact("fp32", graphs["fused"])}
    for name, (graph, per_channel, reduce_range, keep) in VARIANTS.items():
        d = artifact(name)
        quantize_onnx(graphs[graph], d / "model.onnx", per_channel=per_channel, reduce_range=reduce_range,
                      keep_fp32=keep)
        dirs[name] = d
    predictors = {name: Predictor.load(d) for name, d in dirs.items()}
    results = measure_pair(predictors, data.texts, gold, speed_texts=512, rounds=3)
    base = results["torch-fp32"]["sentences_per_s_b32"]
    for name, r in results.items():
        size = sum(p.stat().st_size for p in dirs[name].glob("model.*")) / 1e6
        print(f"{name:12s} acc {100 * r['accuracy']:.2f}  agree {100 * r.get('agreement', 1):.2f}  "
              f"{r['sentences_per_s_b32']:.1f} sent/s b32 ({r['sentences_per_s_b32'] / base:.2f}x torch)  "
              f"p50 {r['p50_latency_ms_b1']:.2f} ms  {size:.1f} MB")


if __name__ == "__main__":
    main()
