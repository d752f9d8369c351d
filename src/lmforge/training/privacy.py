"""Differentially private fine-tuning (DP-SGD through Opacus), hooked into THE loop through the plan.

    lmforge finetune train.csv --output runs/dp --method lora --dp-epsilon 3          # δ defaults to 1/n
    lmforge finetune train.csv --output runs/dp --method head --dp-epsilon 8 --dp-delta 1e-5

:func:`make_private` changes a :class:`~lmforge.training.loop.TrainingPlan` in two ways, and the loop runs
unchanged otherwise (save that each DP micro-batch's loss is the mean over its own rows, as Opacus expects):

- ``batches``: **Poisson sampling** instead of length buckets. Each step includes every training example
  independently with probability q = batch_size / n, ⌈n / batch_size⌉ steps an epoch (batch sizes vary
  around ``batch_size``). This is the sampling that the accountant's subsampled-Gaussian analysis assumes.
  One deviation, documented: a draw with no example at all (probability (1 − q)^n ≈ e^(−batch_size),
  1e-14 at batch 32) is drawn again instead of taking a noise-only step.
- ``privacy.attach(model, optimizer)``, called by the loop: Opacus' ``GradSampleModule`` (per-example
  gradients) and ``DPOptimizer`` (each example's gradient clipped to ``dp_max_grad_norm``, Gaussian noise
  of σ·C added to the sum, divided by the expected batch size) with an accountant on every step.

- **Length-sorted micro-batches**, where the encoder runs (not the head method's cached features). A Poisson
  batch is a random set of rows, so padding it to its longest row wasted 72% of the tokens computed (SST-2,
  batch 128). Each batch is sorted by length and fed to the loop in ``DP_MICRO_BATCH``-row micro-batches;
  their per-example gradients are joined before clipping (:mod:`lmforge.training.dp_optimizer`), so the
  step, its noise and the accountant's sample rate are exactly those of one batch.

σ is calibrated before training so that all planned steps spend exactly ``dp_epsilon`` at ``dp_delta``
(Opacus ``get_noise_multiplier``); the ε actually spent (fewer steps with early stopping) is read from the
accountant after training and recorded in the manifest under ``privacy``.

What the guarantee covers: the trained weights, with respect to adding or removing one training row. What
it does not: dev rows (checkpoint selection and early stopping look at them; choosing among DP models with
data independent of the training rows is post-processing and keeps the training rows' guarantee), and the
manifest's plain statistics of the training file (row count, label distribution, token counts). The TF-IDF
baseline, a non-private model of the training rows, is not trained in a DP run.

Refused, with a :class:`ConfigError`: ``--method full`` (not validated here yet), ``--resume`` (the
accountant's state is not checkpointed), several processes (the accountant is per process), and δ ≥ 1/n.
"""

from __future__ import annotations

import math
import random
import warnings
from dataclasses import dataclass, field

import torch

from lmforge.errors import ConfigError, missing_extra

ACCOUNTANTS = ("rdp", "prv")
DP_MICRO_BATCH = 32  # rows per micro-batch of a length-sorted Poisson batch (encoder methods)


def check_private_config(cfg, n_train: int, *, resume: bool, processes: int) -> list[str]:
    """Everything about ``cfg`` that DP-SGD cannot account for (empty: fine)."""
    problems = []
    if cfg.method not in ("lora", "head"):
        problems.append(f"--dp-epsilon works with --method lora or head, not '{cfg.method}' (full fine-tuning "
                        "under DP-SGD is not validated here); pass --method lora")
    if resume:
        problems.append("--dp-epsilon cannot --resume: the privacy accountant's state is not checkpointed, so the "
                        "ε of the interrupted part would be lost; start again with --overwrite")
    if processes > 1:
        problems.append(f"--dp-epsilon runs in one process (got {processes}): the accountant would count each "
                        "process's share as a separate run; launch without torchrun/accelerate")
    delta = cfg.dp_delta if cfg.dp_delta is not None else 1 / (n_train + 1)
    if delta >= 1 / n_train:
        problems.append(f"--dp-delta {delta:g} is not below 1/n = 1/{n_train}: with δ ≥ 1/n, releasing one random "
                        "row satisfies the guarantee; pass a smaller --dp-delta (default: 1/(n+1))")
    if cfg.batch_size >= n_train:
        problems.append(f"--batch-size {cfg.batch_size} is not below the {n_train} training rows: the sampling rate "
                        "would be 1 and nothing is subsampled; use a smaller batch")
    return problems


def poisson_batches(n: int, batch_size: int, seed: int, epoch: int,
                    lengths: list[int] | None = None) -> list[list[int]]:
    """⌈n / batch_size⌉ Poisson samples of ``range(n)``, each index in each batch with probability
    batch_size / n; the same for the same (seed, epoch). With ``lengths``, each batch is sorted longest
    first (the same set of rows: the order within a step changes nothing the accountant sees)."""
    q = batch_size / n
    rng = random.Random(f"poisson-{seed}-{epoch}")
    batches = []
    for _ in range(math.ceil(n / batch_size)):
        batch: list[int] = []
        while not batch:  # an empty draw (probability (1-q)^n) is drawn again: see the module docstring
            batch = [i for i in range(n) if rng.random() < q]
        batches.append(sorted(batch, key=lambda i: -lengths[i]) if lengths is not None else batch)
    return batches


@dataclass
class PrivacyEngine:
    """The plan's ``privacy``: attaches Opacus to the loop's model and optimizer, and reports the ε spent."""

    epsilon: float
    delta: float
    max_grad_norm: float
    sample_rate: float
    steps: int
    batch_size: int
    accountant_name: str = "rdp"
    seed: int = 0
    micro_batches: int = 1  # per step: a length-sorted Poisson batch in DP_MICRO_BATCH-row parts
    noise_multiplier: float = 0.0
    accountant: object = None
    optimizer: object = None
    notes: list = field(default_factory=list)

    def __post_init__(self):
        try:
            from opacus.accountants import create_accountant
            from opacus.accountants.utils import get_noise_multiplier
        except ImportError:
            raise missing_extra("--dp-epsilon (DP-SGD)", "privacy", "opacus") from None
        self.noise_multiplier = get_noise_multiplier(target_epsilon=self.epsilon, target_delta=self.delta,
                                                     sample_rate=self.sample_rate, steps=self.steps,
                                                     accountant=self.accountant_name)
        self.accountant = create_accountant(self.accountant_name)

    def attach(self, model: torch.nn.Module, optimizer):
        from opacus import GradSampleModule

        from lmforge.training.dp_optimizer import JoinedDPOptimizer

        # the head method's inputs are frozen features: torch then warns on every step that Opacus' hooks fire
        # on module outputs only, which is what per-example gradients of the trained weights need
        warnings.filterwarnings("ignore", message="Full backward hook is firing when gradients are computed "
                                "with respect to module outputs")
        wrapped = GradSampleModule(model, batch_first=True, loss_reduction="mean")
        generator = torch.Generator().manual_seed(self.seed)  # the noise, reproducible
        self.optimizer = JoinedDPOptimizer(optimizer, noise_multiplier=self.noise_multiplier,
                                           max_grad_norm=self.max_grad_norm, expected_batch_size=self.batch_size,
                                           loss_reduction="mean", generator=generator)
        self.optimizer.attach_step_hook(self.accountant.get_optimizer_hook_fn(sample_rate=self.sample_rate))
        return wrapped, self.optimizer

    def report(self) -> dict:
        steps_taken = sum(n for _, _, n in getattr(self.accountant, "history", [])) if self.accountant else 0
        spent = self.accountant.get_epsilon(self.delta) if steps_taken else 0.0
        return {
            "mechanism": "DP-SGD (Opacus): per-example clipping, Gaussian noise, Poisson sampling",
            "epsilon_target": self.epsilon, "epsilon_spent": round(float(spent), 4), "delta": self.delta,
            "noise_multiplier": round(self.noise_multiplier, 5), "max_grad_norm": self.max_grad_norm,
            "sample_rate": self.sample_rate, "expected_batch_size": self.batch_size,
            "steps_planned": self.steps, "steps_taken": steps_taken, "accountant": self.accountant_name,
            "micro_batches_per_step": self.micro_batches,
            "unit": "one training row (add/remove)",
            "not_covered": ["dev rows (used for checkpoint selection and early stopping, never trained on)",
                            "the manifest's statistics of the training file (rows, label distribution, tokens)"],
            "approximation": "an empty Poisson draw (probability (1-q)^n) is redrawn instead of a noise-only step",
        }


def make_private(plan, cfg, n_train: int, epochs: int, lengths: list[int] | None = None):
    """Give ``plan`` Poisson batches (sorted by ``lengths`` when given) and a :class:`PrivacyEngine`;
    returns the plan."""
    if cfg.dp_accountant not in ACCOUNTANTS:
        raise ConfigError(f"--dp-accountant must be one of {', '.join(ACCOUNTANTS)}, got '{cfg.dp_accountant}'")
    delta = cfg.dp_delta if cfg.dp_delta is not None else 1 / (n_train + 1)
    steps_per_epoch = math.ceil(n_train / cfg.batch_size)
    plan.batches = lambda epoch: poisson_batches(n_train, cfg.batch_size, cfg.seed, epoch, lengths)
    plan.privacy = PrivacyEngine(cfg.dp_epsilon, delta, cfg.dp_max_grad_norm, cfg.batch_size / n_train,
                                 steps_per_epoch * epochs, cfg.batch_size, cfg.dp_accountant, cfg.seed,
                                 micro_batches=1 if lengths is None else math.ceil(cfg.batch_size / DP_MICRO_BATCH))
    return plan
