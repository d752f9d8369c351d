"""A BERT sequence classifier's forward pass, without the work its answer never reads.

Two savings over ``BertForSequenceClassification.forward``, each measured on all-MiniLM-L6-v2 / SST-2
(``bench/training_step.py``), each giving the same logits and gradients (tested):

- The classifier reads the last layer's output at the first token ([CLS]) only, yet the standard forward
  runs the last layer's query projection, attention output, feed-forward block and layer norms for every
  token. Here the last layer attends from [CLS] alone (keys and values still come from every token): about
  5/6 of that layer's work, ~14% of a 6-layer model's training compute.
- Dropout. PyTorch's CPU dropout draws its mask with ``bernoulli_`` from a sequential Mersenne Twister:
  ~6 ns an element, ~10% of a MiniLM training step. :func:`dropout` draws 16-bit integers from NumPy's PCG64
  instead, seeded from torch's generator (so ``torch.manual_seed`` and the RNG state saved in checkpoints
  still decide it): masks 2.5x faster, +4% training samples/s. On GPUs it is ``F.dropout``.

Used by the training loop's loss for BERT-family models in a single process (DDP-wrapped models, whose
forward must go through the wrapper, take the standard path), by the torch inference backend, and, as
:class:`ClsOnlyExport`, by the ONNX export. Other architectures take the standard path.
"""

from __future__ import annotations

import numpy as np
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
    if inner.bert.pooler is None or config.is_decoder:
        return None
    if getattr(config, "position_embedding_type", "absolute") != "absolute":
        return None
    return inner


def supports_cls_forward(model: nn.Module) -> bool:
    return _bert_model(model) is not None


def dropout(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """Inverted dropout, as ``F.dropout``; on CPU with a mask drawn 2.5x faster (module docstring)."""
    if not training or p == 0.0:
        return x
    if x.device.type != "cpu":
        return F.dropout(x, p, training=True)
    seed = int(torch.randint(0, 2**62, (1,)))  # torch's generator decides the mask: seeded, checkpointed
    bits = np.random.Generator(np.random.PCG64(seed)).integers(0, 1 << 16, size=x.numel(), dtype=np.uint16)
    keep = torch.from_numpy(bits.view(np.int16)).view(x.shape) >= round(p * (1 << 16)) - (1 << 15)
    return x * keep.to(x.dtype).mul_(1.0 / (1.0 - p))


def _layer(layer: nn.Module, hidden: torch.Tensor, key_mask: torch.Tensor, cls_only: bool) -> torch.Tensor:
    """One BertLayer. With ``cls_only`` the output holds the first position only."""
    attn, attn_out = layer.attention.self, layer.attention.output
    training = layer.training
    batch, length, _ = hidden.shape
    heads, head_dim = attn.num_attention_heads, attn.attention_head_size
    queries_from = hidden[:, :1] if cls_only else hidden
    q = attn.query(queries_from).view(batch, -1, heads, head_dim).transpose(1, 2)  # (B, h, Tq, d)
    k = attn.key(hidden).view(batch, length, heads, head_dim).transpose(1, 2)  # (B, h, T, d)
    v = attn.value(hidden).view(batch, length, heads, head_dim).transpose(1, 2)
    if training and attn.dropout.p > 0:  # the probabilities themselves are dropped, as in BERT
        scores = (torch.matmul(q, k.transpose(-1, -2)) * attn.scaling).masked_fill(~key_mask, -torch.inf)
        probs = dropout(scores.softmax(-1), attn.dropout.p, training)
        context = torch.matmul(probs, v)
    else:
        context = F.scaled_dot_product_attention(q, k, v, attn_mask=key_mask, scale=attn.scaling)
    context = context.transpose(1, 2).reshape(batch, -1, heads * head_dim)
    p = attn_out.dropout.p
    attention_output = attn_out.LayerNorm(dropout(attn_out.dense(context), p, training) + queries_from)
    ffn = layer.output
    intermediate = layer.intermediate(attention_output)  # dense + activation
    return ffn.LayerNorm(dropout(ffn.dense(intermediate), ffn.dropout.p, training) + attention_output)


def cls_logits(model: nn.Module, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """(B, num_labels) logits, equal to ``model(input_ids, attention_mask).logits``."""
    inner = _bert_model(model)
    bert = inner.bert
    emb = bert.embeddings
    length = input_ids.shape[1]
    hidden = (emb.word_embeddings(input_ids) + emb.token_type_embeddings(emb.token_type_ids[:, :length])
              + emb.position_embeddings(emb.position_ids[:, :length]))
    hidden = dropout(emb.LayerNorm(hidden), emb.dropout.p, emb.training)  # (B, T, H)
    key_mask = attention_mask[:, None, None, :].bool()  # (B, 1, 1, T): True = may be attended
    layers = bert.encoder.layer
    for i, layer in enumerate(layers):
        hidden = _layer(layer, hidden, key_mask, cls_only=i == len(layers) - 1)
    pooled = bert.pooler(hidden)  # reads position 0: dense + tanh
    return inner.classifier(dropout(pooled, inner.dropout.p, inner.training))


class ClsOnlyExport(nn.Module):
    """The classifier for ONNX export: the embeddings and every layer but the last exactly as transformers
    builds them (so ONNX Runtime's BERT fusions still match them), the last layer for [CLS] only."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model
        # its own module, so the exported nodes are named /cls_layer/... (int8 keeps them fp32: it sits right
        # before the classifier, and quantizing it changed 5% of a weak model's predictions)
        self.cls_layer = _ClsLayer(_bert_model(model).bert.encoder.layer[-1])

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        from transformers.masking_utils import create_bidirectional_mask

        inner = _bert_model(self.model)
        bert = inner.bert
        hidden = bert.embeddings(input_ids=input_ids)
        mask = create_bidirectional_mask(config=bert.config, inputs_embeds=hidden, attention_mask=attention_mask)
        layers = bert.encoder.layer
        for layer in layers[:-1]:
            hidden = layer(hidden, mask)
        hidden = self.cls_layer(hidden, attention_mask[:, None, None, :].bool())
        return inner.classifier(bert.pooler(hidden))


class _ClsLayer(nn.Module):
    def __init__(self, layer: nn.Module):
        super().__init__()
        self.layer = layer

    def forward(self, hidden: torch.Tensor, key_mask: torch.Tensor) -> torch.Tensor:
        return _layer(self.layer, hidden, key_mask, cls_only=True)
