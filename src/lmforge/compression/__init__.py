"""Compression: smaller and faster artifacts, each measured against its parent and guarded.

    onnx_export.py   torch → ONNX (dynamic axes), ORT transformer fusions, parity check (1e-4)
    quantize.py      ONNX Runtime dynamic int8 (per-channel, fused graph, sensitive layers kept fp32)
    distill.py       a student from a teacher (layer subset or from config), KL + CE, via THE loop
    prune.py         structured pruning by importance: encoder layers, feed-forward neurons
    measure.py       accuracy, size on disk, sentences/s at batch 32, p50 latency at batch 1, ratios
    recipe.py        the recipe behind `lmforge compress`: build → measure → guard → artifact
    comparison.py    `lmforge compare`: the table and the accuracy-vs-speed plot
    settings.py      CompressConfig, the typed settings (one CLI flag per field)

Torch int8 artifacts run through :mod:`lmforge.inference.torch_int8_backend`, ONNX ones through
:mod:`lmforge.inference.onnx_backend`; both are picked by ``Predictor.load`` on their own.
"""

# The stage functions, re-exported: lmforge.compression.compress(...), lmforge.compression.compare(...). They
# are imported on first use: the settings module alone (what `lmforge compress --help` reads) must not import
# torch.
from lmforge.compression.settings import METHODS, CompressConfig  # noqa: E402

__all__ = ["METHODS", "CompressConfig", "compare", "compress"]


def __getattr__(name: str):
    if name == "compress":
        from lmforge.compression.recipe import compress

        return compress
    if name == "compare":
        from lmforge.compression.comparison import compare

        return compare
    raise AttributeError(f"module 'lmforge.compression' has no attribute '{name}'")
