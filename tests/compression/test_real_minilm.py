"""int8 on the real bundled MiniLM and real SST-2 sentences: the accuracy guard holds where it matters."""

from __future__ import annotations

import pytest

from lmforge.artifacts import read_manifest
from tests.conftest import shared_data

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def minilm_classifier(tmp_path_factory):
    """MiniLM fully fine-tuned for one epoch on 400 SST-2 sentences (a head-only model at ~64% is too fragile
    a classifier to judge quantization by: a tenth of its predictions sit on the decision boundary)."""
    import lmforge

    root = tmp_path_factory.mktemp("minilm-sst2")
    lines = shared_data("sst2", "train.tsv").read_text(encoding="utf-8").splitlines()
    (root / "train.tsv").write_text("\n".join(lines[:401]) + "\n", encoding="utf-8")
    lines = shared_data("sst2", "test.tsv").read_text(encoding="utf-8").splitlines()
    (root / "test.tsv").write_text("\n".join(lines[:301]) + "\n", encoding="utf-8")
    lmforge.finetune(root / "train.tsv", root / "model", method="full", epochs=1, lr=1e-4, max_length=64,
                     quiet=True)
    return root / "model", root / "test.tsv"


@pytest.mark.parametrize("method", ["onnx-int8", "torch-int8"])
def test_int8_minilm_stays_within_its_threshold_on_real_sentences(minilm_classifier, method, tmp_path):
    import lmforge

    model, test = minilm_classifier
    # compress refuses (ConfigError) past the default 1-point threshold, so success is the assertion;
    # the numbers are checked again from the manifest.
    # torch's dynamic int8 is per-tensor (one scale per matrix), ORT's here per-channel: the guard for torch-int8
    # is 2 points on this 300-sentence set (the benchmark measures both on all 872 sentences).
    max_drop = 1.0 if method == "onnx-int8" else 2.0
    result = lmforge.api.compress(model, tmp_path / method, to=method, eval=str(test), speed_texts=64,
                                  timing_rounds=1, max_drop=max_drop, quiet=True)
    measured = read_manifest(result.output)["measurements"]
    assert measured["examples"] == 300 and measured["accepted"] == "within max_drop"
    assert measured["artifact"]["accuracy"] >= measured["parent"]["accuracy"] - max_drop / 100
    assert measured["artifact"]["agreement"] >= (0.95 if method == "onnx-int8" else 0.9)
    assert measured["ratios"]["speedup_b32"] > 0
    if method == "onnx-int8":
        assert measured["ratios"]["size"] < 0.75  # int8 encoder (fp32: embeddings, the [CLS]-only last layer)
