"""Settings of the server, one typed dataclass; ``lmforge serve`` builds its flags from it."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

from lmforge.config import setting
from lmforge.errors import ConfigError


@dataclass
class ServeConfig:
    """Everything that decides how the server behaves. Limits are per request unless said otherwise."""

    host: str = setting("127.0.0.1", "interface to listen on (other than loopback needs API keys, or "
                                     "--allow-public)")
    port: int = setting(8000, "TCP port")
    workers: int = setting(1, "server processes; each loads the model and batches on its own")
    backend: str = setting("auto", "inference backend: auto (ONNX when the artifact has an export), torch, onnx")
    threads: int | None = setting(None, "torch threads per worker (default: cores / workers)")
    max_batch_tokens: int = setting(4096, "padded tokens per forward pass (the dynamic batch's budget)")
    max_batch_size: int = setting(64, "texts per forward pass")
    max_wait_ms: float = setting(2.0, "longest a request waits for others to share its batch, in ms")
    max_queue: int = setting(2048, "texts waiting for inference before new requests get 503 + Retry-After")
    max_texts: int = setting(256, "texts per request (more: 413)")
    max_chars: int = setting(10000, "characters per text (more: 422)")
    max_body_bytes: int = setting(1_048_576, "request body size in bytes (more: 413)")
    timeout_s: float = setting(30.0, "deadline of a request, queueing included (past it: 503)")
    allow_public: bool = setting(False, "listen on a non-loopback interface even without API keys "
                                        "(anyone who reaches it can use the model)")
    access_log: bool = setting(False, "log every request to stdout (the metrics count them either way)")
    graceful_timeout_s: float = setting(30.0, "on SIGTERM, how long in-flight requests get to finish")
    # generation (causal-LM artifacts) and embeddings
    gen_slots: int = setting(8, "generations decoded together (continuous batching); more wait in the queue")
    max_context: int = setting(2048, "tokens per generation, prompt included (the KV cache's length)")
    max_new_tokens: int = setting(1024, "largest max_tokens a request may ask for (more: 422)")
    int8: bool = setting(False, "decode with int8 weights (faster on CPU, slightly worse text: bench/RESULTS.md)")
    embedding_model: str | None = setting(None, "sentence-transformers directory for /v1/embeddings and /embed "
                                                "beside a generator (default: the bundled all-MiniLM-L6-v2; "
                                                "'none': no embeddings)")
    redact_pii: str = setting("off", "redact personal data in request texts: logs (the request log gets "
                                     "placeholders; a bare --redact-pii), model (the model reads them too) or off",
                              choices=("off", "logs", "model"))
    request_log: str | None = setting(None, "append each request's texts and labels to this JSONL file "
                                            "(redacted with --redact-pii)")
    pii_kinds: str | None = setting(None, "comma-separated kinds --redact-pii looks for (default: all)")
    pii_region: str = setting("US", "country whose national phone formats --redact-pii accepts (Chinese "
                                    "text is always checked for mainland numbers)")

    def validate(self) -> ServeConfig:
        problems = []
        for name in ("gen_slots", "max_context", "max_new_tokens", "workers", "max_batch_tokens", "max_batch_size", "max_queue", "max_texts", "max_chars",
                     "max_body_bytes"):
            if getattr(self, name) < 1:
                problems.append(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("max_wait_ms", "graceful_timeout_s"):
            if getattr(self, name) < 0:
                problems.append(f"{name} must not be negative, got {getattr(self, name)}")
        if self.timeout_s <= 0:
            problems.append(f"timeout_s must be positive, got {self.timeout_s}")
        if not 0 <= self.port < 65536:
            problems.append(f"port must be in 0..65535, got {self.port}")
        if self.redact_pii not in ("off", "logs", "model"):
            problems.append(f"redact_pii must be off, logs or model, got '{self.redact_pii}'")
        if self.threads is not None and self.threads < 1:
            problems.append(f"threads must be at least 1, got {self.threads}")
        if problems:
            raise ConfigError(problems)
        return self

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ServeConfig:
        return cls(**json.loads(text))
