"""Masked-LM (BERT's objective) as a task: 15% of tokens chosen, 80/10/10 corrupted, predicted back.

    >>> task = get_task("masked-lm")
    >>> objective = task.objective(context=128, tokenizer=tok, seed=0, mask_probability=0.15, whole_words=False)

The objective gives the batching, the summed loss and what it is normalised by;
``lmforge pretrain --objective mlm`` streams it through THE loop (:mod:`lmforge.pretraining.objectives`).
"""

from __future__ import annotations

from lmforge.tasks.language_modelling import LanguageModellingTask, Objective
from lmforge.tasks.registry import register_task


@register_task
class MaskedLM(LanguageModellingTask):
    name = "masked-lm"
    auto_class = "AutoModelForMaskedLM"
    peft_task_type = "FEATURE_EXTRACTION"
    serving_route = ""
    next_step = "Fine-tune it first: `lmforge finetune train.csv --model DIR`."

    def objective(self, context: int, tokenizer, seed: int, mask_probability: float = 0.15,
                  whole_words: bool = False) -> Objective:
        """[CLS] + context - 2 tokens + [SEP]; 15% chosen (80/10/10); the loss is per chosen token."""
        return masked_objective(context, tokenizer, seed, mask_probability, whole_words)


def masked_objective(context: int, tokenizer, seed: int, probability: float, whole_words: bool) -> Objective:
    import torch  # here, not at the top: the CLI imports the task registry at start-up
    import torch.nn.functional as F

    from lmforge.data.masking import IGNORE, mask_tokens

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
