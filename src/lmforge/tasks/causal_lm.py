"""Causal-LM (GPT's next-token objective) as a task: a block of context + 1 tokens, every next token
predicted.

    >>> get_task("causal-lm").objective(context=256)

``lmforge pretrain --objective clm`` trains it through THE loop; the artifact is a standard
``AutoModelForCausalLM`` directory (``model.generate`` and ``lmforge generate`` use it).
"""

from __future__ import annotations

from lmforge.tasks.language_modelling import LanguageModellingTask
from lmforge.tasks.registry import register_task


@register_task
class CausalLM(LanguageModellingTask):
    name = "causal-lm"
    auto_class = "AutoModelForCausalLM"
    peft_task_type = "CAUSAL_LM"
    serving_route = "/v1/completions"
    next_step = "Generate with it (`lmforge generate DIR \"prompt\"`) or fine-tune it (`lmforge sft`)."

    def objective(self, context: int, tokenizer=None, seed: int = 0, **_):
        from lmforge.pretraining.objectives import causal_objective

        return causal_objective(context)
