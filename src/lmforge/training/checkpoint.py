"""Resumable checkpoints, written atomically, with no pickles.

A checkpoint is a directory ``checkpoints/step-NNNNNNN-<ns>/`` holding

    trainable.safetensors   the parameters being trained (all of them, or only LoRA/head ones)
    optimizer.safetensors   AdamW moments, keyed ``<param index>.<name>``
    rng.safetensors         torch RNG states, so dropout after a resume matches an uninterrupted run
    state.json              loop position, best score, history, counters, optimizer hyper-parameters

It is written under a temporary name and renamed; then ``checkpoints/latest`` (a one-line file) is
replaced atomically to point at it. A crash at any moment leaves ``latest`` naming a complete checkpoint.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from lmforge.files import write_json_atomic

LATEST = "latest"


def _optimizer_tensors(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], list[dict]]:
    state = optimizer.state_dict()
    tensors = {}
    for index, slots in state["state"].items():
        for name, value in slots.items():
            value = value if torch.is_tensor(value) else torch.tensor(value)
            tensors[f"{index}.{name}"] = value.detach().cpu().contiguous()
    return tensors, state["param_groups"]


def _load_optimizer(optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], groups: list[dict]) -> None:
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        index, name = key.split(".", 1)
        state.setdefault(int(index), {})[name] = value
    optimizer.load_state_dict({"state": state, "param_groups": groups})


def save_checkpoint(directory: Path, step: int, trainable: dict[str, torch.Tensor],
                    optimizer: torch.optim.Optimizer, loop_state: dict, keep: int = 1) -> Path:
    """Write checkpoint ``step`` under ``directory`` and point ``latest`` at it; prune older ones."""
    directory.mkdir(parents=True, exist_ok=True)
    # a fresh name every time (the same step can be saved twice: on schedule and after an evaluation), so
    # the directory ``latest`` points at is never removed or replaced while it is the latest
    final = directory / f"step-{step:07d}-{time.time_ns()}"
    tmp = directory / f".tmp-{final.name}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    save_file({k: v.detach().cpu().contiguous() for k, v in trainable.items()}, tmp / "trainable.safetensors")
    opt_tensors, groups = _optimizer_tensors(optimizer)
    save_file(opt_tensors, tmp / "optimizer.safetensors")
    rng = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        rng.update({f"cuda{i}": s for i, s in enumerate(torch.cuda.get_rng_state_all())})
    save_file(rng, tmp / "rng.safetensors")
    write_json_atomic(tmp / "state.json", {**loop_state, "optimizer_param_groups": groups})
    for f in tmp.iterdir():  # make the data durable before the rename publishes it
        with open(f, "rb") as fh:
            os.fsync(fh.fileno())
    os.replace(tmp, final)
    pointer = directory / LATEST
    tmp_pointer = directory / f".{LATEST}.tmp"
    tmp_pointer.write_text(final.name + "\n")
    os.replace(tmp_pointer, pointer)
    older = sorted(p for p in directory.glob("step-*") if p.is_dir() and p != final)
    for old in older[:max(0, len(older) - (keep - 1))]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def latest_checkpoint(directory: Path) -> Path | None:
    pointer = directory / LATEST
    if not pointer.exists():
        return None
    path = directory / pointer.read_text().strip()
    return path if (path / "state.json").exists() else None


def load_checkpoint(path: Path, optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    """Restore optimizer and RNG state in place; return (trainable tensors, loop state)."""
    state = json.loads((path / "state.json").read_text())
    groups = state.pop("optimizer_param_groups")
    _load_optimizer(optimizer, load_file(path / "optimizer.safetensors"), groups)
    rng = load_file(path / "rng.safetensors")
    torch.set_rng_state(rng["cpu"])
    cuda_states = [rng[k] for k in sorted(rng) if k.startswith("cuda")]
    if cuda_states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda_states)
    return load_file(path / "trainable.safetensors"), state
