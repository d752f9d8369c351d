"""Opacus' DPOptimizer for one Poisson batch fed to the loop as several micro-batches (imports Opacus: load it
only under ``--dp-epsilon``)."""

from __future__ import annotations

import torch
from opacus.optimizers import DPOptimizer


class JoinedDPOptimizer(DPOptimizer):
    """Concatenates the per-example gradients of a step's micro-batches before clipping.

    Opacus reads several backward passes before a step as several batches (gradient accumulation): it would
    divide the noised sum by the expected batch size times their count, and its accountant hook would charge
    that many times the sample rate. Joined, the micro-batches are the one Poisson batch they were cut from:
    the same clipping, noise, scale and privacy cost as a single backward over all its rows."""

    def pre_step(self, closure=None):
        for p in self.params:
            if isinstance(getattr(p, "grad_sample", None), list):
                p.grad_sample = torch.cat(p.grad_sample, dim=0)
        return super().pre_step(closure)
