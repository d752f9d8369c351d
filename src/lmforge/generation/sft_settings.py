"""SFT settings, importable without torch (the CLI builds `lmforge sft --help` from them)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from lmforge.config import setting
from lmforge.errors import ConfigError


@dataclass
class SFTConfig:
    """Settings of an SFT run (saved in the manifest)."""

    model: str | None = setting(None, "causal LM to tune: a directory, a .gguf, or 'smollm2' (default)")
    method: str = setting("lora", "lora (adapters, merged on export) or full", choices=("lora", "full"))
    epochs: int = setting(1, "passes over the training examples")
    batch_size: int = setting(8, "examples per optimizer step")
    lr: float | None = setting(None, "peak learning rate (default: lora 2e-4, full 2e-5)")
    max_length: int = setting(384, "tokens per example (prompt + response); longer ones are cut")
    dev_fraction: float = setting(0.1, "share of the examples held out for evaluation")
    max_examples: int | None = setting(None, "use at most this many training examples (a time budget)")
    eval_every: int = setting(0, "score 64 held-out examples every N optimizer steps, keeping the best (0: each epoch)")
    max_eval_examples: int = setting(256, "held-out examples scored for loss/perplexity (a time budget)")
    eval_generate: int = setting(32, "held-out prompts generated for ROUGE-L and the EOS share (0: none)")
    max_new_tokens: int = setting(256, "longest generated reply in evaluation")
    eval_int8: bool = setting(False, "generate the evaluation replies with int8 weights (faster on CPU)")
    lora_r: int = setting(16, "LoRA rank")
    lora_alpha: int = setting(32, "LoRA alpha")
    lora_dropout: float = setting(0.05, "LoRA dropout")
    seed: int = setting(0, "seed of the split, order and initialisation")
    prompt_column: str | None = setting(None, "CSV column of the prompt (default: detected)")
    response_column: str | None = setting(None, "CSV column of the response (default: detected)")
    threads: int | None = setting(None, "torch threads (default: torch's)")
    precision: str = setting("auto", "fp32, bf16 (CPUs with AVX512-BF16/AMX, GPUs), fp16 (GPUs), or auto "
                                     "(bf16/fp16 on a GPU, fp32 on a CPU)", choices=("auto", "fp32", "bf16", "fp16"))

    def resolved(self) -> SFTConfig:
        problems = [f"{n} must be at least 1" for n in ("epochs", "batch_size", "max_length", "lora_r")
                    if getattr(self, n) < 1]
        if self.eval_every < 0:
            problems.append(f"eval_every must be 0 or more, got {self.eval_every}")
        if not 0 < self.dev_fraction < 1:
            problems.append(f"dev_fraction must be in (0, 1), got {self.dev_fraction}")
        if self.method not in ("lora", "full"):
            problems.append(f"method must be lora or full for SFT, got {self.method!r}")
        if problems:
            raise ConfigError(problems)
        return dataclasses.replace(self, lr=self.lr or (2e-4 if self.method == "lora" else 2e-5))
