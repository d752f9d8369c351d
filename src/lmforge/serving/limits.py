"""Request limits and the outer ASGI layer: request ids, body-size limit, per-route metrics.

The middleware sits outside FastAPI, so it sees every request, including the ones FastAPI rejects: it gives
each request an id (``X-Request-ID``: the client's if it is a sane one, else a new one), buffers the body up to
``max_body_bytes`` (more: 413 before any parsing), and counts every response by route and status.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Sequence

from lmforge.errors import ServingError

REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
KNOWN_ROUTES = frozenset({"/v1/classify", "/predict", "/health", "/ready", "/metrics", "/v1/model", "/", "/docs",
                          "/openapi.json", "/static/app.js", "/static/style.css",
                          # generation, embeddings, TEI (openai_routes.py, tei_routes.py)
                          "/v1/models", "/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/embed",
                          "/rerank", "/tokenize", "/info", "/chat", "/static/chat.js"})


class LimitExceeded(ServingError):
    """A request over one of the server's limits; ``limit`` is the number it went over."""

    def __init__(self, message: str, status: int, limit: int):
        super().__init__(message, status=status)
        self.limit = limit


def check_texts(texts: Sequence[str], max_texts: int, max_chars: int, field: str = "texts") -> None:
    """413 for too many texts, 422 for an empty list, a text too long or one that is not valid Unicode."""
    if len(texts) > max_texts:
        raise LimitExceeded(f"{len(texts)} texts in one request; the limit is {max_texts}: split the request",
                            status=413, limit=max_texts)
    if not texts:
        raise LimitExceeded(f"'{field}' is empty; send at least one text", status=422, limit=max_texts)
    for i, text in enumerate(texts):
        if len(text) > max_chars:
            raise LimitExceeded(f"{field}[{i}] has {len(text)} characters; the limit is {max_chars}: shorten it "
                                "(the model reads only its first few hundred tokens anyway)", status=422,
                                limit=max_chars)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # JSON escapes can carry lone surrogates, which are not text
            raise ServingError(f"{field}[{i}] is not valid Unicode (it holds a lone surrogate escape such as "
                               "\\ud800); send UTF-8 text", status=422) from None


def error_body(message: str, error_type: str, request_id: str | None, limit: int | None = None) -> bytes:
    body = {"error": message, "error_type": error_type, "request_id": request_id}
    if limit is not None:
        body["limit"] = limit
    return json.dumps(body).encode()


class ServingMiddleware:
    """Pure ASGI middleware (no per-request task or body copy beyond the one buffer)."""

    def __init__(self, app, max_body_bytes: int, metrics):
        self.app, self.max_body_bytes, self.metrics = app, max_body_bytes, metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        headers = dict(scope.get("headers") or [])
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = given if REQUEST_ID.match(given) else uuid.uuid4().hex[:16]
        scope.setdefault("state", {})["request_id"] = request_id
        route = scope["path"] if scope["path"] in KNOWN_ROUTES else "other"
        status = 500

        async def send_with_id(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            body = await self._read_body(headers, receive)
            if body is None:
                await self._reject_body(send_with_id, request_id)
                return
            replayed = False

            async def replay():
                nonlocal replayed
                if not replayed:
                    replayed = True
                    return {"type": "http.request", "body": body, "more_body": False}
                return await receive()  # after the body: wait for the disconnect

            await self.app(scope, replay, send_with_id)
        finally:
            self.metrics.requests.labels(route, str(status)).inc()
            self.metrics.latency.labels(route).observe(time.perf_counter() - started)

    async def _read_body(self, headers, receive) -> bytes | None:
        """The whole body, or None when it is over the limit (by Content-Length or by counting)."""
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            return None
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    async def _reject_body(self, send, request_id: str) -> None:
        body = error_body(f"the request body is larger than {self.max_body_bytes} bytes; send fewer or shorter "
                          "texts per request", "limit", request_id, self.max_body_bytes)
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})
