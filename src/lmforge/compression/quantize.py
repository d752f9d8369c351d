"""int8 for ONNX Runtime graphs: dynamic quantization with the choices that keep a classifier accurate.

    >>> excluded = quantize_onnx(Path("fp32.onnx"), Path("int8.onnx"), keep_fp32=("classifier", "layer.5"))

Dynamic quantization stores weights as int8 and quantizes activations per batch at run time, so it needs
no calibration data. What decides accuracy (see bench/RESULTS.md, "Compression", for the measurements):

* per-channel weight scales (one scale per output row, not one per matrix): a row with small weights keeps
  its resolution instead of being rounded to a few levels by the matrix's largest value;
* quantizing the *fused* graph: one ``QAttention`` per layer (Q, K and V in one int8 GEMM) instead of
  three ``MatMulInteger`` with quantize/dequantize between them;
* ``reduce_range`` (7-bit weights): on AVX2 CPUs without VNNI the u8×s8 kernel sums pairs of products in
  int16 (``vpmaddubsw``), which saturates with full-range weights; 7 bits cannot overflow;
* layers named in ``keep_fp32`` stay fp32 (the classifier and pooler are tiny and sit right before the
  decision; whole encoder layers can be kept too, e.g. ``layer.0``).
"""

from __future__ import annotations

import re
from pathlib import Path

from lmforge.errors import ConfigError, missing_extra

DEFAULT_KEEP_FP32 = ("classifier", "pooler", "cls_layer")  # cls_layer: the [CLS]-only last layer (ClsOnlyExport)
LAYER_PATTERN = re.compile(r"^layer\.(\d+)$")


def node_matches(node, pattern: str) -> bool:
    """Whether an exported/fused graph node belongs to the module named ``pattern``.

    ``layer.N`` matches the ``/encoder/layer.N/`` nodes and the fused ``Attention_N``; any other pattern
    matches a node whose name or weight names contain it (``classifier``, ``pooler``, ``embeddings``).
    """
    layer = LAYER_PATTERN.match(pattern)
    if layer:
        index = layer.group(1)
        return f"/layer.{index}/" in node.name or node.name in (f"Attention_{index}", f"QAttention_{index}")
    return pattern in node.name or any(pattern in name for name in node.input)


def nodes_to_keep(model_path: Path, keep_fp32: tuple[str, ...]) -> list[str]:
    import onnx

    graph = onnx.load(str(model_path), load_external_data=False).graph
    unmatched = [p for p in keep_fp32 if not any(node_matches(n, p) for n in graph.node)]
    if unmatched and set(unmatched) - set(DEFAULT_KEEP_FP32):
        raise ConfigError(f"--keep-fp32 names {', '.join(unmatched)}, which match no node of the graph; "
                          "use module names such as classifier, pooler, embeddings or layer.N")
    return [n.name for n in graph.node if any(node_matches(n, p) for p in keep_fp32)]


def quantize_onnx(source: Path, target: Path, *, per_channel: bool = True, reduce_range: bool = True,
                  keep_fp32: tuple[str, ...] = DEFAULT_KEEP_FP32, quantize_embeddings: bool = False) -> list[str]:
    """Dynamic int8 quantization of ``source`` into ``target``; returns the names of nodes left in fp32."""
    try:
        import onnx
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError:
        raise missing_extra("int8 quantization", "onnx", "onnxruntime") from None
    excluded = nodes_to_keep(source, keep_fp32)
    # Gather/EmbedLayerNormalization hold the embeddings: int8 there halves the file again but the lookup
    # is not where time goes, so it is off unless asked for.
    ops = ["MatMul", "Attention"] + (["Gather", "EmbedLayerNormalization"] if quantize_embeddings else [])
    quantize_dynamic(str(source), str(target), per_channel=per_channel, reduce_range=reduce_range,
                     weight_type=QuantType.QInt8, nodes_to_exclude=excluded, op_types_to_quantize=ops,
                     # the fused graph's contrib ops defeat ONNX shape inference; their outputs are fp32
                     extra_options={"MatMulConstBOnly": True, "DefaultTensorType": onnx.TensorProto.FLOAT})
    return excluded
