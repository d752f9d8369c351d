"""Every error lmforge raises on purpose, as one tree.

    LmforgeError                 base: the CLI prints it without a traceback, exit code 2
    ├── ConfigError              a setting is missing, malformed or contradicts another (lists every problem)
    ├── DataError                an input file cannot be used as given (names file, row, column)
    ├── ArtifactError            a model directory is missing a piece or was written by something else
    └── ServingError             the server cannot take the request (mapped to an HTTP status by meaning)

Messages say what was received, what is allowed, and what to do next.
"""

from __future__ import annotations

from pathlib import Path


class LmforgeError(Exception):
    """Base class. ``str(error)`` is a complete message meant for a person."""


class ConfigError(LmforgeError):
    """One or more settings are invalid. ``problems`` lists each one."""

    def __init__(self, problems: list[str] | str):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        if len(self.problems) == 1:
            super().__init__(self.problems[0])
        else:
            lines = "\n".join(f"  - {p}" for p in self.problems)
            super().__init__(f"{len(self.problems)} problems in the configuration:\n{lines}")


class DataError(LmforgeError):
    """An input file cannot be used. Carries where: file, row (1-based data row), column."""

    def __init__(self, message: str, *, path: str | Path | None = None, row: int | None = None,
                 line: int | None = None, column: str | None = None, hint: str | None = None):
        self.path, self.row, self.line, self.column, self.hint = path, row, line, column, hint
        where = []
        if path is not None:
            where.append(str(path))
        if row is not None:
            where.append(f"row {row}" + (f" (line {line})" if line is not None and line != row else ""))
        elif line is not None:
            where.append(f"line {line}")
        if column is not None:
            where.append(f"column '{column}'")
        text = f"{', '.join(where)}: {message}" if where else message
        if hint:
            text += f"\n  → {hint}"
        super().__init__(text)


class ArtifactError(LmforgeError):
    """A model or run directory is incomplete or not one lmforge can read."""


class ServingError(LmforgeError):
    """A request the server refuses. ``status`` is the HTTP status code that fits its meaning."""

    def __init__(self, message: str, status: int = 400, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.headers = headers or {}


def missing_extra(feature: str, extra: str, package: str) -> LmforgeError:
    """The error for an optional dependency that is not installed."""
    return LmforgeError(f"{feature} needs the '{package}' package: pip install 'lmforge[{extra}]'")
