"""lmforge: from your labelled text to a fast, measured, priced task-specific model."""

import os

# Nothing in lmforge downloads from a model hub; make transformers agree before it is imported.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")

from lmforge.errors import ArtifactError, ConfigError, DataError, LmforgeError, ServingError  # noqa: E402
from lmforge.version import __version__  # noqa: E402

__all__ = ["ArtifactError", "Client", "ConfigError", "DataError", "LmforgeError", "ServingError", "evaluate",
           "finetune", "predict", "__version__"]

# The stage functions are imported on first use: `import lmforge` (and so `lmforge --help`) must not pay for
# torch, transformers and scikit-learn, which take seconds to import. `lmforge.Client` needs httpx (the `serve`
# extra), the rest of lmforge does not.
_LAZY = {"evaluate": "lmforge.api", "finetune": "lmforge.api", "predict": "lmforge.api",
         "Client": "lmforge.serving.client"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value  # later lookups skip __getattr__
        return value
    raise AttributeError(f"module 'lmforge' has no attribute '{name}'")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
