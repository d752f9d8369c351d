"""ONNX export parity, the ONNX Runtime backend, and both int8 paths, on the tiny fine-tuned BERT."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
import torch

from lmforge.artifacts import read_manifest
from lmforge.compression.measure import ratios
from lmforge.compression.onnx_export import PARITY_TOLERANCE, export_onnx, parity
from lmforge.errors import ArtifactError
from lmforge.inference.predictor import Predictor
from lmforge.models.pretrained import load_sequence_classifier, load_tokenizer

TEXTS = ["a great film", "the plot was awful and the actor was really quite dull", "superb",
         "it was not boring but the story was poor", "lovely scene"]


def test_onnx_artifact_equals_torch_within_1e_4_on_any_batch_size_and_length(parent_model, compressed):
    out = compressed("onnx")
    manifest = read_manifest(out)
    assert manifest["parent"]["path"] == str(parent_model.resolve())
    assert manifest["compression"]["parity_max_abs_logit_diff"] < PARITY_TOLERANCE
    # every layer but the last fused; the last runs for [CLS] only (ClsOnlyExport)
    assert manifest["compression"]["fused_operators"]["Attention"] == 1
    onnx_predictor, torch_predictor = Predictor.load(out), Predictor.load(parent_model)
    assert onnx_predictor.backend.name == "onnx" and torch_predictor.backend.name == "torch"
    assert onnx_predictor.labels == torch_predictor.labels
    for texts in (TEXTS[:1], TEXTS, TEXTS * 7):  # batch 1, ragged lengths, several batches: dynamic axes
        np.testing.assert_allclose(onnx_predictor.logits(texts), torch_predictor.logits(texts), atol=PARITY_TOLERANCE)
    graph = onnx.load(str(out / "model.onnx")).graph
    dims = {i.name: [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim] for i in graph.input}
    assert dims == {"input_ids": ["batch", "sequence"], "attention_mask": ["batch", "sequence"]}


def test_parity_check_refuses_a_graph_that_differs_from_the_model(parent_model, tmp_path):
    model, _ = load_sequence_classifier(parent_model)
    batch = dict(load_tokenizer(parent_model)(TEXTS, padding=True, return_tensors="pt", return_token_type_ids=False))
    path = export_onnx(model, batch, tmp_path / "model.onnx")
    assert parity(model, path, batch) < PARITY_TOLERANCE
    with torch.no_grad():
        model.classifier.bias += 0.01  # the model moves on; the exported graph no longer matches it
    with pytest.raises(ArtifactError, match="differs from the torch model"):
        parity(model, path, batch)


def test_onnx_int8_is_smaller_keeps_the_head_fp32_and_stays_within_the_threshold(parent_model, compressed):
    out = compressed("onnx-int8")
    manifest = read_manifest(out)
    details, measured = manifest["compression"], manifest["measurements"]
    assert details["per_channel"] and details["reduce_range"]
    assert "/classifier/Gemm" in details["nodes_kept_fp32"]
    assert "/cls_layer/key/MatMul" in details["nodes_kept_fp32"]  # the [CLS]-only last layer stays fp32
    ops = {node.op_type for node in onnx.load(str(out / "model.onnx")).graph.node}
    assert {"QAttention", "DynamicQuantizeMatMul"} & ops or "MatMulInteger" in ops  # int8 kernels in the graph
    assert -measured["ratios"]["accuracy_change_points"] <= 10  # the fixture's threshold (see conftest)
    assert measured["artifact"]["agreement"] >= 0.85
    assert Predictor.load(out).backend.name == "onnx"


def test_torch_int8_stores_fp32_safetensors_and_quantizes_at_load(parent_model, compressed):
    out = compressed("torch-int8")
    manifest = read_manifest(out)
    assert manifest["quantization"]["scheme"] == "torch-dynamic-int8"
    assert (out / "model.safetensors").read_bytes() == (parent_model / "model.safetensors").read_bytes()
    predictor = Predictor.load(out)
    assert predictor.backend.name == "torch-int8"
    from torch.ao.nn.quantized.dynamic import Linear as QuantizedLinear

    modules = dict(predictor.backend.model.named_modules())
    assert not isinstance(modules["classifier"], QuantizedLinear)  # kept fp32, as the recipe says
    assert isinstance(modules["classifier"], torch.nn.Linear)
    assert any(isinstance(m, QuantizedLinear) for name, m in modules.items() if "encoder" in name)
    probabilities = predictor.predict_proba(TEXTS)
    np.testing.assert_allclose(probabilities.sum(-1), 1.0, atol=1e-5)
    assert -manifest["measurements"]["ratios"]["accuracy_change_points"] <= 10


def test_manifest_records_size_speed_latency_and_ratios_to_the_parent(compressed):
    measured = read_manifest(compressed("onnx"))["measurements"]
    for side in ("artifact", "parent"):
        assert {"accuracy", "size_mb", "sentences_per_s_b32", "p50_latency_ms_b1"} <= set(measured[side])
        assert measured[side]["sentences_per_s_b32"] > 0 and measured[side]["p50_latency_ms_b1"] > 0
    assert measured["ratios"] == ratios(measured["artifact"], measured["parent"])
    assert measured["examples"] == 80


def test_ratios_are_child_over_parent():
    child = {"accuracy": 0.90, "size_mb": 25.0, "sentences_per_s_b32": 300.0, "p50_latency_ms_b1": 5.0}
    parent = {"accuracy": 0.91, "size_mb": 100.0, "sentences_per_s_b32": 100.0, "p50_latency_ms_b1": 10.0}
    assert ratios(child, parent) == {"speedup_b32": 3.0, "speedup_b1": 2.0, "size": 0.25,
                                     "accuracy_change_points": -1.0}


def test_onnx_backend_explains_a_missing_config(tmp_path, compressed):
    from lmforge.inference.onnx_backend import OnnxBackend

    (tmp_path / "model.onnx").write_bytes((compressed("onnx") / "model.onnx").read_bytes())
    with pytest.raises(ArtifactError, match="no config.json"):
        OnnxBackend(tmp_path)
    (tmp_path / "model.onnx").write_text("not a graph")
    (tmp_path / "config.json").write_text(json.dumps({"id2label": {"0": "neg", "1": "pos"}}))
    with pytest.raises(ArtifactError, match="could not be loaded by ONNX Runtime"):
        OnnxBackend(tmp_path)
