"""The FastAPI application: routes, error mapping, readiness and shutdown.

    >>> app = create_app("runs/sst2")                 # uvicorn lmforge.serving.app:app_from_environment --factory
    >>> # POST /v1/classify {"texts": ["a gorgeous film"]}  →  {"results": [{"label": "1", "score": 0.98, ...}]}

Routes: ``POST /v1/classify``, ``POST /predict`` (Text-Embeddings-Inference shape), ``GET /health`` (alive),
``GET /ready`` (model loaded, not draining), ``GET /metrics`` (Prometheus), ``GET /v1/model`` (model card),
``GET /`` (playground and model card page), ``/docs`` (OpenAPI).

Errors are JSON ``{"error", "error_type", "request_id"[, "limit"]}``: lmforge's :class:`ServingError` carries its
status; malformed JSON or UTF-8 is 400; a schema mismatch 422; anything unexpected 500 with the request id, and
the server keeps serving.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from lmforge.artifacts import read_manifest
from lmforge.errors import LmforgeError, ServingError
from lmforge.inference.predictor import Predictor
from lmforge.tasks import task_for_artifact
from lmforge.serving import access
from lmforge.serving.batcher import BatchStats, DynamicBatcher
from lmforge.serving.generation_service import (CAUSAL_LM, CLASSIFICATION, EmbeddingService, GenerationService, artifact_task,
                                                load_services)
from lmforge.serving.keys import Admission, KeyStore
from lmforge.serving.limits import LimitExceeded, ServingMiddleware, check_texts, error_body
from lmforge.serving.metrics import ServerMetrics
from lmforge.serving import schemas
from lmforge.serving.schemas import (ClassifyRequest, ClassifyResponse, ErrorResponse, InputsRequest, ModelCard,
                                     TagRequest, TagResponse)
from lmforge.serving.redaction import RequestPrivacy, in_original
from lmforge.serving.settings import ServeConfig

log = logging.getLogger("lmforge.serving")
STATIC = Path(__file__).parent / "static"
CONFIG_ENV, MODEL_ENV = "LMFORGE_SERVE_CONFIG", "LMFORGE_SERVE_MODEL"
OFF_LOOP_CHARS = 20_000  # tokenizing more than this in one request moves to a thread (keeps the loop responsive)
ERRORS = {code: {"model": ErrorResponse} for code in (400, 401, 413, 422, 429, 500, 503)}


@dataclass
class ServingState:
    """What the routes share: the loaded model, the batcher, keys and metrics."""

    model_dir: Path
    config: ServeConfig
    metrics: ServerMetrics
    keys: KeyStore
    predictor: Predictor | None = None
    batcher: DynamicBatcher | None = None
    load_error: str | None = None
    draining: bool = False
    card: dict = field(default_factory=dict)
    task: str = "classification"  # or causal-lm / embedding (serving.generation_service.artifact_task)
    generation: GenerationService | None = None
    embeddings: EmbeddingService | None = None
    privacy: RequestPrivacy = field(default_factory=RequestPrivacy)
    started: float = field(default_factory=time.time)

    @property
    def loaded(self) -> bool:
        return self.batcher is not None or self.generation is not None or self.embeddings is not None

    @property
    def ready(self) -> bool:
        return self.loaded and not self.draining


def create_app(model_dir: str | Path, config: ServeConfig | None = None, *, predictor: Predictor | None = None
               ) -> FastAPI:
    """The server for ``model_dir``. The model loads in the background after start-up (``/ready`` says when);
    pass ``predictor`` to use one already loaded."""
    config = (config or ServeConfig()).validate()
    metrics = ServerMetrics()
    state = ServingState(Path(model_dir), config, metrics, KeyStore(model_dir))
    # What the artifact is for decides its routes (and so its OpenAPI schema): read from files, no model load.
    state.task = CLASSIFICATION if predictor is not None else artifact_task(state.model_dir)
    state.privacy = RequestPrivacy(config.redact_pii, config.request_log, config.pii_kinds, config.pii_region,
                                   counter=metrics.pii_redacted)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        loading = asyncio.create_task(_load(state, predictor))
        try:
            yield
        finally:
            # Uvicorn gets here after in-flight requests finished (SIGTERM: graceful); drain what is queued.
            state.draining = True
            metrics.ready.set(0)
            await loading
            if state.batcher is not None:
                await asyncio.to_thread(state.batcher.stop, config.graceful_timeout_s)
            for service in (state.generation, state.embeddings):
                if service is not None:
                    await asyncio.to_thread(service.stop, config.graceful_timeout_s)
            state.keys.close()

    app = FastAPI(title="lmforge", version=_version(), lifespan=lifespan,
                  description="Text classification served by lmforge. Send the API key as `Authorization: Bearer "
                              "<key>` once keys exist (`lmforge keys create`).")
    app.state.serving = state
    _add_error_handlers(app)
    # an encoder with a head answers its task's route: /v1/classify (softmax classes), /v1/tag, /v1/score, ...
    task = _served_task(state, predictor)
    route = task.serving_route if task is not None else "/v1/classify" if state.task == CLASSIFICATION else None
    _add_routes(app, state, route)
    _add_task_route(app, state, task)
    from lmforge.serving.openai_routes import openai_router
    from lmforge.serving.tei_routes import tei_router

    classifier = route == "/v1/classify"  # TEI's /predict and /rerank read softmax classes too
    embeddings = not classifier and (state.task != CAUSAL_LM or config.embedding_model != "none")
    app.include_router(openai_router(state, generation=state.task == CAUSAL_LM, embeddings=embeddings))
    app.include_router(tei_router(state, lambda request, items, truncate: _infer(request, state, items, truncate),
                                  classifier=classifier, embeddings=embeddings))
    _document_limits(app, config)
    app.add_middleware(ServingMiddleware, max_body_bytes=config.max_body_bytes, metrics=metrics)
    return app


def app_from_environment() -> FastAPI:
    """The factory uvicorn calls in each ``--workers`` process (model and settings come by environment)."""
    model_dir = os.environ.get(MODEL_ENV)
    if not model_dir:
        raise LmforgeError(f"{MODEL_ENV} is not set; start the server with `lmforge serve MODEL_DIR`")
    config = ServeConfig.from_json(os.environ[CONFIG_ENV]) if os.environ.get(CONFIG_ENV) else ServeConfig()
    return create_app(model_dir, config)


def _version() -> str:
    from lmforge.version import __version__

    return __version__


async def _load(state: ServingState, predictor: Predictor | None) -> None:
    config = state.config
    if state.task != CLASSIFICATION:
        await _load_services(state)
        return
    try:
        if predictor is None:
            predictor = await asyncio.to_thread(_load_predictor, state.model_dir, config)
        batcher = DynamicBatcher(predictor.backend.forward, predictor.tokenizer.pad_token_id,
                                 max_batch_tokens=config.max_batch_tokens, max_batch_size=config.max_batch_size,
                                 max_wait_s=config.max_wait_ms / 1000, max_queue=config.max_queue,
                                 on_batch=lambda stats: _observe_batch(state.metrics, stats),
                                 on_queue=state.metrics.queue_depth.set)
        state.card = _model_card(state.model_dir, predictor, config, state.keys)
        state.predictor = predictor
        state.batcher = batcher.start()
        state.metrics.ready.set(1)
        log.info("model %s loaded (%s backend); ready", state.model_dir, predictor.backend.name)
    except Exception as e:  # noqa: BLE001 - reported by /ready, and logged, instead of killing the worker
        state.load_error = f"{type(e).__name__}: {e}"
        log.error("could not load %s: %s", state.model_dir, state.load_error)


async def _load_services(state: ServingState) -> None:
    """A generator (with an embedding model beside it) or an embedding model: see generation_service."""
    try:
        generation, embeddings = await asyncio.to_thread(load_services, state.model_dir, state.task, state.config,
                                                         state.metrics)
        manifest = read_manifest(state.model_dir)
        name = (generation.engine.name if generation else manifest.get("name") or state.model_dir.name)
        state.card = {"name": name, "task": state.task, "labels": [], "metrics": manifest.get("metrics", {}),
                      "route": "/v1/chat/completions" if generation else "/v1/embeddings",
                      "backend": generation.engine.backend if generation else "torch",
                      "max_length": generation.engine.max_len if generation else embeddings.encoder.max_length,
                      "embedding_model": embeddings.encoder.name if embeddings else None,
                      "cost": manifest.get("cost"), "sha256": manifest.get("source", {}).get("sha256"),
                      "limits": {"max_texts": state.config.max_texts, "max_chars": state.config.max_chars,
                                 "max_new_tokens": state.config.max_new_tokens,
                                 "max_body_bytes": state.config.max_body_bytes, "timeout_s": state.config.timeout_s}}
        state.generation, state.embeddings = generation, embeddings
        state.metrics.ready.set(1)
        log.info("%s model %s loaded; ready", state.task, state.model_dir)
    except Exception as e:  # noqa: BLE001 - reported by /ready, and logged, instead of killing the worker
        state.load_error = f"{type(e).__name__}: {e}"
        log.error("could not load %s: %s", state.model_dir, state.load_error)


def _load_predictor(model_dir: Path, config: ServeConfig) -> Predictor:
    from lmforge.threads import configure_threads, usable_cores

    # Each worker gets its share of the cores; intra-op threads beyond that only contend.
    configure_threads(config.threads or max(1, usable_cores() // config.workers))
    return Predictor.load(model_dir, backend=config.backend, max_tokens=config.max_batch_tokens,
                          max_batch=config.max_batch_size)


def _observe_batch(metrics: ServerMetrics, stats: BatchStats) -> None:
    metrics.batch_size.observe(stats.texts)
    metrics.batch_seconds.observe(stats.seconds)
    metrics.texts.inc(stats.texts)
    metrics.tokens.inc(stats.tokens)


def _model_card(model_dir: Path, predictor: Predictor, config: ServeConfig, keys: KeyStore) -> dict:
    """Labels, metrics, confusion matrix and cost from the manifest and the saved evaluations."""
    manifest = read_manifest(model_dir)
    metrics: dict = {}
    dev = manifest.get("metrics", {}).get("dev")
    if dev:
        metrics["dev"] = dev
    confusion, newest = None, -1.0
    for path in sorted(model_dir.glob("eval/*/metrics.json")):
        try:
            evaluation = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        metrics[f"eval/{path.parent.name}"] = {k: evaluation[k] for k in
                                               ("accuracy", "macro_f1", "expected_calibration_error", "f1",
                                                                "conlleval_f1", "spearman", "pearson", "mae", "rmse",
                                                                "examples")
                                               if k in evaluation}
        if "confusion_matrix" in evaluation and path.stat().st_mtime > newest:
            newest = path.stat().st_mtime
            confusion = {**evaluation["confusion_matrix"], "data": evaluation.get("data", path.parent.name)}
    cost = manifest.get("cost")
    if cost is not None:
        cost = {**cost, "wall_s": manifest.get("wall_s"), "hardware": manifest.get("hardware")}
    task = predictor.task
    return {"name": model_dir.name, "task": task.name, "labels": list(predictor.labels),
            "route": task.serving_route or None, "inputs": "pairs" if _reads_pairs(task) else "texts",
            "backend": predictor.backend.name,
            "max_length": predictor.max_length, "metrics": metrics, "confusion_matrix": confusion, "cost": cost,
            "limits": {"max_texts": config.max_texts, "max_chars": config.max_chars,
                       "max_body_bytes": config.max_body_bytes, "timeout_s": config.timeout_s}}


def _document_limits(app: FastAPI, config: ServeConfig) -> None:
    """Put this server's limits (they are settings, not constants) into its OpenAPI schema, so clients and
    the fuzz test know them: texts per request and characters per text."""
    build = app.openapi

    def openapi() -> dict:
        schema = build()  # cached by FastAPI; the updates below are idempotent
        text = {"type": "string", "maxLength": config.max_chars}
        texts = {"type": "array", "items": text, "minItems": 1, "maxItems": config.max_texts}
        components = schema["components"]["schemas"]
        for name in ("ClassifyRequest", "TagRequest"):  # whichever the model's task serves
            if name in components:
                components[name]["properties"]["texts"].update(texts)
        if "TokenizeRequest" in components:  # TEI's /tokenize: a text or a list of texts, same limits
            components["TokenizeRequest"]["properties"]["inputs"]["anyOf"] = [text, texts]
        return schema

    app.openapi = openapi


# --- errors -------------------------------------------------------------------------------------------------

def _request_id(request: Request) -> str | None:
    return request.scope.get("state", {}).get("request_id")


def _error(request: Request, status: int, message: str, error_type: str, headers: dict | None = None,
           limit: int | None = None) -> Response:
    return Response(error_body(message, error_type, _request_id(request), limit), status_code=status,
                    headers=headers, media_type="application/json")


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ServingError)
    async def serving_error(request: Request, exc: ServingError):
        if exc.status >= 500 and exc.status != 503:
            log.error("request %s failed: %s", _request_id(request), getattr(exc, "cause", exc))
        kind = "limit" if isinstance(exc, LimitExceeded) else {401: "unauthorized", 429: "rate_limited",
                                                                 503: "overloaded", 500: "backend"}.get(exc.status,
                                                                                                        "validation")
        return _error(request, exc.status, str(exc), kind, exc.headers, getattr(exc, "limit", None))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            e = next(e for e in errors if e.get("type") == "json_invalid")
            return _error(request, 400, f"the body is not valid JSON ({e.get('ctx', {}).get('error', 'decode error')} "
                                        f"at position {e['loc'][-1]}); send a JSON object", "validation")
        problems = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in errors[:10])
        return _error(request, 422, f"the request does not match the schema (see /docs): {problems}", "validation")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        message = str(exc.detail)
        if exc.status_code == 400:  # FastAPI's "error parsing the body": undecodable bytes
            message = "the body could not be decoded: send UTF-8 encoded JSON"
        return _error(request, exc.status_code, message, "validation" if exc.status_code < 500 else "server",
                      getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception):
        log.exception("request %s failed", _request_id(request))
        return _error(request, 500, f"internal error ({type(exc).__name__}); the server keeps serving; report "
                                    "the request id", "server")


# --- routes -------------------------------------------------------------------------------------------------

def _api_key(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    return request.headers.get("x-api-key")


async def _infer(request: Request, state: ServingState, texts: list[str | tuple[str, str]], truncate: bool = True,
                 requested: int | None = None, redact: bool = True) -> tuple[np.ndarray, int, Admission | None]:
    """(len(texts), num_labels) logits, tokens used, and the key's admission (its headers go on the response).
    An item may be a (text, text) pair (TEI's sentence-pair input). ``requested``: the number of texts the
    request sent, when ``texts`` are windows of them (the caller checked their count); quotas count those.
    ``redact=False``: the caller already applied ``--redact-pii`` (and set what the log gets)."""
    access.require_ready(state, state.batcher)
    config, predictor = state.config, state.predictor
    flat = [s for t in texts for s in ((t,) if isinstance(t, str) else t)]
    if requested is None and len(texts) > config.max_texts:
        check_texts(texts, config.max_texts, config.max_chars)
    requested = len(texts) if requested is None else requested
    check_texts(flat, len(flat), config.max_chars)
    key = None
    if state.keys.keys_exist():
        key = _api_key(request)
        state.keys.authenticate(key)  # 401 before any work is done for an unknown caller
    if redact:
        texts = _redact(request, state, texts)
    encode = _encoder(predictor, truncate)
    encoded = (await asyncio.to_thread(encode, texts) if sum(map(len, flat)) > OFF_LOOP_CHARS
               else encode(texts))
    tokens = sum(map(len, encoded))
    # Admission writes to SQLite (BEGIN IMMEDIATE): in a thread, so another worker holding the write lock for a
    # moment never stalls this event loop.
    admission = await asyncio.to_thread(state.keys.admit, key, requested, tokens) if key is not None else None
    try:
        logits = await state.batcher.submit(encoded, config.timeout_s)
    except ServingError:
        if admission is not None:
            await asyncio.to_thread(state.keys.refund, admission, requested, tokens)
        raise
    if admission is not None:
        state.metrics.key_requests.labels(admission.name).inc()
        state.metrics.key_texts.labels(admission.name).inc(requested)
    return logits, tokens, admission


def _redact(request: Request, state: ServingState, texts: list) -> list:
    """--redact-pii: the texts the model reads (placeholders with "model"); the log's form goes on the request."""
    texts, redacted = state.privacy.for_model(texts)
    request.scope.setdefault("state", {})["redacted_texts"] = redacted
    return texts


def _encode_items(tokenizer, items: list, max_length: int) -> list[list[int]]:
    """Token ids of texts and (text, text) pairs, in order (pairs through the tokenizer's pair template)."""
    singles = [i for i, t in enumerate(items) if isinstance(t, str)]
    pairs = [i for i, t in enumerate(items) if not isinstance(t, str)]
    out: list = [None] * len(items)
    if singles:
        for i, ids in zip(singles, tokenizer([items[i] for i in singles], truncation=True,
                                             max_length=max_length)["input_ids"]):
            out[i] = ids
    if pairs:
        for i, ids in zip(pairs, tokenizer([items[i][0] for i in pairs], [items[i][1] for i in pairs],
                                           truncation=True, max_length=max_length)["input_ids"]):
            out[i] = ids
    return out


def _encoder(predictor: Predictor, truncate: bool):
    if truncate:
        return lambda items: _encode_items(predictor.tokenizer, items, predictor.max_length)
    limit = predictor.max_length

    def encode_strict(texts: list) -> list[list[int]]:
        encoded = _encode_items(predictor.tokenizer, texts, limit + 1)
        for i, ids in enumerate(encoded):
            if len(ids) > limit:
                raise LimitExceeded(f"inputs[{i}] is longer than the model's {limit} tokens; send truncate=true "
                                    "to cut it", status=413, limit=limit)
        return encoded
    return encode_strict


def _add_tag_route(app: FastAPI, state: ServingState) -> None:
    @app.post("/v1/tag", response_model=TagResponse, responses=ERRORS, tags=["predict"])
    async def tag(body: TagRequest, request: Request):
        """Find entities: per text, each entity's type, character offsets (``text[start:end]``) and score. A text
        longer than the model's context is read in overlapping windows."""
        predictor = state.predictor
        check_texts(body.texts, state.config.max_texts, state.config.max_chars)  # the limits count texts, not windows
        texts = _redact(request, state, body.texts)  # before windowing: the windows are of what the model reads
        pieces, join = predictor.task.windows(predictor.tokenizer, texts, predictor.max_length)
        logits, tokens, admission = await _infer(request, state, pieces, requested=len(body.texts), redact=False)
        tagged = join(predictor.task.postprocess(logits, predictor.labels, inputs=pieces, tokenizer=predictor.tokenizer,
                                                 max_length=predictor.max_length))
        if texts is not body.texts:  # the model read placeholders (--redact-pii model): offsets into the text sent
            tagged = [in_original(t, original) for t, original in zip(tagged, body.texts)]
        results = [{"entities": t.to_dict()["entities"]} for t in tagged]
        return JSONResponse({"results": results, "model": state.card["name"], "request_id": _request_id(request),
                             "tokens": tokens}, headers=admission.headers if admission else None)


def _add_task_route(app: FastAPI, state: ServingState, task) -> None:
    """The route of a task other than text classification (``/v1/score`` for regression, ``/v1/classify-pairs``
    for pair classification): ``{"texts": [...]}`` or ``{"pairs": [[a, b], ...]}`` → the task's results."""
    if task is None or task.serving_route in ("/v1/classify", "/v1/tag") or not hasattr(schemas,
                                                                                      task.response_schema):
        return
    pairs = _reads_pairs(task)
    wanted, other = ("pairs", "texts") if pairs else ("texts", "pairs")

    @app.post(task.serving_route, response_model=getattr(schemas, task.response_schema), responses=ERRORS,
              tags=["predict"])
    async def task_route(body: InputsRequest, request: Request):
        inputs = getattr(body, wanted)
        if inputs is None or getattr(body, other) is not None:
            raise ServingError(f"this {task.name} model reads '{wanted}', not '{other}': send "
                               + ('{"pairs": [["first", "second"], ...]}' if pairs else '{"texts": ["...", ...]}'),
                               status=422)
        if not inputs:
            check_texts([], state.config.max_texts, state.config.max_chars, field=wanted)  # 422: empty
        logits, tokens, admission = await _infer(request, state, [tuple(x) for x in inputs] if pairs else inputs)
        results = state.predictor.task.results(logits, state.predictor.labels)
        return JSONResponse({"results": results, "model": state.card["name"], "request_id": _request_id(request),
                             "tokens": tokens}, headers=admission.headers if admission else None)


def _reads_pairs(task) -> bool:
    """Whether ``task``'s route reads ``[first, second]`` pairs (the sentence-pair tasks) instead of texts."""
    return task.name.startswith("pair-")


def _served_task(state: ServingState, predictor: Predictor | None):
    """The task of an encoder with a head, read once (None for generation / embeddings, or for an unknown task:
    that artifact keeps /v1/classify, where /ready reports the load error)."""
    if state.task != CLASSIFICATION:
        return None
    try:
        return predictor.task if predictor is not None else task_for_artifact(state.model_dir)
    except LmforgeError:
        return None


def _add_routes(app: FastAPI, state: ServingState, route: str | None) -> None:
    if route == "/v1/tag":
        _add_tag_route(app, state)
    elif route == "/v1/classify":
        _add_classify_route(app, state)
    _add_operation_routes(app, state)


def _add_classify_route(app: FastAPI, state: ServingState) -> None:
    @app.post("/v1/classify", response_model=ClassifyResponse, responses=ERRORS, tags=["predict"])
    async def classify(body: ClassifyRequest, request: Request):
        """Classify texts: the most probable label, its probability and every class's, per text, in order."""
        logits, tokens, admission = await _infer(request, state, body.texts)
        results = state.predictor.results(logits)  # temperature and abstain applied
        state.privacy.log(_request_id(request), "/v1/classify", body.texts,
                          request.scope["state"].get("redacted_texts"), [r.get("label") for r in results])
        return JSONResponse({"results": results, "model": state.card["name"], "request_id": _request_id(request),
                             "tokens": tokens}, headers=admission.headers if admission else None)


def _add_operation_routes(app: FastAPI, state: ServingState) -> None:
    @app.get("/health", tags=["operations"])
    async def health():
        """The process is alive (use for liveness probes)."""
        return {"status": "ok"}

    @app.get("/ready", tags=["operations"], responses={503: {"model": ErrorResponse}})
    async def ready(request: Request):
        """The model is loaded and the server takes requests (use for readiness probes and load balancers)."""
        if state.ready:
            return {"status": "ready", "model": state.card["name"], "backend": state.card["backend"]}
        reason = state.load_error or ("shutting down" if state.draining else "loading the model")
        return _error(request, 503, f"not ready: {reason}", "overloaded", {"Retry-After": "1"})

    @app.get("/metrics", tags=["operations"], response_class=Response)
    async def prometheus_metrics():
        """Prometheus text format: requests, latency, batch sizes, queue depth, texts, tokens, per-key counts."""
        body, content_type = state.metrics.exposition()
        return Response(body, media_type=content_type)

    @app.get("/v1/model", response_model=ModelCard, tags=["model"], responses={503: {"model": ErrorResponse}})
    async def model_card(request: Request):
        """Labels, evaluation metrics, confusion matrix and cost of the served model, and the request limits."""
        if not state.card:
            return _error(request, 503, "the model is not loaded yet; retry shortly", "overloaded",
                          {"Retry-After": "1"})
        return {**state.card, "auth_required": state.keys.keys_exist()}

    page = (STATIC / "index.html").read_text()

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def index():
        return HTMLResponse(page)

    if state.task == CAUSAL_LM:
        chat_page = (STATIC / "chat.html").read_text()

        @app.get("/chat", response_class=HTMLResponse, include_in_schema=False)
        async def chat():
            return HTMLResponse(chat_page)

    @app.get("/static/{name}", include_in_schema=False)
    async def static(name: str, request: Request):
        types = {"app.js": "text/javascript", "style.css": "text/css", "chat.js": "text/javascript"}
        if name not in types:
            return _error(request, 404, f"no static file '{name}'", "validation")
        return Response((STATIC / name).read_bytes(), media_type=types[name])
