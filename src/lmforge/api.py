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


def inspect_data(files: Sequence[str | Path] | str | Path, output: str | Path | None = None, *,
                 quiet: bool = False, **settings) -> dict:
    """Profile labelled-text files (labels, lengths, duplicates, overlap, encoding problems, PII); with
    ``output``, write report.html, summary.json and figures.json. ``settings``: the fields of
    :class:`lmforge.data.inspect.InspectConfig`."""
    from lmforge.data.inspect import InspectConfig, inspect_files

    files = [files] if isinstance(files, (str, Path)) else list(files)
    return inspect_files(files, output, InspectConfig(**settings), quiet=quiet)


def prepare_data(inputs: Sequence[str | Path] | str | Path, output: str | Path, *, overwrite: bool = False,
                 quiet: bool = False, **settings) -> dict:
    """Clean, redact, deduplicate and split ``inputs`` into ``output`` (train/dev/test.jsonl, removed.jsonl,
    changes.jsonl, manifest.json, report.html); returns the manifest. ``settings``: the fields of
    :class:`lmforge.data.prepare.PrepareConfig` (``dedup="near"``, ``redact_pii=True``, ``split="0.8,0.1,0.1"``
    …) and of :class:`lmforge.data.cleaning.CleaningConfig` (``lowercase=True`` …)."""
    import dataclasses

    from lmforge.data.cleaning import CleaningConfig
    from lmforge.data.prepare import PrepareConfig
    from lmforge.data.prepare import prepare_data as run

    cleaning_fields = {f.name for f in dataclasses.fields(CleaningConfig)}
    known = cleaning_fields | {f.name for f in dataclasses.fields(PrepareConfig)} - {"cleaning"}
    unknown = sorted(set(settings) - known)
    if unknown:
        from lmforge.errors import ConfigError

        raise ConfigError([f"unknown setting '{k}' (known: {', '.join(sorted(known))})" for k in unknown])
    cleaning = CleaningConfig(**{k: v for k, v in settings.items() if k in cleaning_fields})
    config = PrepareConfig(**{k: v for k, v in settings.items() if k not in cleaning_fields}, cleaning=cleaning)
    inputs = [inputs] if isinstance(inputs, (str, Path)) else list(inputs)
    return run(inputs, output, config, overwrite=overwrite, quiet=quiet)


def pretrain(corpus: Sequence[str | Path] | str | Path, output: str | Path, *, resume: bool = False,
             overwrite: bool = False, quiet: bool = False, **settings):
    """Pretrain a masked (``objective="mlm"``) or causal (``"clm"``) LM on unlabelled text, or continue
    pretraining one (``from_model=DIR``); ``settings`` are the fields of
    :class:`lmforge.pretraining.config.PretrainConfig`. Writes a transformers model directory."""
    from lmforge.pretraining.config import PretrainConfig
    from lmforge.pretraining.recipe import pretrain as run

    corpus = [corpus] if isinstance(corpus, (str, Path)) else list(corpus)
    return run(corpus, output, PretrainConfig(**settings), resume=resume, overwrite=overwrite, quiet=quiet)


def train_tokenizer(corpus: Sequence[str | Path] | str | Path, output: str | Path, *, kind: str = "bpe",
                    vocab_size: int = 32000, **options) -> dict:
    """Train a ``bpe`` / ``wordpiece`` / ``unigram`` / ``char`` tokenizer on ``corpus`` into ``output``
    (``AutoTokenizer.from_pretrained(output)`` loads it)."""
    from lmforge.pretraining.tokenizer_training import train_tokenizer as run

    corpus = [corpus] if isinstance(corpus, (str, Path)) else list(corpus)
    return run(corpus, Path(output), kind=kind, vocab_size=vocab_size, **options)
