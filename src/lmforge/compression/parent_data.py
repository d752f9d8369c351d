"""The data a parent artifact was made with, found through its manifest, so compress needs no data flags.

    >>> dev = parent_dev_data(Path("runs/sst2"))          # the dev set fine-tuning scored on
    >>> train = parent_train_data(Path("runs/sst2"))      # its training rows (held-out dev rows excluded)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lmforge.artifacts import read_manifest
from lmforge.data.examples import LabeledTexts
from lmforge.errors import ConfigError
from lmforge.tasks import task_for_artifact, text_classification


def _inputs(model_dir: Path) -> dict:
    inputs = read_manifest(model_dir).get("inputs")
    if not inputs or not inputs.get("train"):
        raise ConfigError(f"{model_dir}/manifest.json records no training data (was it made by `lmforge "
                          "finetune`?); pass the data explicitly with --eval FILE")
    return inputs


def _load(record: dict, what: str, task) -> LabeledTexts:
    path = Path(record["path"])
    if not path.exists():
        raise ConfigError(f"the {what} recorded in the parent's manifest, {path}, no longer exists; "
                          "pass --eval FILE (and restore the file for distill/prune)")
    return task.read(path, text_column=record.get("text_column"), label_column=record.get("label_column"),
                     **({"split": record["split"]} if record.get("split") else {}))


def parent_dev_data(model_dir: Path) -> LabeledTexts:
    """The parent's dev set: its --dev file, or the rows fine-tuning held out of the training file."""
    inputs = _inputs(model_dir)
    split = inputs.get("dev_split")
    if split:
        data = _load(inputs["train"], "training file", task_for_artifact(model_dir))
        wanted = set(split["rows"])
        return data.subset([i for i, row in enumerate(data.rows) if row in wanted])
    if not inputs.get("dev"):
        raise ConfigError(f"{model_dir}/manifest.json records no dev set; pass --eval FILE")
    return _load(inputs["dev"], "dev file", task_for_artifact(model_dir))


def parent_train_data(model_dir: Path) -> LabeledTexts:
    """The parent's training rows, without the rows held out as its dev set."""
    inputs = _inputs(model_dir)
    data = _load(inputs["train"], "training file", task_for_artifact(model_dir))
    split = inputs.get("dev_split")
    if split:
        held = set(split["rows"])
        data = data.subset([i for i, row in enumerate(data.rows) if row not in held])
    return data


def label_ids(data: LabeledTexts, labels: list[str], task=None) -> np.ndarray:
    """``data``'s labels as ids in the model's label order; a label the model lacks is a DataError. Another
    ``task`` than text classification gives its own targets (a regression's numbers)."""
    if task is not None and not isinstance(task, text_classification.TextClassification):
        return task.targets(data, labels)
    return text_classification.label_ids(data, labels, "labelled like the parent's training set")
