"""Masked-LM (BERT's objective) as a task: 15% of tokens chosen, 80/10/10 corrupted, predicted back.

    >>> task = get_task("masked-lm")
    >>> objective = task.objective(context=128, tokenizer=tok, seed=0, mask_probability=0.15, whole_words=False)

The objective (batching, summed loss, what the loss is normalised by) lives in
:mod:`lmforge.pretraining.objectives`; ``lmforge pretrain --objective mlm`` runs it through THE loop.
"""

from __future__ import annotations

from lmforge.tasks.language_modelling import LanguageModellingTask
from lmforge.tasks.registry import register_task


@register_task
class MaskedLM(LanguageModellingTask):
    name = "masked-lm"
    auto_class = "AutoModelForMaskedLM"
    peft_task_type = "FEATURE_EXTRACTION"
    serving_route = ""
    next_step = "Fine-tune it first: `lmforge finetune train.csv --model DIR`."

    def objective(self, context: int, tokenizer, seed: int, mask_probability: float = 0.15,
                  whole_words: bool = False):
        from lmforge.pretraining.objectives import masked_objective

        return masked_objective(context, tokenizer, seed, mask_probability, whole_words)
