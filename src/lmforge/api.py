"""The Python API: each stage of a model's life is one call.

    >>> import lmforge
    >>> run = lmforge.finetune("train.csv", output="runs/sst2", epochs=2)
    >>> metrics = lmforge.evaluate("runs/sst2", "test.csv")
    >>> lmforge.predict("runs/sst2", ["what a lovely film"])
    [Prediction(label='1', score=0.98, scores={'0': 0.02, '1': 0.98})]
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from lmforge.config import FinetuneConfig
from lmforge.evaluation.evaluate import evaluate as _evaluate
from lmforge.inference.predict import predict_file, predict_texts
from lmforge.inference.predictor import Prediction
from lmforge.training.finetune import FinetuneResult
from lmforge.training.finetune import finetune as _finetune


def finetune(train: str | Path, output: str | Path, dev: str | Path | None = None, *, resume: bool = False,
             overwrite: bool = False, quiet: bool = False, config: FinetuneConfig | None = None,
             **settings) -> FinetuneResult:
    """Fine-tune a text classifier on ``train`` (CSV/TSV/JSONL/Parquet) into the model directory ``output``.

    ``settings`` are the fields of :class:`lmforge.config.FinetuneConfig` (``epochs``, ``batch_size``,
    ``lr``, ``max_length``, ``seed``, ``method`` …). Without ``dev`` a stratified dev split is held out.
    """
    if config is None:
        config = FinetuneConfig.from_dict(settings)
    elif settings:
        config = FinetuneConfig.from_dict({**config.to_dict(), **settings})
    return _finetune(train, output, dev, config, resume=resume, overwrite=overwrite, quiet=quiet)


def evaluate(model: str | Path, data: str | Path, output: str | Path | None = None, **options) -> dict:
    """Score ``model`` on a labelled file; writes metrics.json, plots, predictions and report.html."""
    return _evaluate(model, data, output, **options)


def predict(model: str | Path, texts: Sequence[str] | str | None = None, *, input: str | Path | None = None,
            output: str | Path | None = None, **options) -> list[Prediction] | int:
    """Label ``texts`` (returns predictions), or a file ``input`` into ``output`` (returns rows written)."""
    if input is not None:
        if output is None:
            raise TypeError("predict(input=...) needs output=")
        return predict_file(model, input, output, **options)
    if isinstance(texts, str):
        texts = [texts]
    return predict_texts(model, list(texts or []), **options)


def compress(model: str | Path, output: str | Path, *, overwrite: bool = False, quiet: bool = False,
             **settings):
    """Make a compressed artifact of ``model`` in ``output``: ``to="onnx" | "onnx-int8" | "torch-int8" |
    "distill" | "prune"`` and the other fields of :class:`lmforge.compression.CompressConfig`. The result is
    measured against its parent and refused (ConfigError) when it loses more than ``max_drop`` points."""
    from lmforge.compression import CompressConfig
    from lmforge.compression import compress as run

    return run(model, output, CompressConfig.from_dict(settings), overwrite=overwrite, quiet=quiet)
