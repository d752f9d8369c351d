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
             given_settings: set[str] | None = None, **settings) -> FinetuneResult:
    """Fine-tune a text classifier on ``train`` (CSV/TSV/JSONL/Parquet) into the model directory ``output``.

    ``settings`` are the fields of :class:`lmforge.config.FinetuneConfig` (``epochs``, ``batch_size``,
    ``lr``, ``max_length``, ``seed``, ``method`` …). Without ``dev`` a stratified dev split is held out.
    With ``resume`` the interrupted run's settings are reused: only the ``settings`` given here (and the
    fields of ``config`` that differ from their defaults) are checked against them, and only a change that
    alters the result (not ``checkpoint_every``, ``threads`` …) is refused.
    """
    given = set(settings)
    if config is None:
        config = FinetuneConfig.from_dict(settings)
    else:
        defaults = FinetuneConfig().to_dict()
        given |= {k for k, v in config.to_dict().items() if v != defaults[k]}
        if settings:
            config = FinetuneConfig.from_dict({**config.to_dict(), **settings})
    return _finetune(train, output, dev, config, resume=resume, overwrite=overwrite, quiet=quiet,
                     given=given if given_settings is None else set(given_settings))


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
             config=None, **settings):
    """Make a compressed artifact of ``model`` in ``output``: ``to="onnx" | "onnx-int8" | "torch-int8" |
    "distill" | "prune"`` and the other fields of :class:`lmforge.compression.CompressConfig`. The result is
    measured against its parent and refused (ConfigError) when it loses more than ``max_drop`` points."""
    from lmforge.compression import CompressConfig
    from lmforge.compression import compress as run

    if config is None:
        config = CompressConfig.from_dict(settings)
    return run(model, output, config, overwrite=overwrite, quiet=quiet)


def inspect_data(files: Sequence[str | Path] | str | Path, output: str | Path | None = None, *,
                 quiet: bool = False, config=None, **settings) -> dict:
    """Profile labelled-text files (labels, lengths, duplicates, overlap, encoding problems, PII); with
    ``output``, write report.html, summary.json and figures.json. ``settings``: the fields of
    :class:`lmforge.data.inspect.InspectConfig`."""
    from lmforge.data.inspect import InspectConfig, inspect_files

    files = [files] if isinstance(files, (str, Path)) else list(files)
    return inspect_files(files, output, config if config is not None else InspectConfig(**settings), quiet=quiet)


def prepare_data(inputs: Sequence[str | Path] | str | Path, output: str | Path, *, overwrite: bool = False,
                 quiet: bool = False, config=None, **settings) -> dict:
    """Clean, redact, deduplicate and split ``inputs`` into ``output`` (train/dev/test.jsonl, removed.jsonl,
    changes.jsonl, manifest.json, report.html); returns the manifest. ``settings``: the fields of
    :class:`lmforge.data.prepare.PrepareConfig` (``dedup="near"``, ``redact_pii=True``, ``split="0.8,0.1,0.1"``
    …) and of :class:`lmforge.data.cleaning.CleaningConfig` (``lowercase=True`` …)."""
    import dataclasses

    from lmforge.data.cleaning import CleaningConfig
    from lmforge.data.prepare import PrepareConfig
    from lmforge.data.prepare import prepare_data as run

    inputs = [inputs] if isinstance(inputs, (str, Path)) else list(inputs)
    if config is not None:  # a PrepareConfig built by the caller (the CLI)
        return run(inputs, output, config, overwrite=overwrite, quiet=quiet)
    cleaning_fields = {f.name for f in dataclasses.fields(CleaningConfig)}
    known = cleaning_fields | {f.name for f in dataclasses.fields(PrepareConfig)} - {"cleaning"}
    unknown = sorted(set(settings) - known)
    if unknown:
        from lmforge.errors import ConfigError

        raise ConfigError([f"unknown setting '{k}' (known: {', '.join(sorted(known))})" for k in unknown])
    cleaning = CleaningConfig(**{k: v for k, v in settings.items() if k in cleaning_fields})
    config = PrepareConfig(**{k: v for k, v in settings.items() if k not in cleaning_fields}, cleaning=cleaning)
    return run(inputs, output, config, overwrite=overwrite, quiet=quiet)


def compare(models: Sequence[str | Path], eval: str | Path | None = None, **options) -> list[dict]:
    """Measure artifacts side by side (accuracy, sentences/s, latency, size); ``options``: ``plot``, ``recorded`` …"""
    from lmforge.compression.comparison import compare as run

    return run(models, eval, **options)


def serve(model: str | Path, config=None, **settings) -> None:
    """Serve ``model`` over HTTP until interrupted; ``settings``: the fields of
    :class:`lmforge.serving.settings.ServeConfig` (``host``, ``port``, ``workers`` …)."""
    from lmforge.serving.server import serve as run
    from lmforge.serving.settings import ServeConfig

    run(model, config if config is not None else ServeConfig(**settings))


def create_key(model: str | Path, name: str, *, rate: str | None = None, quota: str | None = None) -> str:
    """A new API key for the server of ``model`` (returned once: store it)."""
    from lmforge.serving.keys import KeyStore

    return KeyStore(model).create(name, rate=rate, quota=quota)


def list_keys(model: str | Path) -> list[dict]:
    from lmforge.serving.keys import KeyStore

    return KeyStore(model).list()


def revoke_key(model: str | Path, name: str) -> None:
    from lmforge.serving.keys import KeyStore

    KeyStore(model).revoke(name)


def cost(model: str | Path, output: str | Path | None = None, *, also: Sequence[str | Path] = (),
         quiet: bool = False, settings=None, **fields) -> dict:
    """The cost report of ``model`` (training cost, $ per 1M predictions per backend, monthly bill, ROI);
    ``fields``: the fields of :class:`lmforge.costs.report.CostSettings`."""
    from lmforge.costs.report import CostSettings, cost_report

    return cost_report(model, settings if settings is not None else CostSettings(**fields), output,
                       also=list(also), quiet=quiet)


def hardware(refresh: bool = False, seconds: float = 1.0, price_per_hour: float | None = None,
             instance: str | None = None) -> dict:
    """This machine's profile (cores, memory, GPU, measured fp32 GFLOP/s; cached) and its price per hour."""
    from lmforge.metering.hardware import machine_profile
    from lmforge.metering.prices import resolve_price

    profile = machine_profile(refresh=refresh, seconds=seconds)
    return {**profile, "price": resolve_price(price_per_hour, instance, profile).to_dict()}


def usage(model: str | Path, price_per_hour: float | None = None, instance: str | None = None) -> dict:
    """Per-key requests, tokens and cost share of a served model."""
    from lmforge.costs.usage import usage_report

    return usage_report(model, price_per_hour=price_per_hour, instance=instance)


def run_pipeline(pipeline: str | Path, *, force: Sequence[str] = (), quiet: bool = False,
                 dry_run: bool = False) -> dict:
    """Run a pipeline YAML (prepare → finetune → evaluate → compress → cost), skipping up-to-date stages."""
    from lmforge.pipeline.runner import run_pipeline as run

    return run(pipeline, force=tuple(force), quiet=quiet, dry_run=dry_run)


def tune(train: str | Path, output: str | Path, dev: str | Path | None = None, *, quiet: bool = False,
         settings=None, **fields) -> dict:
    """Search fine-tuning settings with optuna; ``fields``: those of :class:`lmforge.pipeline.tune.TuneSettings`."""
    from lmforge.pipeline.tune import TuneSettings
    from lmforge.pipeline.tune import tune as run

    return run(train, output, settings if settings is not None else TuneSettings(**fields), dev=dev, quiet=quiet)


def runs(stage: str | None = None, limit: int = 20, *, ids: Sequence[str] | None = None) -> list[dict]:
    """Tracked runs (MLflow), newest first: the latest ``limit`` (of ``stage``), or those with ``ids`` (prefixes)."""
    from lmforge.tracking.runs import get_runs, list_runs

    return get_runs(list(ids)) if ids else list_runs(stage, limit)


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
