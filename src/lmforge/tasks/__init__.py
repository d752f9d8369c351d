"""Tasks as plug-ins: one module per task, each registering itself (see :mod:`lmforge.tasks.base`).

    >>> from lmforge.tasks import get_task, task_for_artifact
    >>> task_for_artifact("runs/sst2").name
    'text-classification'

Adding a task: a new module here with a ``@register_task`` class implementing :class:`~lmforge.tasks.base.Task`,
its test, and one import line below.
"""

from lmforge.tasks.base import Task
from lmforge.tasks.registry import DEFAULT_TASK, get_task, known_tasks, register_task, task_for_artifact, task_name_of

# One line per task module: importing it registers its task.
from lmforge.tasks import text_classification  # noqa: E402,F401
from lmforge.tasks import masked_lm, causal_lm  # noqa: E402,F401
from lmforge.tasks import regression  # noqa: E402,F401
from lmforge.tasks import sentence_pairs  # noqa: E402,F401
from lmforge.tasks import token_classification  # noqa: E402,F401
from lmforge.tasks import multi_label  # noqa: E402,F401

__all__ = ["DEFAULT_TASK", "Task", "get_task", "known_tasks", "register_task", "task_for_artifact", "task_name_of"]
