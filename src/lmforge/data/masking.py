"""BERT's masked-LM corruption: choose 15% of the tokens (or of the words, for whole-word masking), and
replace 80% of the chosen by [MASK], 10% by a random token, keep 10% as they are.

    >>> g = torch.Generator().manual_seed(0)
    >>> inputs, labels = mask_tokens(ids, special, mask_id=4, vocab_size=8000, generator=g)
    >>> # labels: the original id where a token was chosen, -100 elsewhere (ignored by the loss)

Whole-word masking (``word_starts``, 1 where a token begins a word) chooses words, then corrupts every
token of a chosen word: for Chinese, where BERT's tokens are single characters, that masks 北京 as a whole
instead of leaving 京 to give 北 away (Cui et al., 2019, "Pre-Training with Whole Word Masking for
Chinese BERT").
"""

from __future__ import annotations

import torch

IGNORE = -100


def mask_tokens(input_ids: torch.Tensor, special: torch.Tensor, mask_id: int, vocab_size: int,
                generator: torch.Generator, probability: float = 0.15,
                word_starts: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(corrupted inputs, labels) for ``input_ids`` (B, L); ``special`` (B, L) bool marks tokens never
    chosen ([CLS], [SEP], padding)."""
    draw = torch.rand(input_ids.shape, generator=generator)
    if word_starts is not None:
        # one draw per word: every token takes the draw of the word it belongs to
        word_index = (word_starts.cumsum(dim=1) - 1).clamp(min=0)  # (B, L)
        draw = draw.gather(1, word_index)
    chosen = (draw < probability) & ~special
    labels = torch.where(chosen, input_ids, torch.full_like(input_ids, IGNORE))
    action = torch.rand(input_ids.shape, generator=generator)
    random_ids = torch.randint(vocab_size, input_ids.shape, generator=generator)
    inputs = torch.where(chosen & (action < 0.8), torch.full_like(input_ids, mask_id), input_ids)
    inputs = torch.where(chosen & (action >= 0.8) & (action < 0.9), random_ids, inputs)
    return inputs, labels
