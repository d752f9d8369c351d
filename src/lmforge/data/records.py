"""One data row as every reader yields it (its own module, so the readers need not import each other)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Record:
    """One data row. ``row`` counts data rows from 1; ``line`` is the physical line where the row starts."""

    row: int
    line: int
    fields: dict[str, object]
    origin: Path | None = None  # the file the row came from, when the source is a directory
