"""The typed, validated pipeline file of ``lmforge run``: every mistake reported at once, before any work.

    output: runs/sst2                      # every stage writes below this directory
    data:
      train: data/sst2/train.tsv           # labelled training file
      dev: null                            # optional (default: a split held out of train)
      test: data/sst2/test.tsv             # needed by evaluate
    prepare: {dedup: exact}                # optional: `lmforge data prepare` settings
    finetune: {epochs: 1, method: full}    # `lmforge finetune` settings (FinetuneConfig)
    evaluate: {}                           # optional: scores the model on data.test
    compress: {to: onnx-int8}              # optional: `lmforge compress` settings
    cost: {requests_per_day: 10000}        # optional: `lmforge cost` settings

Each stage section holds the same settings as its command's flags (underscores for dashes).
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from lmforge.config import FinetuneConfig
from lmforge.errors import ConfigError, LmforgeError

STAGES = ("prepare", "finetune", "evaluate", "compress", "cost")


@dataclass
class DataFiles:
    train: str
    dev: str | None = None
    test: str | None = None


@dataclass
class EvaluateSettings:
    text_column: str | None = None
    label_column: str | None = None
    backend: str = "auto"


@dataclass
class PipelineConfig:
    output: str
    data: DataFiles
    finetune: FinetuneConfig = field(default_factory=FinetuneConfig)
    prepare: object | None = None      # lmforge.data.prepare.PrepareConfig when the section is present
    evaluate: EvaluateSettings | None = None
    compress: object | None = None     # lmforge.compression.settings.CompressConfig
    cost: object | None = None         # lmforge.costs.report.CostSettings
    source: str | None = None          # the file it was read from

    def stages(self) -> list[str]:
        return [s for s in STAGES if s == "finetune" or getattr(self, s) is not None]


def section_classes() -> dict[str, type | None]:
    """Settings class of each optional stage; None when that stage's module is not installed."""
    from lmforge.costs.report import CostSettings

    classes: dict[str, type | None] = {"finetune": FinetuneConfig, "evaluate": EvaluateSettings, "cost": CostSettings}
    try:
        from lmforge.data.prepare import PrepareConfig
        classes["prepare"] = PrepareConfig
    except ImportError:
        classes["prepare"] = None
    try:
        from lmforge.compression.settings import CompressConfig
        classes["compress"] = CompressConfig
    except ImportError:
        classes["compress"] = None
    return classes


def _type_ok(value, kind) -> bool:
    if kind is typing.Any or kind is object:
        return True
    if isinstance(kind, types.UnionType) or typing.get_origin(kind) is typing.Union:
        return any(_type_ok(value, k) for k in typing.get_args(kind))
    if kind is type(None):
        return value is None
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if dataclasses.is_dataclass(kind):
        return isinstance(value, dict)
    origin = typing.get_origin(kind)
    return isinstance(value, origin or kind)


def build(cls, values, where: str, problems: list[str]):
    """An instance of dataclass ``cls`` from a mapping, appending every problem found to ``problems``."""
    if values is None:
        values = {}
    if not isinstance(values, dict):
        problems.append(f"{where}: expected a mapping of settings, got {type(values).__name__} {values!r}")
        return None
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs, ok = {}, True
    for key in values:
        if key not in fields:
            close = difflib.get_close_matches(str(key).replace("-", "_"), list(fields), n=1, cutoff=0.75)
            hint = f" (did you mean '{close[0]}'?)" if close else f"; known: {', '.join(fields)}"
            problems.append(f"{where}.{key}: unknown setting{hint}")
            ok = False
    for name, f in fields.items():
        if name not in values:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                problems.append(f"{where}.{name}: required, missing")
                ok = False
            continue
        value, kind = values[name], hints[name]
        if dataclasses.is_dataclass(kind) and isinstance(value, dict):
            value = build(kind, value, f"{where}.{name}", problems)
        elif not _type_ok(value, kind):
            allowed = f.metadata.get("choices")
            problems.append(f"{where}.{name}: expected {getattr(kind, '__name__', str(kind))}, got {value!r}"
                            + (f" (one of {', '.join(allowed)})" if allowed else ""))
            ok = False
            continue
        kwargs[name] = value
    try:
        # the well-typed settings are validated even when others were not, so their problems are listed too
        instance = cls(**kwargs)
    except TypeError:  # a required setting is missing (reported above)
        return None
    if hasattr(instance, "validate"):
        try:
            instance.validate()
        except ConfigError as e:
            problems.extend(f"{where}: {p}" for p in e.problems)
            return None
    return instance if ok else None


def load_pipeline(path: str | Path) -> PipelineConfig:
    """Read and validate a pipeline file; raises one ConfigError listing every problem."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"pipeline file {path} does not exist")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"{path} is not valid YAML: {e}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path} should be a mapping (output:, data:, finetune: ...), got {type(raw).__name__}")
    base = path.parent
    problems: list[str] = []
    known = {"output", "data", *STAGES}
    for key in raw:
        if key not in known:
            problems.append(f"{key}: unknown section; known: {', '.join(sorted(known))}")
    if not isinstance(raw.get("output"), str):
        problems.append(f"output: required, a directory for the pipeline's results (got {raw.get('output')!r})")
    data = build(DataFiles, raw.get("data"), "data", problems) if "data" in raw else None
    if "data" not in raw:
        problems.append("data: required, with at least data.train (a labelled file)")
    if data is not None:
        for role in ("train", "dev", "test"):
            value = getattr(data, role)
            if value is not None:
                resolved = (base / value) if not Path(value).is_absolute() else Path(value)
                if not resolved.exists():
                    problems.append(f"data.{role}: file {value} does not exist (paths are relative to {base})")
                setattr(data, role, str(resolved))
    classes = section_classes()
    sections = {}
    for stage in STAGES:
        if stage not in raw and stage != "finetune":
            continue
        cls = classes.get(stage)
        if cls is None:
            problems.append(f"{stage}: this installation has no {stage} stage (its module is missing)")
            continue
        sections[stage] = build(cls, raw.get(stage), stage, problems)
    if "evaluate" in raw and data is not None and data.test is None:
        problems.append("evaluate: needs data.test (a labelled file to score the model on)")
    if sections.get("finetune") is not None and sections["finetune"].model:
        model = Path(sections["finetune"].model)
        if not model.is_absolute() and (base / model).exists():
            sections["finetune"].model = str(base / model)
    if problems:
        raise ConfigError([f"{path}: {p}" for p in problems])
    output = Path(raw["output"])
    return PipelineConfig(output=str(output if output.is_absolute() else base / output), data=data,
                          source=str(path), **{k: v for k, v in sections.items()})


def describe_stage_settings(settings) -> dict:
    if settings is None:
        return {}
    if dataclasses.is_dataclass(settings):
        return dataclasses.asdict(settings)
    raise LmforgeError(f"cannot describe settings {settings!r}")
