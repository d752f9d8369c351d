"""Files every stage writes the same way: content fingerprints, atomic JSON, and the overwrite policy.

    >>> sha256_file("train.csv")                              # hex digest, read in 1 MiB blocks
    >>> write_json_atomic(Path("run/manifest.json"), manifest) # a reader never sees half a file
    >>> refuse_to_replace(Path("runs/x"), overwrite=False)     # ConfigError when runs/x already holds files
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from lmforge.errors import ConfigError


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file's bytes (streamed: any size); of a directory (a folder-per-label data set), over
    each file's relative path and bytes, in sorted order."""
    path = Path(path)
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        if path.is_dir():
            digest.update(str(file.relative_to(path)).encode() + b"\0")
        with open(file, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def write_json_atomic(path: str | Path, data: dict) -> Path:
    """Write ``data`` as indented JSON under a temporary name, flush it to disk, then rename it into place:
    a crash at any moment leaves either the old file or the new one, never half of one."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w") as f:
        f.write(json.dumps(data, indent=2, default=str) + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path


def refuse_to_replace(output: str | Path, overwrite: bool, what: str = "files (the directory is not empty)",
                      error: type[Exception] = ConfigError) -> None:
    """The one overwrite policy: what a stage's output directory already holds is never replaced unless
    ``overwrite`` is given. Raises ``error`` when ``output`` exists, is not empty and ``overwrite`` is false."""
    output = Path(output)
    if overwrite or not output.exists() or not any(output.iterdir()):
        return
    raise error(f"{output} already holds {what}; choose another --output, or pass --overwrite to replace it")
