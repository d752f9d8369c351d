"""Structured pruning by importance: whole encoder layers, and feed-forward neurons in every layer.

Both keep the artifact a plain Hugging Face directory (fewer ``num_hidden_layers``, a smaller
``intermediate_size``), so every backend and ``transformers`` itself load it. Attention heads are not
pruned: a BERT config has one head count for all layers and derives the head size from it, so a model
with heads removed is no longer loadable by ``from_pretrained`` — it would need code of our own at load.

* layer importance = how much the dev loss rises when that one layer is skipped (one forward pass per layer
  over a sample); the least important layers go.
* neuron importance = |activation × gradient| of each intermediate neuron summed over training batches
  (first-order Taylor estimate of the loss change when the neuron is zeroed; Molchanov et al. 2017).
  Each layer keeps its most important neurons, the same count in every layer.

A short recovery fine-tune follows (``compress`` runs it as distillation from the unpruned parent,
through THE loop).

    >>> scores = layer_importance(model, batches)            # (L,) loss increase when skipping each layer
    >>> drop_layers(model, scores.argsort()[:2].tolist())
    >>> prune_ffn(model, ffn_importance(model, batches), keep=768)
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn
from transformers.pytorch_utils import prune_linear_layer

from lmforge.compression.distill import encoder_layers, set_encoder_layers
from lmforge.errors import ConfigError

Batch = dict[str, torch.Tensor]


@torch.inference_mode()
def mean_loss(model: nn.Module, batches: Sequence[Batch]) -> float:
    model.eval()
    total, count = 0.0, 0
    for batch in batches:
        inputs = {k: v for k, v in batch.items() if k != "labels"}
        total += F.cross_entropy(model(**inputs).logits.float(), batch["labels"], reduction="sum").item()
        count += len(batch["labels"])
    return total / max(1, count)


def layer_importance(model: nn.Module, batches: Sequence[Batch]) -> torch.Tensor:
    """(L,) increase of the mean loss on ``batches`` when each encoder layer alone is skipped."""
    layers = list(encoder_layers(model))
    base = mean_loss(model, batches)
    scores = []
    try:
        for skipped in range(len(layers)):
            set_encoder_layers(model, [layer for i, layer in enumerate(layers) if i != skipped])
            scores.append(mean_loss(model, batches) - base)
    finally:
        set_encoder_layers(model, layers)
    return torch.tensor(scores)


def drop_layers(model: nn.Module, drop: Sequence[int]) -> nn.Module:
    layers = list(encoder_layers(model))
    if len(set(drop)) >= len(layers):
        raise ConfigError(f"--prune-layers {len(set(drop))} would remove all {len(layers)} layers; keep at least one")
    return set_encoder_layers(model, [layer for i, layer in enumerate(layers) if i not in set(drop)])


def ffn_importance(model: nn.Module, batches: Sequence[Batch]) -> list[torch.Tensor]:
    """Per layer, (intermediate_size,) |activation × gradient| of each feed-forward neuron, summed."""
    layers = list(encoder_layers(model))
    scores = [torch.zeros(layer.intermediate.dense.out_features) for layer in layers]
    activations: dict[int, torch.Tensor] = {}

    def keep_activation(index):
        def hook(module, inputs, output):  # output: (B, T, intermediate) after the activation function
            output.retain_grad()
            activations[index] = output
        return hook

    handles = [layer.intermediate.register_forward_hook(keep_activation(i)) for i, layer in enumerate(layers)]
    model.eval()  # no dropout: importance of the model as it will run
    try:
        for batch in batches:
            inputs = {k: v for k, v in batch.items() if k != "labels"}
            model.zero_grad(set_to_none=True)
            F.cross_entropy(model(**inputs).logits.float(), batch["labels"], reduction="sum").backward()
            mask = batch["attention_mask"].unsqueeze(-1)  # (B, T, 1): padding positions do not count
            for i, act in activations.items():
                scores[i] += (act * act.grad * mask).sum(dim=(0, 1)).abs().detach()
    finally:
        for handle in handles:
            handle.remove()
        model.zero_grad(set_to_none=True)
    return scores


def prune_ffn(model: nn.Module, importance: Sequence[torch.Tensor], keep: int) -> nn.Module:
    """Keep the ``keep`` most important feed-forward neurons of every layer (slices both Linear layers)."""
    for layer, scores in zip(encoder_layers(model), importance):
        index = scores.topk(keep).indices.sort().values
        layer.intermediate.dense = prune_linear_layer(layer.intermediate.dense, index, dim=0)
        layer.output.dense = prune_linear_layer(layer.output.dense, index, dim=1)
    model.config.intermediate_size = keep
    return model
