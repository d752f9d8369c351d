"""Teach a pretrained tokenizer the words of your text it cannot spell (continued pretraining, fine-tuning).

The bundled English MiniLM maps 65% of the characters of the shared Chinese reviews to ``[UNK]`` (了, 是,
好 and 差 among them), and no amount of pretraining teaches one ``[UNK]`` embedding to mean both 好 and 差.
Adding the unknown words seen at least ``MIN_COUNT`` times as tokens (``tokenizer.add_tokens``) and growing
the embedding matrix (``resize_token_embeddings``, new rows drawn around the mean of the old ones) gives
masked-LM pretraining (``lmforge pretrain --from``) and fine-tuning (``lmforge finetune``, new rows only)
something to learn — the vocabulary-expansion step of domain adaptation.

    >>> info = extend_vocabulary(tokenizer, texts, mode="auto")
    >>> info["added"], info["unknown_share_before"], info["unknown_share_after"]
    (2325, 0.6508, 0.0014)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from itertools import islice

AUTO_SHARE = 0.05  # auto extends when more than this share of the corpus's tokens are [UNK]
MIN_COUNT = 5  # a word seen fewer times would get an embedding that pretraining barely moves
MAX_NEW = 20_000
BATCH = 1024


def unknown_words(tokenizer, texts: Iterable[str]) -> tuple[Counter, int, int]:
    """The words of ``texts`` the tokenizer maps to its unknown token (normalised as it matches them),
    with counts; and the unknown and total token counts."""
    unk = tokenizer.unk_token_id
    normalizer = tokenizer.backend_tokenizer.normalizer
    counts: Counter = Counter()
    unknown = total = 0
    texts = iter(texts)
    while batch := list(islice(texts, BATCH)):
        encoded = tokenizer(batch, add_special_tokens=False, return_offsets_mapping=True)
        for text, ids, offsets in zip(batch, encoded["input_ids"], encoded["offset_mapping"]):
            total += len(ids)
            for token, (start, end) in zip(ids, offsets):
                if token == unk:
                    unknown += 1
                    word = text[start:end]
                    # BERT's normaliser pads CJK characters with spaces; the token is the character
                    counts[(normalizer.normalize_str(word) if normalizer else word).strip()] += 1
    return counts, unknown, total


def extend_vocabulary(tokenizer, texts: Iterable[str], mode: str = "auto") -> dict:
    """Add the frequent unknown words of ``texts`` to ``tokenizer`` (in place); what it did, for the manifest."""
    if tokenizer.unk_token_id is None or mode == "off":
        return {"extended": False, "added": 0}
    texts = list(texts)
    counts, unknown, total = unknown_words(tokenizer, texts)
    before = unknown / max(1, total)
    info = {"extended": False, "added": 0, "unknown_share_before": round(before, 4)}
    if mode == "auto" and before <= AUTO_SHARE:
        return info
    new = [word for word, n in counts.most_common(MAX_NEW) if n >= MIN_COUNT and word]
    tokenizer.add_tokens(new)
    _, unknown_after, total_after = unknown_words(tokenizer, texts)  # measured, not assumed
    return {**info, "extended": bool(new), "added": len(new), "min_count": MIN_COUNT,
            "unknown_share_after": round(unknown_after / max(1, total_after), 4), "scanned_tokens": total}


def input_texts(inputs) -> Iterator[str]:
    """The texts of a task's inputs: texts, (a, b) pairs, or sentences as word lists (NER)."""
    for item in inputs:
        if isinstance(item, str):
            yield item
        elif isinstance(item, tuple):
            yield from item
        else:
            yield " ".join(item)


def grow_embeddings(model, tokenizer) -> int:
    """Rows added to ``model``'s (tied) embeddings for the tokens ``tokenizer`` has beyond them, drawn around
    the mean and covariance of the old rows; returns how many."""
    from lmforge.models.pretrained import quiet_transformers

    grown = len(tokenizer) - model.get_input_embeddings().num_embeddings
    if grown > 0:
        with quiet_transformers():  # its notice about mean resizing is what this docstring says
            model.resize_token_embeddings(len(tokenizer), mean_resizing=True)
    return max(0, grown)


def train_only_new_rows(model, first_new: int) -> None:
    """Let the word embeddings train, but only their rows from ``first_new`` on: the pretrained rows get a
    zero gradient (so AdamW leaves them where they are) and stay what ``--freeze-embeddings`` keeps."""
    import torch

    weight = model.get_input_embeddings().weight
    mask = torch.zeros(weight.shape[0], 1, dtype=weight.dtype, device=weight.device)
    mask[first_new:] = 1
    weight.requires_grad_(True)
    weight.register_hook(lambda grad: grad * mask)
