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


def test_attention_math_path_matches_when_dropout_is_identity(tiny_encoder, monkeypatch):
    """In training with attention dropout, the probabilities are computed by hand; same logits as SDPA."""
    import lmforge.models.cls_forward as cls_forward

    model = AutoModelForSequenceClassification.from_pretrained(tiny_encoder, num_labels=3)
    assert model.config.attention_probs_dropout_prob > 0
    ids, mask = batch()
    with torch.no_grad():
        expected = model.eval()(input_ids=ids, attention_mask=mask).logits
        monkeypatch.setattr(cls_forward, "dropout", lambda x, p, training: x)
        torch.testing.assert_close(cls_logits(model.train(), ids, mask), expected, atol=1e-5, rtol=1e-5)


def test_dropout_keeps_1_minus_p_scaled_and_follows_torch_seed():
    from lmforge.models.cls_forward import dropout

    x = torch.ones(200, 1000)
    torch.manual_seed(0)
    a = dropout(x, 0.1, training=True)
    kept = a != 0
    assert abs(kept.float().mean().item() - 0.9) < 0.005
    torch.testing.assert_close(a[kept], torch.full_like(a[kept], 1 / 0.9))
    torch.manual_seed(0)
    assert torch.equal(dropout(x, 0.1, training=True), a)  # the mask is decided by torch's generator
    assert not torch.equal(dropout(x, 0.1, training=True), a)
    assert dropout(x, 0.1, training=False) is x
    grad_input = x.clone().requires_grad_(True)
    dropout(grad_input, 0.5, training=True).sum().backward()
    assert set(grad_input.grad.unique().tolist()) <= {0.0, 2.0}
