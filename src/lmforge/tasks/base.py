"""The Task protocol: everything the stages need to know about one kind of prediction problem.

A stage (finetune, evaluate, predict, compress, serve, cost, tune, pipeline) never assumes a task: it gets
one from the registry (:func:`lmforge.tasks.registry.task_for_artifact` for a model directory, or
:func:`~lmforge.tasks.registry.get_task` for a name) and calls these members. A new task is one module
under ``lmforge/tasks/`` holding a class that implements them, decorated with ``@register_task``, plus
one ``import`` line in ``lmforge/tasks/__init__.py``.

The life cycle, and which member each stage calls::

    finetune   read → label_space → build_model → encode → collate → loss ; dev_scores each evaluation ;
               problem_type + peft_task_type when saving / wrapping ; baseline beside the artifact
    evaluate   read_stream → (Predictor: encode, logits) → evaluation().add(...) → .finish() → .write(...)
    predict    read_stream → (Predictor) → postprocess → Prediction objects / rows (predictions_row)
    serve      serving_route + response_schema (a model in lmforge.serving.schemas) ← results(logits)
    compress   load_model ; onnx_outputs (export names and dynamic axes) ; agreement and score for the guard
    cost       primary_metric of the manifest's dev metrics

Two optional members, for a task whose decision rule is fitted per model (multi-label thresholds):
``tune_decision(dev_logits, dev_targets, labels) -> dict``, which finetune records as ``manifest["decision"]``
(compress carries it to the compressed model), and ``for_artifact(manifest) -> Task``, the task bound to that
record, which :func:`~lmforge.tasks.registry.task_for_artifact` returns (so predict, evaluate, serve and
compress apply it). And ``recipe``: ``{setting: (value, reason)}``, the task's full fine-tuning defaults for settings
the user left unset (tasks without adaptive rules), recorded under ``adaptive`` in the manifest; with
``examples_to_see``, the epochs are chosen so training sees about that many examples (2–8 epochs), all of
which run (patience 0: the best dev checkpoint is kept, no early stop). And
``augment(train, mode) -> (train, decision | None)``: the examples training sees, built from the rows read
(pair regression adds each pair in its other order), recorded under ``adaptive`` when it changed them. And
``windows(tokenizer, inputs, max_length) -> (pieces, join)``: inputs too long for the model as pieces that fit,
and ``join``, which turns the pieces' predictions back into one per input (the tagger's long texts).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Task(Protocol):
    name: str                 # what manifest.json records under "task"
    problem_type: str | None  # transformers' config.problem_type of a saved model (None: leave it unset)
    peft_task_type: str       # peft.TaskType member name, e.g. "SEQ_CLS"
    primary_metric: str       # the dev metric the loop keeps the best checkpoint by (higher is better)
    serving_route: str        # the HTTP route that serves this task's predictions, e.g. "/v1/classify"
    response_schema: str      # the name of its response model in lmforge.serving.schemas

    # --- data -------------------------------------------------------------------------------------------
    def read(self, path: str | Path, *, text_column: str | None, label_column: str | None,
             encoding: str) -> Any:
        """A whole labelled file (training and dev sets), columns detected when not named. Tasks that read
        multi-split sources (JSON documents, workbooks, split folders) also take ``split`` (a name, or None:
        the one named like ``role``, "train" or "dev"); stages pass them only when set."""

    def read_stream(self, path: str | Path, *, text_column: str | None, label_column: str | None,
                    encoding: str, need_label: bool) -> tuple[str, str | None, Iterator[tuple[int, Any, Any]]]:
        """(text column, label column, rows of (row number, input, gold or None)), streamed. Optionally
        ``split=``, as for :meth:`read`."""

    def label_space(self, train: Any) -> list[str]:
        """The ordered label names saved with the model (DataError when training needs more)."""

    def targets(self, data: Any, labels: list[str]) -> np.ndarray:
        """Gold targets of ``data`` in the model's label order (DataError naming the row for an unknown one)."""

    # --- model ------------------------------------------------------------------------------------------
    def build_model(self, model_dir: Path, labels: list[str]) -> tuple[Any, list[str]]:
        """A model with a new head for ``labels`` on the encoder in ``model_dir``; (model, new parameter names)."""

    def load_model(self, model_dir: Path) -> Any:
        """A trained model of this task from an artifact directory."""

    def encode(self, tokenizer, inputs: Sequence[Any], max_length: int) -> tuple[list[list[int]], int]:
        """Token ids per input and how many inputs were truncated."""

    def encode_examples(self, tokenizer, data: Any, labels: list[str], max_length: int
                        ) -> tuple[list[list[int]], Any, int]:
        """(token ids, targets aligned to them, inputs truncated) of a labelled set, for training and dev."""

    def collate(self, encoded: list[list[int]], targets: Any, indices: Sequence[int], pad_id: int) -> dict:
        """A padded training batch for ``indices`` (targets under ``labels``)."""

    def loss(self, module, batch: dict) -> Any:
        """The training loss of a batch, summed over examples (the loop normalises)."""

    def scoring_targets(self, data: Any, labels: list[str], tokenizer, max_length: int) -> Any:
        """Gold targets in the layout of the model's outputs, for ``score`` (compress's measurements)."""

    def score(self, logits: Any, targets: Any) -> float:
        """The guard metric of compress ("accuracy" in its manifest): a compressed model against its parent."""

    def agreement(self, logits: Any, reference: Any) -> float:
        """How often two models decide the same (a compressed model and its parent)."""

    def dev_scores(self, logits: np.ndarray, targets: np.ndarray, labels: list[str]) -> dict[str, float]:
        """The dev metrics the loop records at each evaluation (must include ``primary_metric``)."""

    # --- outputs ----------------------------------------------------------------------------------------
    def postprocess(self, logits: Any, labels: list[str], inputs: Sequence[Any] | None = None, tokenizer=None,
                    max_length: int | None = None) -> list[Any]:
        """Model outputs → one prediction object per input (with ``to_dict()`` and ``line()``). ``inputs`` and
        the tokenizer let a tagger place entities at character offsets."""

    def results(self, logits: Any, labels: list[str], inputs: Sequence[Any] | None = None, tokenizer=None,
                max_length: int | None = None) -> list[dict]:
        """Model outputs → JSON-ready results, the items of the serving response."""

    def inputs(self, data: Any) -> list[Any]:
        """What the model reads of each example of a labelled set (texts, or words)."""

    def evaluation(self, labels: list[str], top_errors: int, tokenizer=None, max_length: int | None = None) -> Any:
        """An accumulator for ``lmforge evaluate``: ``check(rows)``, ``add(rows, logits)`` (its rows for
        predictions.jsonl), ``finish()`` (the metrics), ``write(metrics, output, title)`` (report files)."""

    def onnx_outputs(self) -> dict[str, dict[int, str]]:
        """ONNX output names with their dynamic axes, e.g. ``{"logits": {0: "batch"}}``."""

    def baseline(self, output: Path, manifest: dict, train: Any, dev: Any) -> dict | None:
        """Train and record a cheap baseline beside the artifact (or None when the task has none)."""
