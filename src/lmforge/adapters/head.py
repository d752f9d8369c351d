"""Frozen backbone + trained head: the encoder runs once per text, the head trains on cached features.

The head modules are the classifier's own (shared parameters), so training the head trains the classifier
in place, and the exported model is a plain ``AutoModelForSequenceClassification``.
"""

from __future__ import annotations

import torch
from torch import nn

from lmforge.errors import ConfigError


class ClassifierHead(nn.Module):
    """The part of a sequence classifier above the encoder, fed the first-token state (B, H) -> (B, C)."""

    SUPPORTED = ("bert", "roberta", "xlm-roberta", "distilbert")

    def __init__(self, model: nn.Module):
        super().__init__()
        self.kind = model.config.model_type
        if self.kind == "bert":
            self.pooler = model.bert.pooler  # may be None (no pooling layer)
            self.dropout, self.classifier = model.dropout, model.classifier
        elif self.kind in ("roberta", "xlm-roberta"):
            self.classifier = model.classifier  # RobertaClassificationHead reads [:, 0] itself
        elif self.kind == "distilbert":
            self.pre_classifier, self.dropout, self.classifier = model.pre_classifier, model.dropout, model.classifier
        else:
            raise ConfigError(f"--method head supports {', '.join(self.SUPPORTED)} models, not '{self.kind}'; "
                              "use --method lora or full")

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        # features: (B, H) hidden state of the first token
        if self.kind == "bert":
            pooled = self.pooler(features.unsqueeze(1)) if self.pooler is not None else features
            return self.classifier(self.dropout(pooled))
        if self.kind in ("roberta", "xlm-roberta"):
            return self.classifier(features.unsqueeze(1))
        return self.classifier(self.dropout(torch.relu(self.pre_classifier(features))))


def freeze_backbone(model: nn.Module) -> ClassifierHead:
    """Freeze everything but the head, and return the head."""
    head = ClassifierHead(model)
    model.requires_grad_(False)
    head.requires_grad_(True)
    return head


@torch.inference_mode()
def first_token_states(model: nn.Module, batch: dict[str, torch.Tensor]):
    """(B, H) float32 numpy: the encoder's last hidden state at the first token."""
    return model.base_model(**batch).last_hidden_state[:, 0].float().cpu().numpy()
