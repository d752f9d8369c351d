"""What the masked-LM and causal-LM tasks share: pretraining artifacts that the classification stages
(evaluate, predict, serve's /v1/classify, compress's accuracy guard) do not apply to.

Every member of the :class:`~lmforge.tasks.base.Task` protocol is there (the registry's contract test
checks ``isinstance(task, Task)``), but those for labelled data raise :class:`NotForThisTask`: a
ConfigError whose message says what to do instead (fine-tune the model, or generate with it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lmforge.errors import ConfigError
from lmforge.tasks.base import Task

Batch = dict  # of str → torch.Tensor (torch is imported where the objective is built)


@dataclass
class Objective:
    """The objective-specific parts of a pretraining plan."""

    block_tokens: int  # tokens read per block
    stride: int  # tokens between block starts (predicted tokens per block for clm)
    make_batch: Callable[[dict, int], Batch]  # (raw blocks: str → np.ndarray, batch number) → tensors
    loss: Callable[[object, Batch], object]  # (module, batch) → summed loss tensor
    count: Callable[[Batch], int]
    tokens: Callable[[Batch], int] | None = None  # tokens trained on per batch (default: all inputs)


class NotForThisTask(ConfigError, AttributeError):
    """A stage asked a pretraining task for something only labelled tasks have."""


class LanguageModellingTask:
    name = ""
    auto_class = ""
    problem_type = None
    primary_metric = "val_loss"  # lower is better: the loop keeps the checkpoint with the lowest
    lower_is_better = True
    response_schema = ""
    next_step = ""

    def load_model(self, model_dir):
        import transformers

        from lmforge.models.pretrained import quiet_transformers

        with quiet_transformers():
            return getattr(transformers, self.auto_class).from_pretrained(model_dir)



def _not_for_this_task(member: str):
    def method(self, *args, **kwargs):
        raise NotForThisTask(f"a {self.name} model (from `lmforge pretrain`) has no '{member}': it predicts "
                             f"tokens, not labels. {self.next_step}")

    method.__name__ = member
    return method


for _member in [m for m in dir(Task) if not m.startswith("_") and callable(getattr(Task, m))]:
    if not hasattr(LanguageModellingTask, _member):
        setattr(LanguageModellingTask, _member, _not_for_this_task(_member))
