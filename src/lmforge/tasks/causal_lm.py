"""Causal-LM (GPT's next-token objective) as a task: a block of context + 1 tokens, every next token
predicted.

    >>> get_task("causal-lm").objective(context=256)

``lmforge pretrain --objective clm`` trains it through THE loop; the artifact is a standard
``AutoModelForCausalLM`` directory (``model.generate`` and ``lmforge generate`` use it).
"""

from __future__ import annotations

from lmforge.tasks.language_modelling import LanguageModellingTask, Objective
from lmforge.tasks.registry import register_task


@register_task
class CausalLM(LanguageModellingTask):
    name = "causal-lm"
    auto_class = "AutoModelForCausalLM"
    peft_task_type = "CAUSAL_LM"
    serving_route = "/v1/completions"
    next_step = "Generate with it (`lmforge generate DIR \"prompt\"`) or fine-tune it (`lmforge sft`)."

    def objective(self, context: int, tokenizer=None, seed: int = 0, **_) -> Objective:
        """A block of context + 1 tokens; tokens 1..T predicted from 0..T-1; the loss is per predicted token."""
        return causal_objective(context)


def causal_objective(context: int) -> Objective:
    import torch  # here, not at the top: the CLI imports the task registry at start-up
    import torch.nn.functional as F

    def make_batch(raw, index):
        return {"input_ids": torch.from_numpy(raw["input_ids"])}  # (B, T + 1)

    def loss(module, batch):
        ids = batch["input_ids"]
        logits = module(input_ids=ids[:, :-1], use_cache=False).logits  # (B, T, V)
        return F.cross_entropy(logits.flatten(0, 1).float(), ids[:, 1:].flatten(), reduction="sum")

    predicted = lambda b: b["input_ids"][:, 1:].numel()  # noqa: E731  (the extra token is only a target)
    return Objective(context + 1, context, make_batch, loss, predicted, predicted)
