"""The [CLS]-only last layer gives the standard forward's logits and gradients."""

from __future__ import annotations

import torch
from transformers import AutoModelForSequenceClassification

from lmforge.adapters.lora import apply_lora
from lmforge.models.cls_forward import cls_logits, supports_cls_forward


def batch():
    ids = torch.tensor([[2, 10, 11, 12, 13, 3], [2, 14, 15, 3, 0, 0], [2, 16, 3, 0, 0, 0]])
    return ids, (ids != 0).long()


def test_same_logits_as_the_standard_forward(tiny_encoder):
    model = AutoModelForSequenceClassification.from_pretrained(tiny_encoder, num_labels=3).eval()
    assert supports_cls_forward(model)
    ids, mask = batch()
    with torch.no_grad():
        torch.testing.assert_close(cls_logits(model, ids, mask), model(input_ids=ids, attention_mask=mask).logits,
                                   atol=1e-5, rtol=1e-5)


def test_same_gradients_in_training(tiny_model_no_dropout):
    ids, mask = batch()
    labels = torch.tensor([0, 1, 2])
    grads = []
    for fast in (False, True):
        torch.manual_seed(0)
        model = AutoModelForSequenceClassification.from_pretrained(tiny_model_no_dropout, num_labels=3).train()
        logits = cls_logits(model, ids, mask) if fast else model(input_ids=ids, attention_mask=mask).logits
        torch.nn.functional.cross_entropy(logits, labels).backward()
        grads.append({n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None})
    assert grads[0].keys() == grads[1].keys()
    for name in grads[0]:
        torch.testing.assert_close(grads[1][name], grads[0][name], atol=1e-6, rtol=1e-4, msg=name)


def test_lora_wrapped_model_too(tiny_encoder):
    model = AutoModelForSequenceClassification.from_pretrained(tiny_encoder, num_labels=2)
    peft_model = apply_lora(model, r=4, alpha=8, dropout=0.0, newly_initialized=["classifier.weight"]).eval()
    assert supports_cls_forward(peft_model)
    ids, mask = batch()
    with torch.no_grad():
        torch.testing.assert_close(cls_logits(peft_model, ids, mask),
                                   peft_model(input_ids=ids, attention_mask=mask).logits, atol=1e-5, rtol=1e-5)
