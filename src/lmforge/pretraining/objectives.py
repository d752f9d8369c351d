"""Feeding an objective (a task's :class:`~lmforge.tasks.language_modelling.Objective`) to THE loop: the
stream of training micro-batches and the validation scorer.

The stream's micro-batches depend only on their number (and the seed), so a resumed run reads exactly the
batches, masks included, that the interrupted one would have.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import torch

from lmforge.data.corpus import PackedBlocks, TokenizedCorpus
from lmforge.tasks.language_modelling import Batch, Objective

EVAL_SEED_OFFSET = 1_000_000_007  # validation masks never coincide with training masks


def block_stream(objective: Objective, blocks: PackedBlocks, micro_batch: int, seed: int
                 ) -> Callable[[int], Iterator[Batch]]:
    """``stream(start)`` for the loop: global micro-batches number ``start``, ``start + 1``, …"""
    def stream(start: int) -> Iterator[Batch]:
        index = start
        while True:
            yield objective.make_batch(blocks.batch(index, micro_batch, seed), index)
            index += 1

    return stream


def validation_scorer(objective: Objective, corpus: TokenizedCorpus, batch_size: int, max_batches: int):
    """``evaluate(model)`` → validation loss per predicted token and its perplexity."""
    blocks = PackedBlocks(corpus, objective.block_tokens, objective.stride)

    @torch.inference_mode()
    def evaluate(module) -> dict[str, float]:
        module.eval()
        device = next(module.parameters()).device
        total, count = 0.0, 0
        for i, raw in enumerate(blocks.sequential(batch_size)):
            if max_batches and i >= max_batches:
                break
            batch = {k: v.to(device) for k, v in objective.make_batch(raw, EVAL_SEED_OFFSET + i).items()}
            total += float(objective.loss(module, batch))
            count += objective.count(batch)
        loss = total / max(1, count)
        return {"val_loss": loss, "perplexity": math.exp(min(loss, 50.0))}

    return evaluate
