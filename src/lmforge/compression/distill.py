"""Knowledge distillation: a fine-tuned teacher teaches a smaller student, through THE training loop.

The student is either the teacher with every other layer (``student_layers``: evenly spaced layers,
the last one always kept, as DistilBERT was initialised), or a fresh model of a given depth and width
built from config. It learns from the teacher's soft labels (KL at a temperature) and the gold labels:

    loss = alpha * T² * KL(softmax(teacher / T) || softmax(student / T)) + (1 - alpha) * CE(student, gold)

Unlabelled texts (``--unlabelled``) contribute the soft term only. The teacher is frozen and deterministic
in eval mode, so its logits are computed once, before training, instead of in every step.

    >>> student = student_from_teacher(teacher, evenly_spaced_layers(6, 3))
    >>> plan = distillation_plan(student, encoded, gold, teacher_logits, dev_encoded, dev_gold, pad_id, ...)
    >>> train(plan, LoopSettings(epochs=3, lr=1e-4), run_dir)
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from lmforge.data.batching import length_bucketed_batches, pad_batch
from lmforge.errors import ConfigError
from lmforge.inference.predictor import batched_logits
from lmforge.models.pretrained import transformer_blocks
from lmforge.tasks import get_task
from lmforge.training.loop import LoopSettings, TrainingPlan, train

UNLABELLED = -100  # gold label of an unlabelled text: ignored by the hard-label loss


def encoder_layers(model: nn.Module) -> nn.ModuleList:
    """The list of transformer blocks of a BERT-family classifier."""
    layers = transformer_blocks(model)
    if layers is None:
        raise ConfigError(f"distill and prune work on BERT-family encoders (base_model.encoder.layer); "
                          f"this model is '{model.config.model_type}'. Use --to onnx or an int8 method instead")
    return layers


def set_encoder_layers(model: nn.Module, layers: Sequence[nn.Module]) -> nn.Module:
    model.base_model.encoder.layer = nn.ModuleList(layers)
    model.config.num_hidden_layers = len(layers)
    for i, layer in enumerate(layers):  # cache bookkeeping only (unused by an encoder), kept consistent
        for module in layer.modules():
            if hasattr(module, "layer_idx"):
                module.layer_idx = i
    return model


def evenly_spaced_layers(total: int, keep: int) -> list[int]:
    """``keep`` of ``total`` layer indices, evenly spaced, ending with the last: (6, 3) → [1, 3, 5]."""
    if not 1 <= keep <= total:
        raise ConfigError(f"--student-layers {keep} must be between 1 and the teacher's {total} layers")
    return [round((i + 1) * total / keep) - 1 for i in range(keep)]


def student_from_teacher(teacher: nn.Module, layers: Sequence[int]) -> nn.Module:
    """A copy of ``teacher`` keeping only the encoder layers ``layers`` (embeddings and head copied too)."""
    student = copy.deepcopy(teacher)
    blocks = encoder_layers(student)
    return set_encoder_layers(student, [blocks[i] for i in layers])


def student_from_config(teacher: nn.Module, layers: int, hidden: int, seed: int) -> nn.Module:
    """A freshly initialised student of ``layers`` x ``hidden``, with the teacher's head dimension and labels."""
    config = copy.deepcopy(teacher.config)
    head_dim = config.hidden_size // config.num_attention_heads
    heads = max(1, hidden // head_dim)
    while hidden % heads:
        heads -= 1
    ffn_ratio = config.intermediate_size / config.hidden_size
    config.hidden_size, config.num_attention_heads, config.num_hidden_layers = hidden, heads, layers
    config.intermediate_size = int(ffn_ratio * hidden)
    torch.manual_seed(seed)
    return type(teacher)(config)


def distillation_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, gold: torch.Tensor,
                      temperature: float, alpha: float) -> torch.Tensor:
    """Summed over the batch (the loop normalises): soft KL on every row, hard CE on labelled rows."""
    t = temperature
    # KL(p_teacher || p_student) at temperature t; the t² keeps its gradients on the scale of the CE term
    soft = F.kl_div(F.log_softmax(student_logits / t, dim=-1), F.log_softmax(teacher_logits / t, dim=-1),
                    reduction="sum", log_target=True) * t * t
    hard = F.cross_entropy(student_logits, gold, ignore_index=UNLABELLED, reduction="sum")
    return alpha * soft + (1 - alpha) * hard


def model_logits(model: nn.Module, encoded: list[list[int]], pad_id: int) -> np.ndarray:
    """(N, num_labels) logits of ``model`` in eval mode, in length-sorted batches."""
    model.eval()
    device = next(model.parameters()).device

    @torch.inference_mode()
    def forward(batch):
        return model(**{k: v.to(device) for k, v in batch.items()}).logits.float().cpu().numpy()

    return batched_logits(forward, encoded, pad_id)


def distillation_plan(student: nn.Module, encoded: list[list[int]], gold: Sequence[int], teacher_logits: np.ndarray,
                      dev_encoded: list[list[int]], dev_gold: np.ndarray, pad_id: int, *, temperature: float,
                      alpha: float, batch_size: int, seed: int) -> TrainingPlan:
    """The loop's plan: length-bucketed batches of (texts, gold or UNLABELLED, teacher logits)."""
    gold_t = torch.tensor(list(gold), dtype=torch.long)   # (N,)
    teacher_t = torch.from_numpy(teacher_logits).float()  # (N, num_labels)
    lengths = [len(ids) for ids in encoded]
    num_labels = teacher_logits.shape[-1]

    def collate(indices):
        return {**pad_batch([encoded[i] for i in indices], pad_id), "gold": gold_t[indices],
                "teacher_logits": teacher_t[indices]}

    def loss(module, batch):
        gold_batch, teacher_batch = batch.pop("gold"), batch.pop("teacher_logits")
        return distillation_loss(module(**batch).logits.float(), teacher_batch, gold_batch, temperature, alpha)

    def evaluate(module):  # distillation matches class distributions: a text-classification student
        return get_task("text-classification").dev_scores(model_logits(module, dev_encoded, pad_id), dev_gold,
                                                          num_labels)

    return TrainingPlan(model=student, batches=lambda epoch: length_bucketed_batches(lengths, batch_size, seed, epoch),
                        collate=collate, loss=loss, evaluate=evaluate)


def train_student(student: nn.Module, teacher: nn.Module, tokenizer, texts: list[str], gold: Sequence[int],
                  dev_texts: list[str], dev_gold: np.ndarray, run_dir: Path, *, max_length: int, epochs: int,
                  lr: float, batch_size: int = 32, temperature: float = 2.0, alpha: float = 0.5, seed: int = 0,
                  freeze_embeddings: bool = False, quiet: bool = False, meter=None) -> dict:
    """Distil ``teacher`` into ``student`` (in place, best dev weights loaded); returns the loop's summary.

    ``gold`` holds a label id per text, or ``UNLABELLED`` for texts taught by the teacher alone.
    ``freeze_embeddings`` keeps the word embeddings (copied from the teacher) fixed, as fine-tuning does.
    """
    encode = lambda xs: tokenizer(list(xs), truncation=True, max_length=max_length)["input_ids"]  # noqa: E731
    encoded, dev_encoded = encode(texts), encode(dev_texts)
    teacher_logits = model_logits(teacher, encoded, tokenizer.pad_token_id)  # (N, num_labels), once
    plan = distillation_plan(student, encoded, gold, teacher_logits, dev_encoded, dev_gold, tokenizer.pad_token_id,
                             temperature=temperature, alpha=alpha, batch_size=batch_size, seed=seed)
    for p in student.parameters():
        p.requires_grad_(True)
    if freeze_embeddings:  # half of MiniLM's weights; their gradient is a large dense update for little gain
        student.get_input_embeddings().weight.requires_grad_(False)
    torch.manual_seed(seed)  # dropout stream
    result = train(plan, LoopSettings(epochs=epochs, lr=lr, patience=0, quiet=quiet), run_dir, meter=meter)
    student.load_state_dict(result.best_weights, strict=False)
    student.eval()
    return {"best_dev_accuracy": result.best_score, "history": result.history, "steps": result.counters["step"],
            "train_loop_s": round(result.counters["train_time_s"], 2), "texts": len(texts),
            "unlabelled_texts": int(sum(1 for g in gold if g == UNLABELLED))}
