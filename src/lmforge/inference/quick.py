"""The start-up path behind `lmforge predict`: a Predictor built without importing transformers.

`lmforge predict MODEL "one text"` is mostly start-up: importing transformers, building the model class and
the tokenizer wrapper cost more than the forward pass. Here the tokenizer is the model directory's
``tokenizer.json`` through the ``tokenizers`` library (what transformers' fast tokenizer wraps: the same ids),
an ONNX artifact runs on ONNX Runtime without torch, and a BERT classifier runs through
:mod:`lmforge.inference.bert_runtime` (in NumPy for the few texts of a command line, so torch is not
imported). Any other artifact (torch-int8, another task or architecture, no tokenizer.json) loads through
:meth:`Predictor.load`, the standard path.

    >>> predictor = quick_predictor(Path("runs/sst2"))
    >>> predictor.predict(["a gorgeous film"])
"""

from __future__ import annotations

import json
from pathlib import Path

from lmforge.artifacts import read_manifest
from lmforge.errors import ArtifactError
from lmforge.inference.predictor import Predictor


class QuickTokenizer:
    """The subset of a transformers fast tokenizer that :class:`Predictor` uses, over ``tokenizer.json``."""

    def __init__(self, model_dir: Path):
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.no_padding()
        config = {}
        for name in ("tokenizer_config.json", "special_tokens_map.json"):
            if (model_dir / name).exists():
                config = {**json.loads((model_dir / name).read_text()), **config}
        pad = config.get("pad_token")
        pad = pad.get("content") if isinstance(pad, dict) else pad
        pad_id = self.tokenizer.token_to_id(pad) if pad else None
        self.pad_token_id = pad_id if pad_id is not None else 0
        self.max_length: int | None = None

    def __call__(self, texts: list[str], truncation: bool = True, max_length: int | None = None) -> dict:
        if truncation and max_length and max_length != self.max_length:
            self.tokenizer.enable_truncation(max_length)
            self.max_length = max_length
        return {"input_ids": [e.ids for e in self.tokenizer.encode_batch(list(texts))]}


def quick_predictor(model_dir: str | Path, backend: str = "auto", few_texts: bool = False) -> Predictor:
    """A :class:`Predictor` for ``model_dir`` on the start-up path (module docstring), else the standard one.
    ``few_texts``: a BERT classifier runs in NumPy, without importing torch (the texts of a command line)."""
    from lmforge.inference.backends import BACKENDS
    from lmforge.tasks import task_for_artifact

    model_dir = Path(model_dir)
    if not model_dir.is_dir() or not (model_dir / "tokenizer.json").exists():
        return Predictor.load(model_dir, backend=backend)
    task = task_for_artifact(model_dir)
    if task.name != "text-classification":  # the runtimes here are sequence classifiers
        return Predictor.load(model_dir, backend=backend)
    fitting = [n for n, (fits, _) in reversed(list(BACKENDS.items())) if fits(model_dir)]
    names = [backend] if backend != "auto" else fitting
    engine = None
    if names and names[0] == "onnx" and BACKENDS["onnx"][0](model_dir):
        engine = BACKENDS["onnx"][1](model_dir)
    elif names and names[0] == "torch":
        from lmforge.inference.bert_runtime import load_bert_runtime

        engine = load_bert_runtime(model_dir, numpy=few_texts)
    if engine is None:
        return Predictor.load(model_dir, backend=backend)
    if not engine.labels:
        raise ArtifactError(f"{model_dir}/config.json names no labels (id2label); is it a `lmforge finetune` output?")
    max_length = read_manifest(model_dir).get("config", {}).get("max_length") or min(engine.max_positions, 512)
    return Predictor(engine, QuickTokenizer(model_dir), engine.labels, max_length, task=task)
