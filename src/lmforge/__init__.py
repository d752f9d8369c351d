"""lmforge: from your labelled text to a fast, measured, priced task-specific model."""

import os

# Nothing in lmforge downloads from a model hub; make transformers agree before it is imported.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")

from lmforge.api import evaluate, finetune, predict  # noqa: E402
from lmforge.errors import ArtifactError, ConfigError, DataError, LmforgeError, ServingError  # noqa: E402
from lmforge.version import __version__  # noqa: E402

__all__ = ["ArtifactError", "Client", "ConfigError", "DataError", "LmforgeError", "ServingError", "evaluate",
           "finetune", "predict", "__version__"]


def __getattr__(name: str):
    # lmforge.Client is imported lazily: the client needs httpx (the `serve` extra), the rest of lmforge does not.
    if name == "Client":
        from lmforge.serving.client import Client

        return Client
    raise AttributeError(f"module 'lmforge' has no attribute '{name}'")
