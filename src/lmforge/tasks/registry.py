"""The task registry: task name (what an artifact's manifest records) → the :class:`~lmforge.tasks.base.Task`.

A task module registers itself with ``@register_task`` on its class; ``lmforge/tasks/__init__.py`` imports
each task module once (the one registration line a new task adds). Stages never name a task: they ask

    >>> task_for_artifact("runs/sst2")           # from manifest.json's "task" (or "kind"); none → text-classification
    >>> get_task("text-classification")          # ConfigError listing the known tasks for a name that is not one
"""

from __future__ import annotations

from pathlib import Path

from lmforge.errors import ArtifactError, ConfigError

DEFAULT_TASK = "text-classification"  # artifacts written before tasks were recorded are classifiers
TASKS: dict[str, object] = {}


def register_task(cls):
    """Class decorator: instantiate the task and register it under ``cls.name``."""
    if cls.name in TASKS:
        raise ValueError(f"task '{cls.name}' is registered twice ({type(TASKS[cls.name]).__module__} and "
                         f"{cls.__module__})")
    TASKS[cls.name] = cls()
    return cls


def known_tasks() -> list[str]:
    return sorted(TASKS)


def get_task(name: str | None, error: type[Exception] = ConfigError):
    """The task registered as ``name`` (None: the default, text classification)."""
    name = name or DEFAULT_TASK
    if name not in TASKS:
        raise error(f"unknown task '{name}'; lmforge knows: {', '.join(known_tasks())}. "
                    "Pass one of those (--task), or add a task module under lmforge/tasks/ (README, 'Adding a task')")
    return TASKS[name]


def task_name_of(manifest: dict) -> str:
    """The task an artifact's manifest records: ``task``, else ``kind`` (older artifacts), else the default."""
    name = manifest.get("task") or manifest.get("kind")
    return name if name and name != "prepared-data" else DEFAULT_TASK


def task_for_artifact(model_dir: str | Path):
    """The task of the model in ``model_dir``, as its manifest records it (ArtifactError for an unknown one),
    bound to what the artifact recorded for it when the task has a ``for_artifact(manifest)`` member."""
    from lmforge.artifacts import read_manifest

    manifest = read_manifest(model_dir)
    task = get_task(task_name_of(manifest), error=ArtifactError)
    # a task whose decision rule is fitted per model (multi-label thresholds) takes it from the manifest
    bind = getattr(task, "for_artifact", None)
    return bind(manifest) if bind is not None else task
