"""What lmforge prints besides its results: its own one-line messages, and libraries kept quiet.

Libraries talk in their own voice: progress bars for one-shard saves ("Writing model shards"), load reports,
``UserWarning``s with a file and line. On the command line lmforge says what matters itself, in one line,
and ``--quiet`` leaves only the command's summary line.

    >>> show_warnings_as_one_line()    # warnings.warn(...) → "warning: …" on stderr, no file:line
    >>> quiet_libraries()              # --quiet: no progress bars, no library warnings or load reports
"""

from __future__ import annotations

import os
import sys
import warnings

LIBRARIES = ("transformers", "torch", "accelerate", "peft", "sklearn", "tokenizers", "huggingface_hub",
             "mlflow", "optuna", "onnxruntime", "onnx", "datasets", "numpy", "scipy", "matplotlib")


def show_warnings_as_one_line() -> None:
    """Print each warning as ``warning: <message>`` (lmforge's warnings are written for a person)."""

    def show(message, category, filename, lineno, file=None, line=None):
        print(f"warning: {message}", file=file or sys.stderr)

    warnings.showwarning = show


def quiet_libraries() -> None:
    """Silence third-party progress bars, load reports and warnings for this process and its children.

    Set before the libraries are imported where possible (environment), and applied to those already
    imported. lmforge's own warnings still print, as one line.
    """
    os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"   # transformers' bars follow huggingface_hub's switch
    os.environ["TRANSFORMERS_VERBOSITY"] = "error"     # load reports, "Token indices sequence length …"
    os.environ.setdefault("TQDM_DISABLE", "1")
    for name in LIBRARIES:
        warnings.filterwarnings("ignore", module=rf"{name}(\..*)?$")
    if "transformers" in sys.modules:
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
