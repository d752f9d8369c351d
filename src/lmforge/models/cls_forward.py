"""A sequence classifier's forward pass that skips work its answer never reads.

``BertForSequenceClassification`` classifies from the last layer's output at the first token ([CLS]) only,
yet the standard forward runs the last layer's query projection, attention output, feed-forward block and
layer norms for every token. Here the last layer attends from [CLS] alone (keys and values still come from
every token), which removes about 5/6 of that layer's work — ~14% of a 6-layer MiniLM's training compute —
and gives the same logits (tested against the standard forward, and the gradients too).

Used by the training loop's loss for BERT-family models in a single process; anything else (other
architectures, DDP-wrapped models, whose forward must go through the wrapper) takes the standard path.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

SUPPORTED = ("bert",)


def _bert_model(model: nn.Module) -> nn.Module | None:
    """The BertForSequenceClassification inside ``model`` (plain or peft-wrapped), or None."""
    inner = model.get_base_model() if hasattr(model, "get_base_model") else model
    config = getattr(inner, "config", None)
    if config is None or config.model_type not in SUPPORTED or not hasattr(inner, "bert"):
        return None
    if inner.bert.pooler is None or config.is_decoder or config._attn_implementation not in ("sdpa", "eager"):
        return None
    return inner


def supports_cls_forward(model: nn.Module) -> bool:
    return _bert_model(model) is not None


def cls_logits(model: nn.Module, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """(B, num_labels) logits, equal to ``model(input_ids, attention_mask).logits``."""
    from transformers.masking_utils import create_bidirectional_mask

    inner = _bert_model(model)
    bert = inner.bert
    hidden = bert.embeddings(input_ids=input_ids)  # (B, T, H)
    mask = create_bidirectional_mask(config=bert.config, inputs_embeds=hidden, attention_mask=attention_mask)
    layers = bert.encoder.layer
    for layer in layers[:-1]:
        hidden = layer(hidden, mask)

    last = layers[-1]
    attn = last.attention.self
    batch, length, _ = hidden.shape
    heads, head_dim = attn.num_attention_heads, attn.attention_head_size
    cls = hidden[:, :1]  # (B, 1, H): the only position the classifier reads
    q = attn.query(cls).view(batch, 1, heads, head_dim).transpose(1, 2)  # (B, h, 1, d)
    k = attn.key(hidden).view(batch, length, heads, head_dim).transpose(1, 2)  # (B, h, T, d)
    v = attn.value(hidden).view(batch, length, heads, head_dim).transpose(1, 2)
    key_mask = attention_mask[:, None, None, :].bool()  # (B, 1, 1, T): True = attend
    context = F.scaled_dot_product_attention(q, k, v, attn_mask=key_mask, scale=attn.scaling,
                                             dropout_p=attn.dropout.p if attn.training else 0.0)
    context = context.transpose(1, 2).reshape(batch, 1, heads * head_dim)
    attention_output = last.attention.output(context, cls)  # dense, dropout, LayerNorm(x + residual)
    layer_output = last.output(last.intermediate(attention_output), attention_output)  # (B, 1, H)
    pooled = bert.pooler(layer_output)
    return inner.classifier(inner.dropout(pooled))
