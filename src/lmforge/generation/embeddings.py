"""Sentence embeddings the way sentence-transformers computes them, without importing it at serve time.

A sentence-transformers directory says how it pools in ``modules.json`` and ``1_Pooling/config.json``
(mean, CLS, max or mean-sqrt-len over the tokens), whether it normalises (a ``Normalize`` module), and how
many tokens it reads (``sentence_bert_config.json``). :class:`SentenceEncoder` reads the same files and does
the same arithmetic, so its vectors equal ``SentenceTransformer(dir).encode(texts)`` (tested: cosine
≥ 0.9999). A plain encoder directory (a fine-tuned classifier, say) gets mean pooling over its base model.

    >>> encoder = SentenceEncoder.load()                  # the bundled all-MiniLM-L6-v2
    >>> encoder.encode(["a cat", "a dog"]).shape         # (2, 384), unit length
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from lmforge.errors import ArtifactError

MODES = ("cls", "mean", "max", "mean_sqrt_len")


def is_sentence_transformer(model_dir: Path) -> bool:
    return (Path(model_dir) / "modules.json").exists()


def read_pooling(model_dir: Path) -> tuple[str, bool, int | None]:
    """(pooling mode, normalize, max_seq_length) from a sentence-transformers directory (defaults: mean,
    no normalisation, the model's own limit)."""
    model_dir = Path(model_dir)
    mode, normalize, max_len = "mean", False, None
    if (model_dir / "modules.json").exists():
        modules = json.loads((model_dir / "modules.json").read_text())
        for module in modules:
            kind = module.get("type", "")
            if kind.endswith(".Pooling") and (model_dir / module["path"] / "config.json").exists():
                pooling = json.loads((model_dir / module["path"] / "config.json").read_text())
                chosen = [m for m in MODES if pooling.get(f"pooling_mode_{m}_tokens" if m != "cls"
                                                          else "pooling_mode_cls_token")]
                if len(chosen) != 1:
                    raise ArtifactError(f"{model_dir}: lmforge supports exactly one pooling mode, the model "
                                        f"asks for {chosen or 'none'}")
                mode = chosen[0]
            elif kind.endswith(".Normalize"):
                normalize = True
            elif not kind.endswith(".Transformer"):
                raise ArtifactError(f"{model_dir}: the sentence-transformers module {kind} is not supported "
                                    "(supported: Transformer, Pooling, Normalize)")
    config = model_dir / "sentence_bert_config.json"
    if config.exists():
        max_len = json.loads(config.read_text()).get("max_seq_length")
    return mode, normalize, max_len


def model_dir_is(model_dir: Path, find) -> bool:
    try:
        return Path(model_dir).resolve() == Path(find()).resolve()
    except Exception:  # noqa: BLE001 - the bundled model is not installed: then it is not that one
        return False


def pool(hidden: torch.Tensor, mask: torch.Tensor, mode: str) -> torch.Tensor:
    """(B, T, C) token states and (B, T) mask → (B, C), as sentence-transformers' Pooling does."""
    m = mask.unsqueeze(-1).to(hidden.dtype)
    if mode == "cls":
        return hidden[:, 0]
    if mode == "max":
        return hidden.masked_fill(m == 0, -1e9).max(dim=1).values
    summed, count = (hidden * m).sum(1), m.sum(1).clamp(min=1e-9)
    return summed / (count.sqrt() if mode == "mean_sqrt_len" else count)


class SentenceEncoder:
    def __init__(self, model, tokenizer, mode: str = "mean", normalize: bool = True, max_length: int = 256,
                 name: str = "encoder"):
        self.model, self.tokenizer = model.eval(), tokenizer
        self.mode, self.normalize, self.max_length, self.name = mode, normalize, max_length, name
        self.dimension = model.config.hidden_size

    @classmethod
    def load(cls, model_dir: str | Path | None = None) -> SentenceEncoder:
        """From a local directory only (``None``: the bundled all-MiniLM-L6-v2)."""
        from transformers import AutoModel

        from lmforge.models.pretrained import load_tokenizer, quiet_transformers, resolve_model_dir

        model_dir = resolve_model_dir(model_dir)
        mode, normalize, max_len = read_pooling(model_dir)
        with quiet_transformers():
            model = AutoModel.from_pretrained(model_dir)
        base = getattr(model, "base_model", model)
        limit = max_len or min(getattr(model.config, "max_position_embeddings", 512), 512)
        from lmforge.models.pretrained import DEFAULT_MODEL, bundled_model_dir

        name = DEFAULT_MODEL if model_dir_is(model_dir, bundled_model_dir) else model_dir.name
        return cls(base, load_tokenizer(model_dir), mode, normalize, limit, name=name)

    def tokenize(self, texts: Sequence[str], truncate: bool = True) -> list[list[int]]:
        limit = self.max_length if truncate else self.max_length + 1
        return self.tokenizer(list(texts), truncation=True, max_length=limit)["input_ids"]

    @torch.inference_mode()
    def forward(self, batch: dict[str, torch.Tensor], normalize: bool | None = None) -> np.ndarray:
        """A padded batch (``input_ids``, ``attention_mask``) → (B, dimension) float32."""
        hidden = self.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
        vectors = pool(hidden, batch["attention_mask"], self.mode)
        if self.normalize if normalize is None else normalize:
            vectors = torch.nn.functional.normalize(vectors, p=2, dim=-1)
        return vectors.float().numpy()

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        from lmforge.inference.predictor import batched_logits

        encoded = self.tokenize(texts)
        if not encoded:
            return np.empty((0, self.dimension), dtype=np.float32)
        return batched_logits(self.forward, encoded, self.tokenizer.pad_token_id or 0, max_batch=batch_size)
