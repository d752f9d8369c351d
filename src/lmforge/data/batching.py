"""Length-bucketed batching: batches of similar-length sequences, so little compute is spent on padding.

Standard dynamic padding pads each random batch to its longest member; on SST-2 two thirds of the tokens
computed are then padding. Sorting a shuffled window of examples by length before cutting it into batches
keeps the randomness of the batch order while making each batch nearly uniform in length.

    >>> order = length_bucketed_batches(lengths, batch_size=32, seed=0, epoch=0)
    >>> batch = pad_batch([ids[i] for i in order[0]], pad_id=0)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def length_bucketed_batches(lengths: Sequence[int], batch_size: int, seed: int, epoch: int,
                            window_batches: int = 64) -> list[list[int]]:
    """Batches of example indices for one epoch, deterministic in (seed, epoch).

    The examples are shuffled, cut into windows of ``window_batches * batch_size``, each window is sorted by
    length and cut into batches, and the batches are shuffled. Larger windows mean less padding and less
    randomness; 64 keeps padding to a few percent on real data.
    """
    rng = np.random.default_rng([seed, epoch])
    order = rng.permutation(len(lengths))
    lengths = np.asarray(lengths)
    window = batch_size * window_batches
    batches = []
    for start in range(0, len(order), window):
        chunk = order[start:start + window]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches.extend(chunk[i:i + batch_size].tolist() for i in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    return batches


def sorted_batches(lengths: Sequence[int], max_tokens: int, max_batch: int) -> list[list[int]]:
    """Inference batches: all examples sorted by length, each batch under a padded-token budget."""
    order = np.argsort(np.asarray(lengths), kind="stable")[::-1]  # longest first: memory peaks early
    batches, current, longest = [], [], 0
    for i in order.tolist():
        longest_if_added = max(longest, lengths[i])
        if current and (len(current) >= max_batch or longest_if_added * (len(current) + 1) > max_tokens):
            batches.append(current)
            current, longest_if_added = [], lengths[i]
        current.append(i)
        longest = longest_if_added
    if current:
        batches.append(current)
    return batches


def pad_batch(sequences: Sequence[Sequence[int]], pad_id: int, numpy: bool = False) -> dict[str, torch.Tensor]:
    """Right-pad token id lists into ``input_ids`` and ``attention_mask`` tensors of shape (B, T) (int64 numpy
    arrays with ``numpy``: for backends that run without torch)."""
    longest = max(len(s) for s in sequences)
    if numpy:
        input_ids = np.full((len(sequences), longest), pad_id, dtype=np.int64)
        attention_mask = np.zeros((len(sequences), longest), dtype=np.int64)
        for row, seq in enumerate(sequences):
            input_ids[row, :len(seq)] = seq
            attention_mask[row, :len(seq)] = 1
        return {"input_ids": input_ids, "attention_mask": attention_mask}
    import torch  # here, not at the top: inference without torch (ONNX) imports this module too

    input_ids = torch.full((len(sequences), longest), pad_id, dtype=torch.long)
    attention_mask = torch.zeros((len(sequences), longest), dtype=torch.long)
    for row, seq in enumerate(sequences):
        input_ids[row, :len(seq)] = torch.as_tensor(seq, dtype=torch.long)
        attention_mask[row, :len(seq)] = 1
    return {"input_ids": input_ids, "attention_mask": attention_mask}
