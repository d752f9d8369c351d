"""Typed settings. Each field carries its help text; the CLI builds its flags from these dataclasses.

    >>> cfg = FinetuneConfig(epochs=2, method="lora")
    >>> cfg.validate()          # ConfigError listing every problem at once
    >>> cfg.resolved()          # defaults that depend on other fields filled in (learning rate by method)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from lmforge.errors import ConfigError

METHODS = ("full", "lora", "head")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
PRECISION_HELP = ("auto (bf16 on a GPU that has it, else fp32), fp32, bf16 (a GPU, or a CPU with AVX512-BF16 or "
                  "AMX: about 2x faster there) or fp16 (a GPU)")
TRUNCATIONS = ("head", "head+tail")
# Learning rates that work for each method on small encoders (measured on SST-2, see bench/RESULTS.md).
DEFAULT_PATIENCE = 2  # evaluations without improvement before an early stop
DEFAULT_LR = {"full": 5e-5, "lora": 5e-4, "head": 2e-3}
# Full fine-tuning when a freshly initialised head gets few steps: the encoder's and the new head's rates
# (text classification below 10,000 rows per class, multi-label, NER; bench/RESULTS.md "Quality")
SCARCE_LR, SCARCE_HEAD_LR = 1e-4, 3e-3


EXTEND_VOCAB_MODES = ("auto", "on", "off")  # lmforge.models.vocabulary
EXTEND_VOCAB_HELP = ("add the words of the text that the model's tokenizer maps to [UNK] (seen 5+ times) as new "
                     "tokens, with new embedding rows; auto: when over 5% of the tokens are unknown")


def new_head_recipe(task: str, evidence: str) -> dict[str, tuple[Any, str]]:
    """A task's ``recipe`` (lmforge.tasks.base): the scarce rates and nothing frozen, with the dev evidence."""
    return {"lr": (SCARCE_LR, f"{task}: a higher encoder rate ({evidence})"),
            "head_lr": (SCARCE_HEAD_LR, f"{task}: the new head learns at its own, much higher rate"),
            "freeze_layers": (0, f"{task}: every layer trains")}


def setting(default: Any, help: str, **kwargs) -> Any:
    """A dataclass field with its CLI help text."""
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata={"help": help, **kwargs})
    return field(default=default, metadata={"help": help, **kwargs})


@dataclass
class FinetuneConfig:
    """Everything that decides a fine-tuning run. Saved, resolved, in the run's manifest."""

    model: str | None = setting(None, "base model: a local Hugging Face directory (default: the bundled "
                                      "all-MiniLM-L6-v2)")
    method: str = setting("full", "what to train: full (all weights), lora (low-rank adapters via peft) "
                                  "or head (frozen backbone, cached features)", choices=METHODS)
    epochs: int | None = setting(None, "passes over the training data (default: chosen from the data so each "
                                       "class is seen ~700 times, 2–8 epochs; see manifest adaptive)")
    max_steps: int | None = setting(None, "stop after this many optimizer steps, mid-epoch if need be (default: "
                                          "the epochs' steps, capped for long runs by a token budget; see "
                                          "manifest adaptive)")
    batch_size: int = setting(32, "examples per optimizer step (global, across all processes)")
    lr: float | None = setting(None, "peak learning rate (default by method: full 5e-5, lora 5e-4, head 2e-3)")
    head_lr: float | None = setting(None, "full fine-tuning: peak learning rate of the classification head "
                                          "(pooler + new classifier; default: chosen from the data, see "
                                          "manifest adaptive)")
    weight_decay: float = setting(0.01, "AdamW weight decay (not applied to biases and LayerNorm)")
    warmup_ratio: float = setting(0.06, "fraction of the steps spent warming the learning rate up")
    max_grad_norm: float = setting(1.0, "gradient clipping threshold (0 disables)")
    max_length: int | None = setting(None, "tokens kept per text; longer texts are truncated and counted "
                                           "(default: 128, or the 95th percentile of the training texts' "
                                           "token lengths up to 256)")
    truncation: str | None = setting(None, "how a longer text is cut: head (keep the start) or head+tail (the "
                                           "first quarter and last three quarters of max_length; default: "
                                           "head+tail when at least a tenth of the training texts are longer)",
                                     choices=TRUNCATIONS)
    calibrate: bool = setting(True, "fit a softmax temperature on dev after training (stored in the artifact, "
                                    "applied by predict/evaluate/serve)")
    reject_below: float | None = setting(None, "abstain (answer --abstain-label) when the top probability is "
                                               "below this")
    target_precision: float | None = setting(None, "choose --reject-below on dev: the lowest threshold whose "
                                                   "answered dev rows reach this precision")
    abstain_label: str = setting("__abstain__", "label returned when the model abstains")
    seed: int = setting(0, "seed for the dev split, data order, initialisation and dropout")
    eval_every: int = setting(0, "evaluate on dev every N optimizer steps (0: after each epoch)")
    patience: int | None = setting(None, "stop after this many evaluations without improvement (0: never; "
                                         "default 2, and 0 where a task chooses its epochs from a budget of "
                                         "examples, e.g. token classification)")
    checkpoint_every: int = setting(200, "write a resumable checkpoint every N optimizer steps")
    dev_fraction: float = setting(0.1, "share of the training file held out as dev when --dev is not given")
    max_dev_rows: int = setting(2000, "cap on the held-out dev rows (evaluation time stays small)")
    lora_r: int = setting(8, "LoRA rank")
    lora_alpha: int = setting(16, "LoRA scaling alpha")
    lora_dropout: float = setting(0.1, "dropout on the LoRA branch")
    freeze_embeddings: bool = setting(True, "keep the word-embedding matrix frozen in full fine-tuning "
                                            "(half of MiniLM's weights; faster, same accuracy)")
    freeze_layers: int | None = setting(None, "full fine-tuning: also freeze the embedding block and the first N "
                                              "encoder layers, whose backward pass is then skipped (default: a "
                                              "sixth of the layers, rounded down: 1 of MiniLM's 6)")
    extend_vocab: str = setting("auto", f"full fine-tuning: {EXTEND_VOCAB_HELP}; only the new rows train",
                                choices=EXTEND_VOCAB_MODES)
    both_orders: str = setting("auto", "pair-regression: also train on each pair in its other order (b, a); auto: "
                                       "unless the columns are ordered (query/passage, premise/hypothesis) or "
                                       "under DP-SGD", choices=EXTEND_VOCAB_MODES)
    precision: str = setting("auto", PRECISION_HELP, choices=PRECISIONS)
    text_column: str | None = setting(None, "name of the text column (detected when omitted)")
    label_column: str | None = setting(None, "name of the label column (detected when omitted)")
    encoding: str = setting("utf-8", "text encoding of the input files")
    split: str | None = setting(None, "split of a multi-split TRAIN to train on: a JSON document's key, a "
                                      "workbook's sheet, a folder's sub-folder (default: the one named train; "
                                      "its dev/val split, if any, is the dev set unless --dev is given)")
    price_per_hour: float | None = setting(None, "$ per hour of the machine, for the cost estimate "
                                                 "(default: by hardware class, see README)")
    threads: int | None = setting(None, "CPU threads for torch (default: physical cores)")
    task: str = setting("text-classification", "what the model predicts: a registered task (lmforge.tasks), "
                                               "e.g. text-classification; sft: instruction tuning of a causal LM "
                                               "(`lmforge sft --help`)")
    dp_epsilon: float | None = setting(None, "train with DP-SGD (Opacus) to this privacy budget ε; lora or head "
                                             "(see lmforge.training.privacy)")
    dp_delta: float | None = setting(None, "δ of the (ε, δ) guarantee (default: 1/(n+1), n the training rows)")
    dp_max_grad_norm: float = setting(1.0, "DP-SGD: each example's gradient is clipped to this L2 norm")
    dp_accountant: str = setting("rdp", "DP-SGD privacy accountant: rdp (Rényi DP) or prv (privacy random "
                                        "variables, tighter)", choices=("rdp", "prv"))

    def validate(self) -> FinetuneConfig:
        problems = []
        if self.method not in METHODS:
            problems.append(f"method '{self.method}' is not one of {', '.join(METHODS)}")
        if self.precision not in PRECISIONS:
            problems.append(f"precision '{self.precision}' is not one of {', '.join(PRECISIONS)}")
        if self.extend_vocab not in EXTEND_VOCAB_MODES:
            problems.append(f"extend_vocab '{self.extend_vocab}' is not one of {', '.join(EXTEND_VOCAB_MODES)}")
        elif self.extend_vocab == "on" and (self.method != "full" or self.dp_epsilon is not None):
            problems.append("--extend-vocab on needs full fine-tuning without DP-SGD (new embedding rows must "
                            "train); use --method full, or --extend-vocab off")
        if self.both_orders not in EXTEND_VOCAB_MODES:
            problems.append(f"both_orders '{self.both_orders}' is not one of {', '.join(EXTEND_VOCAB_MODES)}")
        elif self.both_orders == "on" and self.dp_epsilon is not None:
            problems.append("--both-orders on puts each pair in training twice, which DP-SGD's per-example "
                            "accounting does not cover; use --both-orders off")
        if self.truncation is not None and self.truncation not in TRUNCATIONS:
            problems.append(f"truncation '{self.truncation}' is not one of {', '.join(TRUNCATIONS)}")
        for name in ("reject_below", "target_precision"):
            if getattr(self, name) is not None and not 0 < getattr(self, name) <= 1:
                problems.append(f"{name} must be in (0, 1], got {getattr(self, name)}")
        if self.reject_below is not None and self.target_precision is not None:
            problems.append("give --reject-below or --target-precision, not both")
        for name in ("epochs", "max_steps", "batch_size", "max_length", "checkpoint_every", "lora_r", "lora_alpha"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                problems.append(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("eval_every", "patience", "weight_decay", "max_grad_norm", "max_dev_rows", "freeze_layers"):
            if getattr(self, name) is not None and getattr(self, name) < 0:
                problems.append(f"{name} must not be negative, got {getattr(self, name)}")
        for name in ("lr", "head_lr"):
            if getattr(self, name) is not None and not 0 < getattr(self, name) < 1:
                problems.append(f"{name} must be between 0 and 1, got {getattr(self, name)}")
        for name in ("warmup_ratio", "lora_dropout"):
            if not 0 <= getattr(self, name) < 1:
                problems.append(f"{name} must be in [0, 1), got {getattr(self, name)}")
        if not 0 < self.dev_fraction < 1:
            problems.append(f"dev_fraction must be between 0 and 1, got {self.dev_fraction}")
        if (self.max_length or 0) > 8192:
            problems.append(f"max_length {self.max_length} is beyond any encoder lmforge supports (8192)")
        if self.threads is not None and self.threads < 1:
            problems.append(f"threads must be at least 1, got {self.threads}")
        if self.dp_epsilon is not None and not self.dp_epsilon > 0:
            problems.append(f"dp_epsilon must be positive, got {self.dp_epsilon}")
        if self.dp_delta is not None and not 0 < self.dp_delta < 1:
            problems.append(f"dp_delta must be in (0, 1), got {self.dp_delta}")
        if self.dp_delta is not None and self.dp_epsilon is None:
            problems.append("dp_delta is set but dp_epsilon is not; pass --dp-epsilon too")
        if self.dp_epsilon is not None and self.max_steps is not None:
            problems.append("max_steps is set with dp_epsilon: the privacy accountant counts whole epochs; "
                            "give --epochs instead")
        if not self.dp_max_grad_norm > 0:
            problems.append(f"dp_max_grad_norm must be positive, got {self.dp_max_grad_norm}")
        if problems:
            raise ConfigError(problems)
        return self

    def resolved(self) -> FinetuneConfig:
        """A validated copy with method-dependent defaults filled in."""
        self.validate()
        return dataclasses.replace(self, lr=self.lr if self.lr is not None else DEFAULT_LR[self.method],
                                   patience=self.patience if self.patience is not None else DEFAULT_PATIENCE)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> FinetuneConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError([f"unknown setting '{k}'" for k in unknown])
        return cls(**values)
