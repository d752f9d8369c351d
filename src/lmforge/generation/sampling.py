"""How the next token is chosen: :class:`SamplingParams` and the logits pipeline.

    >>> params = SamplingParams(temperature=0.7, top_p=0.9, max_tokens=64, stop=["\\n\\n"], seed=0)
    >>> sampler = Sampler(params)
    >>> token = sampler(logits, generated_so_far)      # logits: (vocab,) float tensor

The order is the one transformers uses: repetition penalty → temperature → top-k → top-p → draw. With
``temperature == 0`` the choice is greedy (argmax) and every other knob but the repetition penalty is moot.
Each request draws from its own ``torch.Generator`` seeded by ``seed``, so a seeded request gives the same
text whether it runs alone or inside a batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from lmforge.errors import ConfigError


@dataclass
class SamplingParams:
    """One request's decoding settings."""

    max_tokens: int = 256
    """most new tokens to generate"""
    temperature: float = 0.0
    """0: greedy; higher: more random"""
    top_k: int = 0
    """keep only the k most probable tokens (0: all)"""
    top_p: float = 1.0
    """keep the smallest set of tokens whose probability reaches p (1: all)"""
    repetition_penalty: float = 1.0
    """divide positive logits (multiply negative ones) of tokens already in the text by this (1: off)"""
    stop: list[str] = field(default_factory=list)
    """strings that end the generation (not included in the text)"""
    seed: int | None = None
    """seed of this request's random draws (None: fresh randomness)"""
    ignore_eos: bool = False
    """keep going past the end-of-sequence token (benchmarks)"""

    def validate(self) -> SamplingParams:
        problems = []
        if self.max_tokens < 1:
            problems.append(f"max_tokens must be at least 1, got {self.max_tokens}")
        if self.temperature < 0:
            problems.append(f"temperature must not be negative, got {self.temperature}")
        if self.top_k < 0:
            problems.append(f"top_k must not be negative, got {self.top_k}")
        if not 0 < self.top_p <= 1:
            problems.append(f"top_p must be in (0, 1], got {self.top_p}")
        if self.repetition_penalty <= 0:
            problems.append(f"repetition_penalty must be positive, got {self.repetition_penalty}")
        if any(not s for s in self.stop):
            problems.append("stop strings must not be empty")
        if problems:
            raise ConfigError(problems)
        return self


def apply_repetition_penalty(logits: torch.Tensor, previous: torch.Tensor, penalty: float) -> torch.Tensor:
    """CTRL's penalty (as in transformers): seen tokens' logits divided by ``penalty`` when positive,
    multiplied when negative. ``logits`` (V,), ``previous`` (n,) token ids."""
    if penalty == 1.0 or previous.numel() == 0:
        return logits
    seen = logits.gather(0, previous)
    logits = logits.clone()
    logits.scatter_(0, previous, torch.where(seen > 0, seen / penalty, seen * penalty))
    return logits


def filter_top_k_top_p(logits: torch.Tensor, top_k: int, top_p: float) -> torch.Tensor:
    """Logits with everything outside the top-k and the top-p nucleus set to -inf. ``logits`` (V,)."""
    if top_k and top_k < logits.numel():
        kth = torch.topk(logits, top_k).values[-1]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p < 1.0:
        ordered, order = torch.sort(logits, descending=True)
        cumulative = ordered.softmax(-1).cumsum(-1)
        drop = cumulative - ordered.softmax(-1) >= top_p  # mass before this token already reached p
        logits = logits.masked_fill(torch.zeros_like(drop).scatter(0, order, drop), float("-inf"))
    return logits


class Sampler:
    """Chooses tokens for one request; holds its random generator."""

    def __init__(self, params: SamplingParams):
        self.params = params
        self.generator = None
        if params.temperature > 0:
            self.generator = torch.Generator()
            if params.seed is not None:
                self.generator.manual_seed(params.seed)
            else:
                self.generator.seed()

    def __call__(self, logits: torch.Tensor, previous: torch.Tensor) -> int:
        p = self.params
        logits = apply_repetition_penalty(logits.float(), previous, p.repetition_penalty)
        if p.temperature == 0:
            return int(logits.argmax())
        logits = filter_top_k_top_p(logits / p.temperature, p.top_k, p.top_p)
        return int(torch.multinomial(logits.softmax(-1), 1, generator=self.generator))
