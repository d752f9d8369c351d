"""BERT's 80/10/10 corruption, measured on many tokens; whole-word masking chooses words."""

from __future__ import annotations

import torch

from lmforge.data.masking import IGNORE, mask_tokens

MASK, VOCAB = 4, 1000


def test_masking_statistics_match_bert():
    ids = torch.randint(10, VOCAB, (400, 128))
    special = torch.zeros_like(ids, dtype=torch.bool)
    special[:, 0] = special[:, -1] = True
    inputs, labels = mask_tokens(ids, special, MASK, VOCAB, torch.Generator().manual_seed(0))
    chosen = labels != IGNORE
    assert abs(chosen[:, 1:-1].float().mean().item() - 0.15) < 0.005
    assert not chosen[special].any(), "special tokens are never chosen"
    assert torch.equal(labels[chosen], ids[chosen]), "labels are the original ids"
    masked = (inputs == MASK) & chosen
    kept = (inputs == ids) & chosen
    replaced = chosen & ~masked & ~kept
    n = chosen.sum().item()
    assert abs(masked.sum().item() / n - 0.8) < 0.01
    # a random replacement can draw the original id (1 in VOCAB): it then counts as kept
    assert abs(kept.sum().item() / n - 0.1) < 0.01
    assert abs(replaced.sum().item() / n - 0.1) < 0.01
    assert torch.equal(inputs[~chosen], ids[~chosen]), "unchosen tokens are untouched"


def test_same_generator_seed_gives_same_masks():
    ids = torch.randint(10, VOCAB, (8, 32))
    special = torch.zeros_like(ids, dtype=torch.bool)
    a = mask_tokens(ids, special, MASK, VOCAB, torch.Generator().manual_seed(3))
    b = mask_tokens(ids, special, MASK, VOCAB, torch.Generator().manual_seed(3))
    assert all(torch.equal(x, y) for x, y in zip(a, b))


def test_whole_word_masking_masks_every_token_of_a_chosen_word():
    ids = torch.randint(10, VOCAB, (300, 60))
    word_starts = torch.zeros_like(ids)
    word_starts[:, ::3] = 1  # words of three tokens
    special = torch.zeros_like(ids, dtype=torch.bool)
    _, labels = mask_tokens(ids, special, MASK, VOCAB, torch.Generator().manual_seed(1), word_starts=word_starts)
    chosen = (labels != IGNORE).view(300, 20, 3)
    assert torch.equal(chosen.all(-1), chosen.any(-1)), "a word is chosen whole or not at all"
    assert abs(chosen.float().mean().item() - 0.15) < 0.01
