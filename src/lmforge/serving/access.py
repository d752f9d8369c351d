"""What every prediction route does before any work: readiness, the API key, limits, admission.

Shared by the classification routes (``app.py``) and the generation, embedding and TEI routers, so keys,
quotas and usage records mean the same everywhere: a quota counts texts (prompts, choices or inputs) per UTC
day, and the usage table records tokens (prompt plus completion for generation) for billing.
"""

from __future__ import annotations

import asyncio

from fastapi import Request

from lmforge.errors import ServingError
from lmforge.serving.keys import Admission
from lmforge.serving.schemas import ErrorResponse

ERRORS = {code: {"model": ErrorResponse} for code in (400, 401, 404, 413, 422, 429, 500, 503)}


def api_key(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    return request.headers.get("x-api-key")


def require_ready(state, service) -> None:
    """503 + Retry-After while loading, after a failed load or while draining; 404-like 400 when this
    artifact does not serve the route at all."""
    if state.draining:
        raise ServingError("the server is shutting down; retry shortly", status=503, headers={"Retry-After": "1"})
    if state.load_error:
        raise ServingError(f"the model could not be loaded ({state.load_error})", status=503,
                           headers={"Retry-After": "30"})
    if not state.loaded:
        raise ServingError("the server is loading the model; retry shortly", status=503, headers={"Retry-After": "1"})
    if service is None:
        raise ServingError(f"this server's model ({state.card.get('name')}, task {state.task}) does not serve this "
                           "route; see GET /v1/model for what it serves", status=404)


def authenticate(state, request: Request) -> str | None:
    """The caller's key (checked: 401 before any work), or None when the server has no keys."""
    if not state.keys.keys_exist():
        return None
    key = api_key(request)
    state.keys.authenticate(key)
    return key


async def admit(state, key: str | None, texts: int, tokens: int) -> Admission | None:
    if key is None:
        return None
    admission = await asyncio.to_thread(state.keys.admit, key, texts, tokens)
    state.metrics.key_requests.labels(admission.name).inc()
    state.metrics.key_texts.labels(admission.name).inc(texts)
    return admission


async def record_tokens(state, admission: Admission | None, tokens: int) -> None:
    """Add tokens known only after the work (a generation's completion) to the key's usage."""
    if admission is not None and tokens:
        await asyncio.to_thread(state.keys.add_tokens, admission, tokens)


async def refund(state, admission: Admission | None, texts: int, tokens: int) -> None:
    if admission is not None:
        await asyncio.to_thread(state.keys.refund, admission, texts, tokens)


def headers(admission: Admission | None) -> dict | None:
    return admission.headers if admission else None
