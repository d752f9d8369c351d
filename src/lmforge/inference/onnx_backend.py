"""ONNX Runtime backend: runs ``model.onnx`` artifacts written by ``lmforge compress --to onnx|onnx-int8``.

The session is tuned to the machine once, at load: one intra-op thread per physical core (hyper-threads
share the vector units, so a second thread per core only adds contention), sequential execution (an
encoder is a chain of layers; inter-op parallelism has nothing to overlap) and every graph optimisation
ORT has. ``Predictor.load`` picks this backend by itself for a directory holding ``model.onnx``, so
``lmforge predict``, ``evaluate`` and ``serve`` run compressed artifacts unchanged.

    >>> backend = OnnxBackend(Path("runs/sst2-int8"))
    >>> backend.forward({"input_ids": ids, "attention_mask": mask})   # (B, num_labels) float32
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from lmforge.errors import ArtifactError, missing_extra
from lmforge.threads import physical_cores

ONNX_FILE = "model.onnx"


def session_options(threads: int | None = None):
    """ORT session options for a small encoder on CPU (see the module docstring for why)."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise missing_extra("ONNX inference", "onnx", "onnxruntime") from None
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or physical_cores()
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # warnings about unused initializers are noise for users
    return options


def open_session(path: Path, threads: int | None = None):
    import onnxruntime as ort

    options = session_options(threads)
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as e:  # ORT raises its own Fail/InvalidGraph types; say which file and what to do
        raise ArtifactError(f"{path} could not be loaded by ONNX Runtime ({e}); re-export it with "
                            "`lmforge compress MODEL --to onnx`") from None


def has_onnx_graph(model_dir: Path) -> bool:
    return (model_dir / ONNX_FILE).exists()


class OnnxBackend:
    """An ONNX export in an ONNX Runtime CPU session. ``device`` is accepted and ignored (CPU only); the
    task needs nothing here (the graph computes its outputs), it is accepted like the other backends'."""

    name = "onnx"

    def __init__(self, model_dir: Path, device: str | None = None, threads: int | None = None, task=None):
        model_dir = Path(model_dir)
        self.session = open_session(model_dir / ONNX_FILE, threads)
        config_path = model_dir / "config.json"
        if not config_path.exists():
            raise ArtifactError(f"{model_dir} has {ONNX_FILE} but no config.json (labels); re-export it with "
                                "`lmforge compress MODEL --to onnx`")
        config = json.loads(config_path.read_text())
        id2label = config.get("id2label") or {}
        self.labels = [id2label[str(i)] for i in range(len(id2label))]
        self.max_positions = config.get("max_position_embeddings", 512)
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.device = "cpu"

    accepts_numpy = True  # batches of numpy arrays: predicting with ONNX never imports torch

    def forward(self, batch) -> np.ndarray:
        feed = {name: np.ascontiguousarray(np.asarray(batch[name]), dtype=np.int64) for name in self.input_names
                if name in batch}
        if "token_type_ids" in self.input_names and "token_type_ids" not in feed:
            feed["token_type_ids"] = np.zeros_like(feed["input_ids"])
        return self.session.run(None, feed)[0].astype(np.float32, copy=False)
