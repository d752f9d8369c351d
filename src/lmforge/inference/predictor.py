"""Predictor: load any artifact lmforge can run and turn inputs into its task's predictions, fast.

Texts are tokenized once, sorted by length and cut into batches under a padded-token budget, so little
compute goes to padding; results come back in input order. The forward pass is a backend's job
(:mod:`lmforge.inference.backends`): torch for a model directory, ONNX Runtime for an ONNX export.
What the outputs mean (encoding, logits → predictions) is the artifact's task's (:mod:`lmforge.tasks`).

    >>> predictor = Predictor.load("runs/sst2")
    >>> predictor.predict(["a gorgeous film", "a waste of time"])
    [Prediction(label='1', score=0.98, ...), Prediction(label='0', score=0.97, ...)]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from lmforge.artifacts import read_manifest
from lmforge.data.batching import pad_batch, sorted_batches
from lmforge.errors import ArtifactError
from lmforge.tasks import get_task, task_for_artifact
from lmforge.tasks.text_classification import Prediction, softmax  # noqa: F401 - the classifier's outputs, re-exported

DEFAULT_MAX_TOKENS = 4096  # padded tokens per batch: a good cache fit for small encoders on CPU
DEFAULT_MAX_BATCH = 64


def batched_logits(forward: Callable[[dict], np.ndarray], encoded: Sequence[Sequence[int]], pad_id: int,
                   max_tokens: int = DEFAULT_MAX_TOKENS, max_batch: int = DEFAULT_MAX_BATCH,
                   numpy: bool = False) -> np.ndarray:
    """Logits for every encoded text, computed in length-sorted batches, returned in input order: an (N, C)
    array for per-text outputs, or a list of (T_i, C) arrays (padding cut off) for per-token outputs.
    ``numpy``: batches of numpy arrays rather than torch tensors (backends that run without torch)."""
    lengths = [len(ids) for ids in encoded]
    out: np.ndarray | None = None
    per_token: list | None = None
    for indices in sorted_batches(lengths, max_tokens, max_batch):
        logits = forward(pad_batch([encoded[i] for i in indices], pad_id, numpy=numpy))
        if logits.ndim == 3:  # (B, T, C): a tagger
            per_token = per_token if per_token is not None else [None] * len(encoded)
            for row, i in enumerate(indices):
                per_token[i] = logits[row, :lengths[i]]
            continue
        if out is None:
            out = np.empty((len(encoded), logits.shape[-1]), dtype=np.float32)
        out[indices] = logits
    if per_token is not None:
        return per_token
    return out if out is not None else np.empty((0, 0), dtype=np.float32)


class Predictor:
    """Inference on any artifact lmforge can load, for its task. Thread-compatible, not thread-safe."""

    def __init__(self, backend, tokenizer, labels: list[str], max_length: int,
                 max_tokens: int = DEFAULT_MAX_TOKENS, max_batch: int = DEFAULT_MAX_BATCH, task=None, *,
                 truncation: str = "head", temperature: float = 1.0, abstain: dict | None = None):
        self.backend, self.tokenizer, self.labels = backend, tokenizer, labels
        self.max_length, self.max_tokens, self.max_batch = max_length, max_tokens, max_batch
        self.task = task or get_task(None)
        self.truncation = truncation      # "head" or "head+tail" (lmforge.data.truncation)
        self.temperature = temperature    # fitted on dev by finetune (manifest calibration), 1 = raw softmax
        self.abstain = abstain            # {"label", "threshold"} from the manifest, or None

    @classmethod
    def load(cls, model_dir: str | Path, device: str | None = None, backend: str = "auto", **kwargs) -> Predictor:
        from lmforge.inference.backends import load_backend
        from lmforge.models.pretrained import load_tokenizer

        model_dir = Path(model_dir)
        if not model_dir.is_dir():
            raise ArtifactError(f"{model_dir} is not a directory; pass the output directory of `lmforge finetune`")
        manifest = read_manifest(model_dir)
        task = task_for_artifact(model_dir)
        engine = load_backend(model_dir, backend, device, task)
        labels = engine.labels
        config = manifest.get("config", {})
        max_length = config.get("max_length") or min(engine.max_positions, 512)
        tokenizer = getattr(engine, "tokenizer", None) or load_tokenizer(model_dir)  # the baseline brings its own
        return cls(engine, tokenizer, labels, max_length, task=task, truncation=config.get("truncation") or "head",
                   temperature=float(manifest.get("calibration", {}).get("temperature") or 1.0),
                   abstain=manifest.get("abstain"), **kwargs)

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        if self.truncation == "head+tail":
            from lmforge.data.truncation import encode_texts

            return encode_texts(self.tokenizer, texts, self.max_length, self.truncation)[0]
        return self.task.encode(self.tokenizer, texts, self.max_length)[0]

    def logits(self, texts: Sequence[str]) -> np.ndarray:
        """(N, num_labels) float32 logits in input order (a list of (T_i, num_labels) for a tagger)."""
        return batched_logits(self.backend.forward, self.encode(texts), self.tokenizer.pad_token_id,
                              self.max_tokens, self.max_batch, numpy=getattr(self.backend, "accepts_numpy", False))

    def probabilities(self, logits: np.ndarray) -> np.ndarray:
        """Calibrated class probabilities: softmax(logits / temperature)."""
        return softmax(logits / self.temperature)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """(N, num_labels) class probabilities (classification tasks; temperature-scaled when calibrated)."""
        return self.probabilities(self.logits(texts))

    def answer(self, row: np.ndarray) -> tuple[str, int]:
        """The label to return for one row of probabilities (the abstain label below the threshold)."""
        best = int(row.argmax())
        if self.abstain and row[best] < self.abstain["threshold"]:
            return self.abstain["label"], best
        return self.labels[best], best

    def results(self, logits: np.ndarray) -> list[dict]:
        """The serving shape of :meth:`predict`'s answers, for logits already computed."""
        if self.temperature == 1.0 and not self.abstain:
            return self.task.results(logits, self.labels)
        return [{"label": p.label, "score": p.score, "scores": p.scores} for p in self._calibrated(logits)]

    def _calibrated(self, logits: np.ndarray) -> list[Prediction]:
        out = []
        for row in self.probabilities(logits):
            label, best = self.answer(row)
            out.append(Prediction(label, float(row[best]), {name: float(p) for name, p in zip(self.labels, row)}))
        return out

    def predict(self, texts: Sequence[str]) -> list:
        """One prediction per input, as the task makes them (a :class:`Prediction` for a classifier), with
        the artifact's temperature and abstain threshold applied."""
        windows = getattr(self.task, "windows", None)  # a tagger reads a long text in overlapping windows
        if windows is not None:
            pieces, join = windows(self.tokenizer, texts, self.max_length)
            return join(self.task.postprocess(self.logits(pieces), self.labels, inputs=pieces,
                                              tokenizer=self.tokenizer, max_length=self.max_length))
        logits = self.logits(texts)
        if self.temperature == 1.0 and not self.abstain:
            return self.task.postprocess(logits, self.labels, inputs=list(texts), tokenizer=self.tokenizer,
                                         max_length=self.max_length)
        return self._calibrated(logits)
