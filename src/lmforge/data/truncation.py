"""Cutting token ids to a model's budget: keep the head, or the head and the tail of a long text.

Head+tail keeps the first quarter and the last three quarters of the budget (special tokens at both ends
preserved): the end of a review or a ticket often holds its verdict. Sun et al. 2019 ("How to Fine-Tune
BERT for Text Classification", Table 3) found head+tail better than head-only on long IMDb reviews.

    >>> truncate([101, 1, 2, 3, 4, 5, 6, 7, 102], 6, "head+tail")
    [101, 1, 5, 6, 7, 102]
"""

from __future__ import annotations

from collections.abc import Sequence

HEAD_SHARE = 0.25


def truncate(ids: Sequence[int], max_length: int, mode: str = "head") -> list[int]:
    """``ids`` (with [CLS] … [SEP] at the ends) cut to ``max_length`` tokens."""
    ids = list(ids)
    if len(ids) <= max_length:
        return ids
    if mode == "head" or max_length < 4:
        return ids[:max_length - 1] + ids[-1:]
    body = max_length - 2
    head = max(1, int(body * HEAD_SHARE))
    tail = body - head
    return ids[:1 + head] + ids[len(ids) - 1 - tail:]


def encode_texts(tokenizer, texts: Sequence[str], max_length: int, mode: str | None = "head"
                 ) -> tuple[list[list[int]], list[int]]:
    """Token ids of ``texts`` cut to ``max_length`` by ``mode``, and each text's untruncated length."""
    from transformers.utils import logging

    verbosity = logging.get_verbosity()
    logging.set_verbosity_error()  # "sequence longer than the model's maximum": we cut it below
    try:
        full = tokenizer(list(texts), truncation=False)["input_ids"]
    finally:
        logging.set_verbosity(verbosity)
    return [truncate(ids, max_length, mode or "head") for ids in full], [len(ids) for ids in full]
