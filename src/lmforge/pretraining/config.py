"""Settings of a pretraining run; the CLI builds ``lmforge pretrain``'s flags from them.

    >>> cfg = PretrainConfig(objective="clm", size="tiny", max_steps=2000).resolved()
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from lmforge.config import EXTEND_VOCAB_HELP, EXTEND_VOCAB_MODES, PRECISION_HELP, PRECISIONS, setting
from lmforge.errors import ConfigError
from lmforge.pretraining.sizes import ARCHITECTURES, SIZES

OBJECTIVES = ("mlm", "clm")
TOKENIZER_KINDS = ("bpe", "wordpiece", "unigram", "char")


@dataclass
class PretrainConfig:
    """Everything that decides a pretraining run. Saved, resolved, in the run's manifest."""

    objective: str = setting("clm", "mlm (BERT: masked tokens) or clm (GPT: next token)", choices=OBJECTIVES)
    from_model: str | None = setting(None, "continue pretraining this model directory (or 'all-MiniLM-L6-v2', "
                                           "the bundled one) instead of starting from random weights")
    size: str = setting("tiny", "model size by name (tiny: 2×128, small: 4×256, base: 12×768)",
                        choices=tuple(SIZES))
    layers: int | None = setting(None, "transformer layers (overrides --size)")
    heads: int | None = setting(None, "attention heads (overrides --size)")
    width: int | None = setting(None, "hidden width (overrides --size)")
    context: int | None = setting(None, "tokens per block / context length (overrides --size)")
    arch: str = setting("gpt2", "decoder for clm: gpt2 (learned positions, GELU) or llama (RoPE, SwiGLU, RMSNorm)",
                        choices=ARCHITECTURES)
    dropout: float | None = setting(None, "dropout (default: 0 for clm, 0.1 for mlm)")
    tokenizer: str | None = setting(None, "a tokenizer directory, or a kind to train on the corpus first: "
                                          "bpe, wordpiece, unigram, char (default: bpe for clm, wordpiece "
                                          "for mlm; the model's own with --from-model)")
    extend_vocab: str = setting("auto", f"with --from: {EXTEND_VOCAB_HELP}", choices=EXTEND_VOCAB_MODES)
    vocab_size: int = setting(8192, "vocabulary of a tokenizer trained on the fly")
    batch_size: int = setting(32, "blocks per optimizer step (global)")
    grad_accumulation: int = setting(1, "micro-batches per optimizer step (the batch is split into them)")
    max_steps: int | None = setting(None, "optimizer steps (default: one pass over the training blocks, "
                                          "or what --max-tokens allows)")
    max_tokens: int | None = setting(None, "token budget: stop after this many training tokens")
    lr: float | None = setting(None, "peak learning rate (default: 1e-3 from scratch, 5e-5 with --from-model)")
    weight_decay: float = setting(0.1, "AdamW weight decay (not on biases and norms)")
    adam_beta2: float = setting(0.99, "AdamW's second-moment decay (0.99 suits small batches of tokens)")
    warmup_ratio: float = setting(0.05, "share of the steps warming the learning rate up")
    max_grad_norm: float = setting(1.0, "gradient clipping threshold (0 disables)")
    val_fraction: float = setting(0.1, "share of the token stream (its end) held out for validation")
    eval_every: int = setting(0, "evaluate validation loss and perplexity every N steps (0: 5 times a run)")
    eval_batches: int = setting(0, "validation batches per evaluation (0: the whole validation split)")
    checkpoint_every: int = setting(500, "write a resumable checkpoint every N optimizer steps")
    mask_probability: float = setting(0.15, "mlm: share of tokens (or words) chosen for prediction")
    whole_word_masking: bool = setting(False, "mlm: mask whole words (jieba words for Chinese)")
    text_column: str | None = setting(None, "text column of CSV/JSONL corpora (detected when omitted)")
    encoding: str = setting("utf-8", "text encoding of the corpus files")
    seed: int = setting(0, "seed for initialisation, block order, masking and dropout")
    threads: int | None = setting(None, "CPU threads for torch (default: physical cores)")
    precision: str = setting("auto", PRECISION_HELP, choices=PRECISIONS)
    price_per_hour: float | None = setting(None, "$ per hour of the machine, for the cost estimate")

    def validate(self) -> PretrainConfig:
        problems = []
        for name, allowed in (("objective", OBJECTIVES), ("size", tuple(SIZES)), ("arch", ARCHITECTURES),
                              ("precision", PRECISIONS), ("extend_vocab", EXTEND_VOCAB_MODES)):
            if getattr(self, name) not in allowed:
                problems.append(f"{name} '{getattr(self, name)}' is not one of {', '.join(allowed)}")
        for name in ("vocab_size", "batch_size", "grad_accumulation", "checkpoint_every"):
            if getattr(self, name) < 1:
                problems.append(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("max_steps", "max_tokens", "layers", "heads", "width", "context", "threads"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                problems.append(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.batch_size % self.grad_accumulation:
            problems.append(f"batch_size {self.batch_size} is not divisible by grad_accumulation "
                            f"{self.grad_accumulation}")
        if not 0 < self.val_fraction < 1:
            problems.append(f"val_fraction must be between 0 and 1, got {self.val_fraction}")
        if not 0 < self.mask_probability < 1:
            problems.append(f"mask_probability must be between 0 and 1, got {self.mask_probability}")
        if self.lr is not None and not 0 < self.lr < 1:
            problems.append(f"lr must be between 0 and 1, got {self.lr}")
        if self.dropout is not None and not 0 <= self.dropout < 1:
            problems.append(f"dropout must be in [0, 1), got {self.dropout}")
        if not 0 < self.adam_beta2 < 1:
            problems.append(f"adam_beta2 must be between 0 and 1, got {self.adam_beta2}")
        if not 0 <= self.warmup_ratio < 1:
            problems.append(f"warmup_ratio must be in [0, 1), got {self.warmup_ratio}")
        if self.whole_word_masking and self.objective != "mlm":
            problems.append("whole_word_masking is for --objective mlm")
        if self.tokenizer in TOKENIZER_KINDS and self.from_model:
            problems.append(f"--tokenizer {self.tokenizer} trains a new tokenizer, but --from-model keeps the "
                            "model's own; drop one of them")
        if self.extend_vocab == "on" and not self.from_model:
            problems.append("--extend-vocab on extends the tokenizer of --from-model; a new tokenizer is trained "
                            "on the corpus already")
        if problems:
            raise ConfigError(problems)
        return self

    def resolved(self) -> PretrainConfig:
        self.validate()
        return dataclasses.replace(
            self, lr=self.lr if self.lr is not None else (5e-5 if self.from_model else 1e-3),
            dropout=self.dropout if self.dropout is not None else (0.1 if self.objective == "mlm" else 0.0))

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)
