"""Typed settings of ``lmforge compress``; the CLI builds its flags from :class:`CompressConfig`.

    >>> CompressConfig(to="onnx-int8", keep_fp32="classifier,pooler,layer.5").resolved()
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from lmforge.config import setting
from lmforge.errors import ConfigError

METHODS = ("onnx", "onnx-int8", "torch-int8", "distill", "prune")
# Accuracy points a method may lose before compress refuses (without --force). Export and int8 promise the
# same model, so the bar is tight; distillation and pruning trade accuracy for speed by design.
DEFAULT_MAX_DROP = {"onnx": 1.0, "onnx-int8": 1.0, "torch-int8": 1.0, "distill": 3.0, "prune": 3.0}


@dataclass
class CompressConfig:
    """Everything that decides a compression run. Saved, resolved, in the new artifact's manifest."""

    to: str = setting("onnx-int8", "what to make: onnx (fp32 graph), onnx-int8, torch-int8, distill "
                                   "(a smaller student) or prune (drop layers / FFN neurons)", choices=METHODS)
    eval: str | None = setting(None, "labelled file the accuracy is measured on (default: the dev set recorded "
                                     "in the parent's manifest)")
    max_drop: float | None = setting(None, "accuracy points the result may lose against its parent before "
                                           "compress refuses (default: 1 for onnx/int8, 3 for distill/prune)")
    force: bool = setting(False, "keep the result even when it loses more than --max-drop")
    speed_texts: int = setting(512, "texts timed for sentences/s at batch 32 (p50 latency uses 100)")
    timing_rounds: int = setting(3, "alternating parent/artifact timing rounds; the median is kept")
    threads: int | None = setting(None, "CPU threads (default: physical cores)")
    # ONNX / int8
    optimize_graph: bool = setting(True, "apply ONNX Runtime's transformer fusions (Attention, LayerNorm, "
                                         "Gelu) before saving / quantizing")
    per_channel: bool = setting(True, "int8: one weight scale per output channel instead of per matrix")
    reduce_range: bool = setting(True, "int8: 7-bit weights, which cannot saturate the u8*s8 kernels of "
                                       "AVX2 CPUs without VNNI")
    keep_fp32: str = setting("classifier,pooler,cls_layer", "int8: comma-separated modules left in fp32 "
                                                            "(classifier, pooler, cls_layer: the [CLS]-only "
                                                            "last layer of a BERT export, embeddings, layer.N)")
    # distillation / pruning (both train with the one loop)
    student_layers: int | None = setting(None, "distill: student depth, initialised from evenly spaced "
                                               "teacher layers (default: half the teacher's)")
    student_hidden: int | None = setting(None, "distill: student width; a fresh student of this width is "
                                               "built from config instead of copying teacher layers")
    unlabelled: str | None = setting(None, "distill: extra unlabelled texts (TXT/CSV/…), taught by the "
                                           "teacher's soft labels only")
    temperature: float = setting(2.0, "distill: softmax temperature of the soft labels")
    alpha: float = setting(0.5, "distill: weight of the soft-label KL loss (1 - alpha: hard-label loss)")
    prune_layers: int = setting(0, "prune: encoder layers to drop, least important first")
    prune_ffn: float = setting(0.0, "prune: fraction of feed-forward neurons to remove in every layer")
    epochs: int = setting(3, "distill / prune recovery: passes over the training data")
    lr: float | None = setting(None, "distill / prune recovery: peak learning rate (default 1e-4; 5e-4 for a "
                                     "student built from config)")
    batch_size: int = setting(32, "distill / prune recovery: examples per step")
    seed: int = setting(0, "seed for the student's initialisation, data order and dropout")

    def validate(self) -> CompressConfig:
        problems = []
        if self.to not in METHODS:
            problems.append(f"--to '{self.to}' is not one of {', '.join(METHODS)}")
        if self.max_drop is not None and self.max_drop < 0:
            problems.append(f"max_drop must not be negative, got {self.max_drop}")
        for name in ("speed_texts", "timing_rounds", "epochs", "batch_size"):
            if getattr(self, name) < 1:
                problems.append(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("student_layers", "student_hidden", "threads"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                problems.append(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.prune_layers < 0:
            problems.append(f"prune_layers must not be negative, got {self.prune_layers}")
        if not 0 <= self.prune_ffn < 1:
            problems.append(f"prune_ffn must be in [0, 1), got {self.prune_ffn}")
        if self.to == "prune" and self.prune_layers == 0 and self.prune_ffn == 0:
            problems.append("--to prune needs --prune-layers N and/or --prune-ffn FRACTION")
        if not 0 <= self.alpha <= 1:
            problems.append(f"alpha must be in [0, 1], got {self.alpha}")
        if self.temperature <= 0:
            problems.append(f"temperature must be positive, got {self.temperature}")
        if self.lr is not None and not 0 < self.lr < 1:
            problems.append(f"lr must be between 0 and 1, got {self.lr}")
        if problems:
            raise ConfigError(problems)
        return self

    def resolved(self) -> CompressConfig:
        self.validate()
        lr = self.lr if self.lr is not None else (5e-4 if self.student_hidden else 1e-4)
        max_drop = self.max_drop if self.max_drop is not None else DEFAULT_MAX_DROP[self.to]
        return dataclasses.replace(self, lr=lr, max_drop=max_drop)

    @property
    def keep_fp32_modules(self) -> tuple[str, ...]:
        return tuple(p.strip() for p in self.keep_fp32.split(",") if p.strip())

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> CompressConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError([f"unknown compress setting '{k}' (known: {', '.join(sorted(known))})"
                               for k in unknown])
        return cls(**values)
