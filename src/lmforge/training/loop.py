"""THE training loop. Fine-tuning (full, LoRA, head), distillation and pretraining all run through
:func:`train`; they differ only in the :class:`TrainingPlan` they hand it: which module, which batches,
which loss and how to score it.

The loop owns everything else, once: AdamW with linear warm-up and decay, gradient clipping, dev
evaluation, keeping the best weights, early stopping, atomic resumable checkpoints, progress, and
data parallelism through Accelerate (``accelerate launch`` / ``torchrun``) with mixed precision on GPUs.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from lmforge.training.checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint, write_json_atomic

Batch = dict[str, torch.Tensor]


@dataclass
class TrainingPlan:
    """What a recipe gives the loop.

    ``batches(epoch)`` lists the global batches (example indices) of an epoch, deterministically;
    ``collate(indices)`` builds the tensors of a batch; ``loss(model, batch)`` returns the *summed* loss
    over the batch's examples (the loop normalises by the global batch size, which makes the result
    independent of how a batch is split across processes); ``evaluate(model)`` scores the model on dev
    data and must return ``metric``, higher is better.
    """

    model: nn.Module
    batches: Callable[[int], list[list[int]]]
    collate: Callable[[list[int]], Batch]
    loss: Callable[[nn.Module, Batch], torch.Tensor]
    evaluate: Callable[[nn.Module], dict[str, float]]
    metric: str = "accuracy"
    setup_s: float = 0.0  # time spent preparing the plan that belongs to training (e.g. caching features)
    # multiplier of the peak learning rate per parameter name (None: 1 for all), e.g. a freshly
    # initialised classification head learning faster than the pretrained encoder under it
    lr_scale: Callable[[str], float] | None = None
    # DP-SGD (lmforge.training.privacy.PrivacyEngine): ``attach(model, optimizer)`` wraps both for per-example
    # clipping and noise; ``report()`` says what was spent. None: ordinary training.
    privacy: object | None = None


@dataclass
class LoopSettings:
    epochs: int
    lr: float
    weight_decay: float = 0.01
    warmup_ratio: float = 0.06
    max_grad_norm: float = 1.0
    eval_every: int = 0
    patience: int = 2
    checkpoint_every: int = 200
    quiet: bool = False
    resume: bool = False


@dataclass
class LoopResult:
    best_score: float
    best_weights: dict[str, torch.Tensor]
    history: list[dict] = field(default_factory=list)
    counters: dict = field(default_factory=dict)
    stopped_early: bool = False


def learning_rate(step: int, total: int, peak: float, warmup: int) -> float:
    """Linear warm-up to ``peak`` over ``warmup`` steps, then linear decay to zero at ``total``."""
    if step < warmup:
        return peak * (step + 1) / warmup
    return peak * max(0.0, (total - step) / max(1, total - warmup))


def trainable_weights(model: nn.Module) -> dict[str, torch.Tensor]:
    return {name: p.detach().clone().cpu() for name, p in model.named_parameters() if p.requires_grad}


def make_optimizer(model: nn.Module, lr: float, weight_decay: float,
                   lr_scale: Callable[[str], float] | None = None) -> torch.optim.AdamW:
    grouped: dict[tuple[float, bool], list[nn.Parameter]] = {}
    for name, p in model.named_parameters():
        if p.requires_grad:
            # biases and normalisation weights are not decayed (standard BERT recipe)
            key = (float(lr_scale(name)) if lr_scale else 1.0, p.ndim >= 2)
            grouped.setdefault(key, []).append(p)
    groups = [{"params": ps, "weight_decay": weight_decay if decays else 0.0, "lr_scale": scale}
              for (scale, decays), ps in sorted(grouped.items(), key=lambda kv: (kv[0][0], not kv[0][1]))]
    # fused AdamW is one kernel over all tensors: 7x faster than the default on CPU (measured, MiniLM)
    return torch.optim.AdamW(groups, lr=lr, fused=True)


def _local_share(indices: list[int], rank: int, world: int) -> tuple[list[int], float]:
    """This process's part of a global batch, and the weight of its loss (0 for a padding share)."""
    share = indices[rank::world]
    return (share, 1.0) if share else (indices[:1], 0.0)


def train(plan: TrainingPlan, settings: LoopSettings, run_dir: Path, accelerator=None, meter=None) -> LoopResult:
    """Train ``plan.model`` in place and return the best weights seen on dev.

    With ``meter`` (a :class:`lmforge.metering.Meter`), checkpoints record the time spent so far, so a resumed
    run accounts for the time of the attempt that was interrupted.
    """
    from accelerate import Accelerator
    from tqdm.auto import tqdm

    accelerator = accelerator or Accelerator(cpu=not torch.cuda.is_available())
    rank, world, main = accelerator.process_index, accelerator.num_processes, accelerator.is_main_process
    ckpt_dir = run_dir / "checkpoints"

    model = plan.model
    optimizer = make_optimizer(model, settings.lr, settings.weight_decay, plan.lr_scale)
    steps_per_epoch = len(plan.batches(0))
    total_steps = steps_per_epoch * settings.epochs
    warmup = int(settings.warmup_ratio * total_steps)
    model, optimizer = accelerator.prepare(model, optimizer)
    raw_model = accelerator.unwrap_model(model)
    if plan.privacy is not None:  # after unwrapping: weights are saved and loaded under the model's own names
        model, optimizer = plan.privacy.attach(model, optimizer)
    params = [p for p in model.parameters() if p.requires_grad]

    state = {"step": 0, "epoch": 0, "batch_in_epoch": 0, "best_score": -math.inf, "evals_since_best": 0,
             "history": [], "samples": 0, "real_tokens": 0, "padded_tokens": 0, "train_time_s": 0.0,
             "stopped_early": False, "finished": False}
    best_weights = trainable_weights(raw_model)
    checkpoint = latest_checkpoint(ckpt_dir) if settings.resume else None
    if checkpoint is not None:
        weights, state = load_checkpoint(checkpoint, optimizer)
        raw_model.load_state_dict(weights, strict=False)
        if (ckpt_dir / "best.safetensors").exists():
            best_weights = load_file(ckpt_dir / "best.safetensors")
        if main and not settings.quiet:
            print(f"resuming from {checkpoint} (step {state['step']}/{total_steps})")

    def evaluate_now() -> dict:
        # Scored on the main process only, then shared, so every process takes the same decisions.
        metrics = [plan.evaluate(raw_model) if main else None]
        if world > 1:
            torch.distributed.broadcast_object_list(metrics, src=0)
        return metrics[0]

    def checkpoint_now() -> None:
        if meter is not None:
            state["meter"] = {"wall_s": meter.wall_s, "cpu_s": meter.cpu_s}
        if main:
            save_checkpoint(ckpt_dir, state["step"], trainable_weights(raw_model), optimizer, state)
        accelerator.wait_for_everyone()

    def record_eval(epoch_loss: float) -> bool:
        """Evaluate, keep the best weights; True when early stopping says stop."""
        nonlocal best_weights
        metrics = evaluate_now()
        score = metrics[plan.metric]
        entry = {"step": state["step"], "epoch": round(state["step"] / steps_per_epoch, 3),
                 "train_loss": round(epoch_loss, 5), **{k: round(v, 5) for k, v in metrics.items()}}
        state["history"].append(entry)
        if score > state["best_score"]:
            state["best_score"], state["evals_since_best"] = score, 0
            best_weights = trainable_weights(raw_model)
            if main:
                ckpt_dir.mkdir(parents=True, exist_ok=True)
                save_file(best_weights, ckpt_dir / ".best.tmp")
                (ckpt_dir / ".best.tmp").replace(ckpt_dir / "best.safetensors")
        else:
            state["evals_since_best"] += 1
        if main and not settings.quiet:
            shown = " ".join(f"{k}={v:.4f}" for k, v in metrics.items())
            tqdm.write(f"step {state['step']}: train_loss={epoch_loss:.4f} {shown}")
        return settings.patience > 0 and state["evals_since_best"] >= settings.patience

    progress = tqdm(total=total_steps, initial=state["step"], disable=settings.quiet or not main,
                    unit="step", dynamic_ncols=True,
                    mininterval=0.2 if sys.stderr.isatty() else 30)  # a log file gets a line every 30 s
    stop = state["stopped_early"] or state["finished"]
    while not stop and state["epoch"] < settings.epochs:
        epoch_batches = plan.batches(state["epoch"])
        loss_sum, loss_count = 0.0, 0
        for position in range(state["batch_in_epoch"], len(epoch_batches)):
            t0 = time.perf_counter()
            global_indices = epoch_batches[position]
            indices, weight = _local_share(global_indices, rank, world)
            batch = {k: v.to(accelerator.device) for k, v in plan.collate(indices).items()}
            model.train()
            for group in optimizer.param_groups:
                group["lr"] = learning_rate(state["step"], total_steps, settings.lr, warmup) * group.get("lr_scale", 1.0)
            with accelerator.autocast():
                summed = plan.loss(model, batch)
            # DDP averages gradients over processes; scaling by world / global size makes that the mean
            # over the whole global batch, exactly as one process would compute it.
            loss = summed * (weight * world / len(global_indices))
            accelerator.backward(loss)
            if settings.max_grad_norm > 0:
                accelerator.clip_grad_norm_(params, settings.max_grad_norm)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)

            state["step"] += 1
            state["batch_in_epoch"] = position + 1
            state["samples"] += len(global_indices)
            if "attention_mask" in batch:  # padding accounting (this process's share)
                state["real_tokens"] += int(batch["attention_mask"].sum()) * world
                state["padded_tokens"] += batch["attention_mask"].numel() * world
            loss_value = summed.item() / max(1, len(indices))  # .item() syncs with the GPU; fine once a step
            loss_sum += loss_value
            loss_count += 1
            state["train_time_s"] += time.perf_counter() - t0
            progress.update(1)
            progress.set_postfix(loss=f"{loss_sum / loss_count:.4f}",
                                 samples_s=f"{state['samples'] / max(state['train_time_s'], 1e-9):.1f}",
                                 refresh=False)

            if settings.eval_every and state["step"] % settings.eval_every == 0:
                stop = record_eval(loss_sum / loss_count)
                checkpoint_now()
                if stop:
                    break
            elif state["step"] % settings.checkpoint_every == 0:
                checkpoint_now()
        else:
            state["epoch"] += 1
            state["batch_in_epoch"] = 0
            evaluated_now = bool(state["history"]) and state["history"][-1]["step"] == state["step"]
            if not settings.eval_every or (state["epoch"] == settings.epochs and not evaluated_now):
                stop = record_eval(loss_sum / max(1, loss_count))
            checkpoint_now()
        state["stopped_early"] = stop
    progress.close()
    state["finished"] = True
    checkpoint_now()
    if main:
        write_json_atomic(ckpt_dir / "history.json", {"history": state["history"]})
    counters = {k: state[k] for k in ("step", "samples", "real_tokens", "padded_tokens", "train_time_s")}
    return LoopResult(state["best_score"], best_weights, state["history"], counters, state["stopped_early"])
