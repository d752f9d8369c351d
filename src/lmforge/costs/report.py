"""``lmforge cost MODEL_DIR``: what a model cost to build, what it costs to run, and when it pays for itself.

    >>> report = cost_report("runs/sst2", CostSettings(instance="aws/c7i.xlarge", requests_per_day=50_000))
    >>> report["backends"][0]["usd_per_1m_predictions"]
    0.23

Every figure comes from a measurement or the price table: the training cost from the manifest, the
throughput of each backend that can run the artifact from a calibrated benchmark (recorded in the
manifest and reused on the same machine), token counts from the data. Writes ``cost.json``,
``report.html`` and two PNG plots to ``MODEL_DIR/cost/`` (or ``output``).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

from lmforge.artifacts import read_manifest
from lmforge.config import setting
from lmforge.costs import roi
from lmforge.metering.prices import hosted_api, resolve_price
from lmforge.costs.throughput import backend_throughput
from lmforge.errors import ArtifactError, ConfigError

MAX_TEXTS = 2000


@dataclass
class CostSettings:
    """What ``lmforge cost`` prices a model at."""

    instance: str | None = setting(None, "machine the model is served on, a price-table name such as "
                                         "aws/c7i.xlarge (default: this machine's class)")
    price_per_hour: float | None = setting(None, "$ per hour of the serving machine (overrides --instance's price)")
    requests_per_day: float = setting(10_000, "predictions requested per day, for the monthly bill and break-even")
    hosted_api: str | None = setting(None, "hosted LLM API to compare with, a price-table name (default: "
                                           "openai/gpt-4o-mini)")
    hosted_price_per_1k_tokens: float | None = setting(None, "$ per 1,000 tokens of the hosted LLM API "
                                                             "(input and output alike; overrides --hosted-api)")
    prompt_tokens: int = setting(60, "tokens the hosted LLM needs around each text (instruction, label list)")
    output_tokens: int = setting(3, "tokens the hosted LLM answers with (the label)")
    data: str | None = setting(None, "texts for the benchmark and the token counts (default: the model's dev data)")
    benchmark_seconds: float = setting(5.0, "how long each backend's throughput benchmark runs")
    remeasure: bool = setting(False, "benchmark again even when a throughput for this machine is recorded")

    def validate(self) -> CostSettings:
        problems = []
        if self.requests_per_day <= 0:
            problems.append(f"requests_per_day must be positive, got {self.requests_per_day}")
        if self.price_per_hour is not None and self.price_per_hour <= 0:
            problems.append(f"price_per_hour must be positive, got {self.price_per_hour}")
        if self.hosted_price_per_1k_tokens is not None and self.hosted_price_per_1k_tokens < 0:
            problems.append(f"hosted_price_per_1k_tokens must not be negative, got {self.hosted_price_per_1k_tokens}")
        for name in ("prompt_tokens", "output_tokens"):
            if getattr(self, name) < 0:
                problems.append(f"{name} must not be negative, got {getattr(self, name)}")
        if self.benchmark_seconds <= 0:
            problems.append(f"benchmark_seconds must be positive, got {self.benchmark_seconds}")
        if self.data is not None and not Path(self.data).exists():
            problems.append(f"data file {self.data} does not exist")
        if problems:
            raise ConfigError(problems)
        return self


def benchmark_texts(model_dir: Path, manifest: dict, data: str | None) -> tuple[list[str], str]:
    """Up to MAX_TEXTS texts: from ``data``, else from the model's dev (or train) file."""
    from lmforge.data.examples import iter_texts

    inputs = manifest.get("inputs") or {}
    source = data or (inputs.get("dev") or {}).get("path") or (inputs.get("train") or {}).get("path")
    if not source or not Path(source).exists():
        raise ArtifactError(f"{model_dir}'s manifest names no data file that exists here ({source}); pass --data FILE "
                            "with texts like the ones the model will serve")
    column = None if data else (inputs.get("dev") or inputs.get("train") or {}).get("text_column")
    _, _, rows = iter_texts(source, column, None)
    return [text for _, text, _ in islice(rows, MAX_TEXTS)], str(source)


def mean_tokens(model_dir: Path, texts: list[str]) -> float:
    """Mean tokens per text (the model's own tokenizer, no truncation, special tokens left out)."""
    from lmforge.models.pretrained import bundled_model_dir, load_tokenizer, quiet_transformers
    from lmforge.models.tfidf import is_tfidf_artifact

    # the TF-IDF baseline has no subword tokenizer: the bundled model's stands in for it
    tokenizer = load_tokenizer(bundled_model_dir() if is_tfidf_artifact(model_dir) else model_dir)
    with quiet_transformers():  # uncapped on purpose: no "Token indices sequence length" warning
        ids = tokenizer(texts, add_special_tokens=False, truncation=False)["input_ids"]
    return sum(len(x) for x in ids) / max(1, len(ids))


def derived_artifacts(model_dir: Path) -> list[Path]:
    """Compressed artifacts made from ``model_dir`` (``lmforge compress`` records its parent) beside it."""
    found, own = [], str(model_dir.resolve())
    for candidate in sorted(p for p in model_dir.parent.iterdir() if p.is_dir() and p != model_dir):
        try:
            parent = (read_manifest(candidate).get("parent") or {}).get("path")
        except ArtifactError:
            continue
        if parent == own:
            found.append(candidate)
    return found


def model_accuracy(model_dir: Path, manifest: dict) -> dict:
    """The task's primary dev metric (accuracy for a classifier) from the manifest, and the latest
    ``lmforge evaluate`` value of it when there is one."""
    from lmforge.tasks import get_task, task_name_of

    metric = get_task(task_name_of(manifest), error=ArtifactError).primary_metric
    out = {"dev": ((manifest.get("metrics") or {}).get("dev") or {}).get(metric)}
    evals = sorted((model_dir / "eval").glob("*/metrics.json"), key=lambda p: p.stat().st_mtime)
    if evals:
        m = json.loads(evals[-1].read_text())
        out.update({"test": m.get(metric), "test_data": m.get("data")})
    return out


def cost_report(model_dir: str | Path, settings: CostSettings | None = None, output: str | Path | None = None,
                also: list[str | Path] = (), quiet: bool = True) -> dict:
    """Price ``model_dir``, the artifacts in ``also`` and those ``lmforge compress`` made from it beside it."""
    settings = (settings or CostSettings()).validate()
    model_dir = Path(model_dir)
    manifest = read_manifest(model_dir)
    if not manifest:
        raise ArtifactError(f"{model_dir} has no manifest.json; pass the output directory of `lmforge finetune`")
    quote = resolve_price(settings.price_per_hour, settings.instance)
    api = hosted_api(settings.hosted_api, settings.hosted_price_per_1k_tokens)
    texts, text_source = benchmark_texts(model_dir, manifest, settings.data)
    text_tokens = mean_tokens(model_dir, texts)
    input_tokens = text_tokens + settings.prompt_tokens
    hosted_per_request = roi.hosted_usd_per_request(api, input_tokens, settings.output_tokens)
    training = manifest.get("cost") or {}
    training_usd = float(training.get("usd", 0.0))

    backends = []
    extra = [Path(a) for a in also]
    extra += [d for d in derived_artifacts(model_dir) if d.resolve() not in {e.resolve() for e in extra}]
    from lmforge.inference.backends import runnable_backends

    for directory in [model_dir, *extra]:
        names = runnable_backends(directory)
        if not names:
            raise ArtifactError(f"{directory} holds no artifact any backend can run")
        for name in names:
            measured = backend_throughput(directory, name, texts, settings.benchmark_seconds, settings.remeasure, quiet)
            row = roi.backend_economics(name, measured["sentences_per_s"], quote.usd_per_hour,
                                        settings.requests_per_day, training_usd, hosted_per_request)
            label = name if directory == model_dir else f"{name} ({directory.name})"
            backends.append({**row, "backend": label, "artifact": str(directory), "throughput": measured})

    baseline = manifest.get("baseline") or {}
    if baseline.get("predictions_per_s"):
        baseline = {**baseline, "usd_per_1m_predictions_here": roi.usd_per_million(quote.usd_per_hour,
                                                                                   baseline["predictions_per_s"])}
    report = {
        "model": str(model_dir), "settings": dataclasses.asdict(settings), "price": quote.to_dict(),
        "training": {"usd": training_usd, "wall_s": manifest.get("wall_s"), "cpu_s": manifest.get("cpu_s"),
                     "price_per_hour": training.get("price_per_hour"), "price_basis": training.get("price_basis"),
                     "energy": manifest.get("energy")},
        "accuracy": model_accuracy(model_dir, manifest),
        "tokens": {"source": text_source, "texts": len(texts), "mean_text_tokens": text_tokens,
                   "input_tokens_per_request": input_tokens, "output_tokens_per_request": settings.output_tokens,
                   "counted_with": "the model's own tokenizer (a stand-in for the hosted LLM's)"},
        "hosted": {**dataclasses.asdict(api), "usd_per_request": hosted_per_request,
                   "usd_per_1m_predictions": hosted_per_request * 1e6,
                   "monthly_usd": roi.monthly_hosted_usd(settings.requests_per_day, hosted_per_request)},
        "backends": backends, "baseline": baseline,
    }
    output = Path(output) if output else model_dir / "cost"
    output.mkdir(parents=True, exist_ok=True)
    from lmforge.costs.report_html import write_cost_report

    report["output"] = str(output)
    write_cost_report(report, output)
    return report
