"""A BERT sequence classifier's forward pass in plain torch or NumPy, for start-up: no transformers import.

Importing ``transformers`` and building ``BertForSequenceClassification`` costs about as much as torch
itself, which dominated `lmforge predict MODEL "one text"`. A fine-tuned BERT-family classifier is a small,
fixed computation, so this module runs it straight from ``config.json`` and ``model.safetensors``: the same
weights, the same operations (the last layer for [CLS] only, as :mod:`lmforge.models.cls_forward` does),
logits equal to transformers' within float rounding (tests/inference/test_quick_predict.py checks 1e-5).

:class:`NumpyBertRuntime` is the same computation in NumPy, for a handful of texts (`lmforge predict MODEL
"text"`), where importing torch would be most of the wait; torch stays faster for files of texts.

Anything else (another architecture, a relative position embedding, a missing weight) is ``None`` from
:func:`load_bert_runtime` and the caller takes the transformers path.

    >>> runtime = load_bert_runtime(Path("runs/sst2"))
    >>> runtime.forward({"input_ids": ids, "attention_mask": mask})     # (B, num_labels) float32 numpy
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

ACTIVATIONS = ("gelu", "relu", "gelu_new", "gelu_pytorch_tanh")


def supported(config: dict) -> bool:
    return (config.get("model_type") == "bert" and config.get("architectures") == ["BertForSequenceClassification"]
            and config.get("position_embedding_type", "absolute") == "absolute" and not config.get("is_decoder")
            and config.get("hidden_act") in ACTIVATIONS
            and config.get("problem_type") in (None, "single_label_classification"))


class BertRuntime:
    """The torch backend's interface (``labels``, ``max_positions``, ``name``, ``forward``) over raw weights."""

    name = "torch"
    accepts_numpy = True

    def __init__(self, config: dict, weights: dict):
        import torch

        self.torch = torch
        self.w = weights
        self.heads = config["num_attention_heads"]
        self.layers = config["num_hidden_layers"]
        self.eps = config.get("layer_norm_eps", 1e-12)
        act = config["hidden_act"]
        F = torch.nn.functional
        self.act = {"gelu": F.gelu, "relu": F.relu}.get(act) or (lambda x: F.gelu(x, approximate="tanh"))
        id2label = config.get("id2label") or {}
        self.labels = [id2label[str(i)] for i in range(len(id2label))]
        self.max_positions = config.get("max_position_embeddings", 512)
        self.device = "cpu"

    def _linear(self, x, name: str):
        return self.torch.nn.functional.linear(x, self.w[f"{name}.weight"], self.w[f"{name}.bias"])

    def _norm(self, x, name: str):
        w = self.w
        return self.torch.nn.functional.layer_norm(x, x.shape[-1:], w[f"{name}.weight"], w[f"{name}.bias"], self.eps)

    def _layer(self, i: int, hidden, key_mask, cls_only: bool):
        F, p = self.torch.nn.functional, f"bert.encoder.layer.{i}"
        batch, length, width = hidden.shape
        head_dim = width // self.heads
        queries_from = hidden[:, :1] if cls_only else hidden

        def split(x):  # (B, T, H*D) -> (B, H, T, D)
            return x.view(batch, -1, self.heads, head_dim).transpose(1, 2)

        q = split(self._linear(queries_from, f"{p}.attention.self.query"))
        k = split(self._linear(hidden, f"{p}.attention.self.key"))
        v = split(self._linear(hidden, f"{p}.attention.self.value"))
        context = F.scaled_dot_product_attention(q, k, v, attn_mask=key_mask)  # (B, H, Tq, D)
        context = context.transpose(1, 2).reshape(batch, -1, width)
        attended = self._norm(self._linear(context, f"{p}.attention.output.dense") + queries_from,
                              f"{p}.attention.output.LayerNorm")
        intermediate = self.act(self._linear(attended, f"{p}.intermediate.dense"))
        return self._norm(self._linear(intermediate, f"{p}.output.dense") + attended, f"{p}.output.LayerNorm")

    def forward(self, batch: dict) -> np.ndarray:
        torch = self.torch
        with torch.inference_mode():
            input_ids = torch.as_tensor(np.asarray(batch["input_ids"]), dtype=torch.long)
            mask = torch.as_tensor(np.asarray(batch["attention_mask"]), dtype=torch.long)
            w, e = self.w, "bert.embeddings"
            positions = torch.arange(input_ids.shape[1])
            hidden = (w[f"{e}.word_embeddings.weight"][input_ids] + w[f"{e}.position_embeddings.weight"][positions]
                      + w[f"{e}.token_type_embeddings.weight"][0])  # (B, T, W); token type 0 everywhere
            hidden = self._norm(hidden, f"{e}.LayerNorm")
            key_mask = mask[:, None, None, :].bool()  # (B, 1, 1, T): True = may be attended
            for i in range(self.layers):
                hidden = self._layer(i, hidden, key_mask, cls_only=i == self.layers - 1)
            pooled = torch.tanh(self._linear(hidden[:, 0], "bert.pooler.dense"))
            return self._linear(pooled, "classifier").float().numpy()


def erf(x: np.ndarray) -> np.ndarray:
    """Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7, float32's own rounding): NumPy has no erf."""
    t = 1.0 / (1.0 + 0.3275911 * np.abs(x))
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return np.sign(x) * (1.0 - poly * np.exp(-x * x))


class NumpyBertRuntime(BertRuntime):
    """The same forward pass in NumPy: for a few texts, not importing torch (over a second) is what counts."""

    def __init__(self, config: dict, weights: dict):
        self.w = weights
        self.heads, self.layers = config["num_attention_heads"], config["num_hidden_layers"]
        self.eps = config.get("layer_norm_eps", 1e-12)
        act = config["hidden_act"]
        if act == "gelu":
            self.act = lambda x: 0.5 * x * (1.0 + erf(x / np.sqrt(2.0)))
        elif act == "relu":
            self.act = lambda x: np.maximum(x, 0.0)
        else:  # the tanh approximation
            self.act = lambda x: 0.5 * x * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * x ** 3)))
        id2label = config.get("id2label") or {}
        self.labels = [id2label[str(i)] for i in range(len(id2label))]
        self.max_positions = config.get("max_position_embeddings", 512)
        self.device = "cpu"

    def _linear(self, x, name: str):
        return x @ self.w[f"{name}.weight"].T + self.w[f"{name}.bias"]

    def _norm(self, x, name: str):
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + self.eps) * self.w[f"{name}.weight"] + self.w[f"{name}.bias"]

    def _layer(self, i: int, hidden, key_mask, cls_only: bool):
        p = f"bert.encoder.layer.{i}"
        batch, length, width = hidden.shape
        head_dim = width // self.heads
        queries_from = hidden[:, :1] if cls_only else hidden

        def split(x):  # (B, T, H*D) -> (B, H, T, D)
            return x.reshape(batch, -1, self.heads, head_dim).transpose(0, 2, 1, 3)

        q = split(self._linear(queries_from, f"{p}.attention.self.query"))
        k = split(self._linear(hidden, f"{p}.attention.self.key"))
        v = split(self._linear(hidden, f"{p}.attention.self.value"))
        scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(head_dim) + key_mask  # (B, H, Tq, T)
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        context = (scores / scores.sum(-1, keepdims=True)) @ v  # (B, H, Tq, D)
        context = context.transpose(0, 2, 1, 3).reshape(batch, -1, width)
        attended = self._norm(self._linear(context, f"{p}.attention.output.dense") + queries_from,
                              f"{p}.attention.output.LayerNorm")
        intermediate = self.act(self._linear(attended, f"{p}.intermediate.dense"))
        return self._norm(self._linear(intermediate, f"{p}.output.dense") + attended, f"{p}.output.LayerNorm")

    def forward(self, batch: dict) -> np.ndarray:
        input_ids = np.asarray(batch["input_ids"], dtype=np.int64)
        mask = np.asarray(batch["attention_mask"])
        w, e = self.w, "bert.embeddings"
        hidden = (w[f"{e}.word_embeddings.weight"][input_ids] + w[f"{e}.position_embeddings.weight"][:input_ids.shape[1]]
                  + w[f"{e}.token_type_embeddings.weight"][0])  # (B, T, W); token type 0 everywhere
        hidden = self._norm(hidden, f"{e}.LayerNorm")
        key_mask = np.where(mask[:, None, None, :] > 0, 0.0, -np.inf).astype(np.float32)  # (B, 1, 1, T)
        for i in range(self.layers):
            hidden = self._layer(i, hidden, key_mask, cls_only=i == self.layers - 1)
        pooled = np.tanh(self._linear(hidden[:, 0], "bert.pooler.dense"))
        return self._linear(pooled, "classifier").astype(np.float32)


SAFETENSORS_DTYPES = {"F32": np.float32, "F16": np.float16, "BF16": None, "I64": np.int64}


def mapped_safetensors(path: Path) -> dict[str, np.ndarray]:
    """The tensors of a safetensors file as read-only arrays over a memory map: nothing is read until used,
    and predicting a few texts touches only their rows of the 47 MB word-embedding matrix.

    The format: an 8-byte little-endian header length, a JSON header (name → dtype, shape, byte offsets into
    the data that follows), the data."""
    with open(path, "rb") as f:
        header_len = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(header_len))
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + header_len)
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = SAFETENSORS_DTYPES.get(info["dtype"])
        if dtype is None:  # bf16 and the rest: the torch runtime handles them
            raise ValueError(f"{path}: tensor {name} is {info['dtype']}")
        start, end = info["data_offsets"]
        out[name] = data[start:end].view(dtype).reshape(info["shape"])
    return out


def load_bert_runtime(model_dir: Path, numpy: bool = False) -> BertRuntime | None:
    """The runtime for a BERT classifier directory (in NumPy with ``numpy``: no torch import), or None when it
    is not one this module runs."""
    config_path, weights_path = model_dir / "config.json", model_dir / "model.safetensors"
    if not (config_path.exists() and weights_path.exists()):
        return None
    config = json.loads(config_path.read_text())
    if not supported(config):
        return None
    if numpy:
        try:
            weights = mapped_safetensors(weights_path)
        except ValueError:
            return None
    else:
        from safetensors.torch import load_file

        weights = load_file(weights_path)
    needed = ["bert.embeddings.word_embeddings.weight", "bert.pooler.dense.weight", "classifier.weight",
              f"bert.encoder.layer.{config['num_hidden_layers'] - 1}.output.dense.weight"]
    if any(name not in weights for name in needed):
        return None
    if numpy:
        return NumpyBertRuntime(config, {k: v.astype(np.float32, copy=False) for k, v in weights.items()})
    return BertRuntime(config, {k: v.float() for k, v in weights.items()})
