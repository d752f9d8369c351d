"""Running the server: checks before binding, then uvicorn with one or several worker processes.

With ``--workers N`` uvicorn starts N processes sharing the port; each loads the model and batches on its own
(the keys database is shared through SQLite's WAL, the metrics through prometheus' multi-process files).
SIGTERM stops accepting connections, lets in-flight requests finish (``graceful_timeout_s``) and exits.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import tempfile
from pathlib import Path

from lmforge.errors import ArtifactError, ConfigError, missing_extra
from lmforge.serving.settings import ServeConfig


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: only "localhost" is known to stay on this machine
        return False


def check_can_serve(model_dir: Path, config: ServeConfig) -> None:
    """Refuse to start, with the reason, rather than start a server that cannot work or is open to all."""
    from lmforge.inference.backends import runnable_backends
    from lmforge.serving.keys import KeyStore

    config.validate()
    if not model_dir.is_dir():
        raise ArtifactError(f"{model_dir} is not a directory; pass the output directory of `lmforge finetune`")
    if not runnable_backends(model_dir):
        raise ArtifactError(f"{model_dir} holds no model lmforge can serve (config.json with model.safetensors, "
                            "or an ONNX export); pass the output directory of `lmforge finetune` or `compress`")
    if not is_loopback(config.host) and not KeyStore(model_dir).keys_exist() and not config.allow_public:
        raise ConfigError(f"refusing to listen on {config.host} without API keys: anyone who reaches it could use "
                          f"the model. Create a key first (`lmforge keys create {model_dir} --name NAME`), or pass "
                          "--allow-public if the network in front of it does the access control")


def serve(model_dir: str | Path, config: ServeConfig | None = None) -> None:
    """Run the server in the foreground until SIGINT/SIGTERM."""
    try:
        import uvicorn
    except ImportError:
        raise missing_extra("lmforge serve", "serve", "uvicorn") from None
    from lmforge.serving.app import CONFIG_ENV, MODEL_ENV, create_app

    model_dir = Path(model_dir).resolve()
    config = config or ServeConfig()
    check_can_serve(model_dir, config)
    options = dict(host=config.host, port=config.port, access_log=config.access_log,
                   timeout_graceful_shutdown=config.graceful_timeout_s, log_level="info")
    if config.workers == 1:
        uvicorn.run(create_app(model_dir, config), **options)
        return
    metrics_dir = tempfile.mkdtemp(prefix="lmforge-metrics-")
    os.environ.update({MODEL_ENV: str(model_dir), CONFIG_ENV: config.to_json(), "PROMETHEUS_MULTIPROC_DIR": metrics_dir})
    try:
        uvicorn.run("lmforge.serving.app:app_from_environment", factory=True, workers=config.workers, **options)
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)
