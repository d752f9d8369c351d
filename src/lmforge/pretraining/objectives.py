"""What each objective adds to THE loop: how a block becomes a batch, the summed loss, what is counted.

    causal (clm):  a block of context + 1 tokens; predict tokens 1..T from 0..T-1; count = B × T
    masked (mlm):  [CLS] + context - 2 tokens + [SEP]; corrupt 15% (80/10/10); count = chosen tokens

Both stream global micro-batches that depend only on their number (and the seed), so a resumed run reads
exactly the batches, masks included, that the interrupted one would have.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from lmforge.data.corpus import PackedBlocks, TokenizedCorpus
from lmforge.pretraining.masking import IGNORE, mask_tokens

Batch = dict[str, torch.Tensor]
EVAL_SEED_OFFSET = 1_000_000_007  # validation masks never coincide with training masks


@dataclass
class Objective:
    """The objective-specific parts of a pretraining plan."""

    block_tokens: int  # tokens read per block
    stride: int  # tokens between block starts (predicted tokens per block for clm)
    make_batch: Callable[[dict[str, np.ndarray], int], Batch]  # (raw blocks, batch number) → tensors
    loss: Callable[[torch.nn.Module, Batch], torch.Tensor]
    count: Callable[[Batch], int]
    tokens: Callable[[Batch], int] | None = None  # tokens trained on per batch (default: all inputs)


def causal_objective(context: int) -> Objective:
    def make_batch(raw, index):
        return {"input_ids": torch.from_numpy(raw["input_ids"])}  # (B, T + 1)

    def loss(module, batch):
        ids = batch["input_ids"]
        logits = module(input_ids=ids[:, :-1], use_cache=False).logits  # (B, T, V)
        return F.cross_entropy(logits.flatten(0, 1).float(), ids[:, 1:].flatten(), reduction="sum")

    predicted = lambda b: b["input_ids"][:, 1:].numel()  # noqa: E731  (the extra token is only a target)
    return Objective(context + 1, context, make_batch, loss, predicted, predicted)


def masked_objective(context: int, tokenizer, seed: int, probability: float, whole_words: bool) -> Objective:
    cls_id, sep_id, mask_id = tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.mask_token_id
    special_ids = torch.tensor(sorted(set(tokenizer.all_special_ids)))
    vocab_size = len(tokenizer)

    def make_batch(raw, index):
        body = torch.from_numpy(raw["input_ids"])  # (B, T - 2)
        rows = body.shape[0]
        ids = torch.cat([torch.full((rows, 1), cls_id), body, torch.full((rows, 1), sep_id)], dim=1)  # (B, T)
        starts = None
        if whole_words and "word_starts" in raw:
            ones = torch.ones(rows, 1, dtype=torch.int64)
            starts = torch.cat([ones, torch.from_numpy(raw["word_starts"]), ones], dim=1)
        generator = torch.Generator().manual_seed(seed * 7919 + index)
        inputs, labels = mask_tokens(ids, torch.isin(ids, special_ids), mask_id, vocab_size, generator,
                                     probability, starts)
        return {"input_ids": inputs, "labels": labels}

    def loss(module, batch):
        labels = batch["labels"]
        if hasattr(module, "cls") and hasattr(module, "bert"):  # only the chosen positions reach the head
            hidden = module.bert(input_ids=batch["input_ids"]).last_hidden_state  # (B, T, H)
            chosen = labels != IGNORE
            logits = module.cls(hidden[chosen])  # (M, V)
            return F.cross_entropy(logits.float(), labels[chosen], reduction="sum")
        logits = module(input_ids=batch["input_ids"]).logits  # wrapped (DDP) or another architecture
        return F.cross_entropy(logits.flatten(0, 1).float(), labels.flatten(), ignore_index=IGNORE, reduction="sum")

    return Objective(context - 2, context - 2, make_batch, loss, lambda b: int((b["labels"] != IGNORE).sum()))


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
