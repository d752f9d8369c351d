"""OpenAI-compatible routes: ``/v1/models``, ``/v1/chat/completions``, ``/v1/completions``, ``/v1/embeddings``.

The official ``openai`` Python package works unchanged (tested against a real server)::

    client = openai.OpenAI(base_url="http://127.0.0.1:8000/v1", api_key="lmf_…")   # any key when none exist
    client.chat.completions.create(model="smollm2", messages=[...], stream=True, max_tokens=64)
    client.embeddings.create(model="all-MiniLM-L6-v2", input=["a", "b"])    # base64 by default, decoded by the SDK

Supported: ``stream`` (server-sent events ending with ``data: [DONE]``; ``stream_options.include_usage``),
``max_tokens`` / ``max_completion_tokens``, ``temperature``, ``top_p``, ``stop``, ``n``, ``seed``, ``usage``, and
lmforge's ``top_k`` / ``repetition_penalty``; ``encoding_format`` float or base64. Other OpenAI fields are
accepted and ignored. The ``model`` field is not used for routing: one server serves one generator (and its
embedding model).
"""

from __future__ import annotations

import base64
import json
import time
import uuid

import numpy as np
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from lmforge.errors import ConfigError, ServingError
from lmforge.serving import access
from lmforge.serving.limits import LimitExceeded, check_texts


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)
    model: str | None = None
    messages: list[dict] = Field(..., description="[{'role': 'system'|'user'|'assistant', 'content': ...}, ...]")
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, gt=0, le=1)
    top_k: int | None = Field(None, ge=0)
    repetition_penalty: float | None = Field(None, gt=0)
    stop: str | list[str] | None = None
    n: int = Field(1, ge=1, le=16)
    seed: int | None = None
    stream: bool = False
    stream_options: dict | None = None
    ignore_eos: bool = Field(False, description="keep generating past EOS (vLLM's extension; benchmarks)")


class CompletionRequest(ChatRequest):
    messages: list[dict] | None = None  # type: ignore[assignment]
    prompt: str | list[str] = Field(..., description="a prompt, or a list of prompts")


class EmbeddingRequest(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)
    model: str | None = None
    input: str | list[str] | list[int] | list[list[int]]
    encoding_format: str = Field("float", pattern="^(float|base64)$")
    dimensions: int | None = None


def _sampling(state, body: ChatRequest):
    from lmforge.generation.sampling import SamplingParams

    max_tokens = body.max_completion_tokens or body.max_tokens or min(256, state.config.max_new_tokens)
    if max_tokens > state.config.max_new_tokens:
        raise LimitExceeded(f"max_tokens is {max_tokens}; this server allows at most {state.config.max_new_tokens}",
                            status=422, limit=state.config.max_new_tokens)
    stop = [body.stop] if isinstance(body.stop, str) else list(body.stop or [])
    if len(stop) > 4 or any(not s for s in stop):
        raise ServingError("stop: up to 4 non-empty strings", status=422)
    # OpenAI's default temperature is 1; lmforge keeps it (send 0 for greedy, reproducible text).
    return SamplingParams(max_tokens=max_tokens, temperature=1.0 if body.temperature is None else body.temperature,
                          top_p=body.top_p or 1.0, top_k=body.top_k or 0,
                          repetition_penalty=body.repetition_penalty or 1.0, stop=stop, seed=body.seed,
                          ignore_eos=body.ignore_eos)


def _choice_params(params, n: int):
    from dataclasses import replace

    return [replace(params, seed=None if params.seed is None else params.seed + i) for i in range(n)]


def _sse(payload: dict | str) -> bytes:
    return f"data: {payload if isinstance(payload, str) else json.dumps(payload)}\n\n".encode()


def openai_router(state, generation: bool = True, embeddings: bool = True) -> APIRouter:
    """The routes of what this server serves: ``generation`` (models, chat, completions), ``embeddings``."""
    router = APIRouter(tags=["openai"], responses=access.ERRORS)
    if generation or embeddings:
        _models_route(router, state)
    if generation:
        _generation_routes(router, state)
    if embeddings:
        _embedding_routes(router, state)
    return router


def _models_route(router: APIRouter, state) -> None:

    @router.get("/v1/models")
    async def models():
        """The served models (OpenAI's list shape): the generator and the embedding model."""
        created = int(state.started)
        data = []
        if state.generation is not None:
            data.append({"id": state.generation.engine.name, "object": "model", "created": created,
                         "owned_by": "lmforge"})
        if state.embeddings is not None:
            data.append({"id": state.embeddings.encoder.name, "object": "model", "created": created,
                         "owned_by": "lmforge"})
        return {"object": "list", "data": data}


def _generation_routes(router: APIRouter, state) -> None:
    @router.post("/v1/chat/completions")
    async def chat_completions(body: ChatRequest, request: Request):
        """Chat with the model through its chat template (OpenAI's shape; ``stream: true`` for SSE)."""
        access.require_ready(state, state.generation)
        key = access.authenticate(state, request)
        engine = state.generation.engine
        try:
            contents = [m.get("content") if isinstance(m.get("content"), str) else json.dumps(m.get("content"))
                        for m in body.messages]
            check_texts(contents, state.config.max_texts, state.config.max_chars, field="messages")
            prompt = engine.chat_ids(body.messages)
        except ConfigError as e:
            raise ServingError(str(e), status=422) from None
        return await _complete(request, key, [prompt], body, chat=True)

    @router.post("/v1/completions")
    async def completions(body: CompletionRequest, request: Request):
        """Plain text completion of ``prompt`` (no chat template)."""
        access.require_ready(state, state.generation)
        key = access.authenticate(state, request)
        prompts = [body.prompt] if isinstance(body.prompt, str) else list(body.prompt)
        check_texts(prompts, state.config.max_texts, state.config.max_chars, field="prompt")
        return await _complete(request, key, [state.generation.engine.prompt_ids(p) for p in prompts], body,
                               chat=False)

    async def _complete(request: Request, key, prompts: list[list[int]], body: ChatRequest, chat: bool):
        params = _sampling(state, body)
        engine = state.generation.engine
        for prompt in prompts:
            if len(prompt) >= engine.max_len - 1:
                raise LimitExceeded(f"the prompt has {len(prompt)} tokens; the context holds {engine.max_len}",
                                    status=413, limit=engine.max_len)
        jobs = [(i * body.n + j, prompt, p) for i, prompt in enumerate(prompts)
                for j, p in enumerate(_choice_params(params, body.n))]
        prompt_tokens = sum(len(p) for p in prompts)
        admission = await access.admit(state, key, len(jobs), prompt_tokens)
        ident = f"{'chatcmpl' if chat else 'cmpl'}-{uuid.uuid4().hex[:24]}"
        meta = {"id": ident, "object": "chat.completion.chunk" if chat else "text_completion",
                "created": int(time.time()), "model": engine.name}
        if body.stream:
            include_usage = bool((body.stream_options or {}).get("include_usage"))
            stream = _stream_events(request, jobs, meta, chat, include_usage, admission)
            return StreamingResponse(stream, media_type="text/event-stream", headers={
                **(access.headers(admission) or {}), "Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        texts, reasons, completion_tokens = {}, {}, 0
        try:
            import asyncio

            async def run(index, prompt, p):
                nonlocal completion_tokens
                parts = []
                async for chunk in state.generation.stream(prompt, p, request):
                    parts.append(chunk.text)
                    completion_tokens += chunk.token is not None and not chunk.eos
                    reasons[index] = chunk.finish_reason
                texts[index] = "".join(parts)

            await asyncio.gather(*(run(*job) for job in jobs))
        except ServingError:
            await access.refund(state, admission, len(jobs), prompt_tokens)
            raise
        await access.record_tokens(state, admission, completion_tokens)
        choices = []
        for index, _, _ in jobs:
            choice = {"index": index, "finish_reason": reasons.get(index) or "stop", "logprobs": None}
            if chat:
                choice["message"] = {"role": "assistant", "content": texts.get(index, "")}
            else:
                choice["text"] = texts.get(index, "")
            choices.append(choice)
        billed = sum(len(job[1]) for job in jobs)  # each choice's prompt counts, as OpenAI bills n > 1
        usage = {"prompt_tokens": billed, "completion_tokens": completion_tokens,
                 "total_tokens": billed + completion_tokens}
        return JSONResponse({**meta, "object": "chat.completion" if chat else "text_completion", "choices": choices,
                             "usage": usage}, headers=access.headers(admission))

    async def _stream_events(request, jobs, meta, chat, include_usage, admission):
        import asyncio

        queue: asyncio.Queue = asyncio.Queue()
        completion_tokens = 0

        async def run(index, prompt, p):
            try:
                async for chunk in state.generation.stream(prompt, p, request):
                    await queue.put((index, chunk))
            except Exception as e:  # noqa: BLE001 - reported in the stream, the other choices go on
                await queue.put((index, e))
            finally:
                await queue.put((index, None))

        tasks = [asyncio.create_task(run(*job)) for job in jobs]
        try:
            if chat:
                for index, _, _ in jobs:
                    yield _sse({**meta, "choices": [{"index": index, "delta": {"role": "assistant", "content": ""},
                                                     "finish_reason": None, "logprobs": None}]})
            open_jobs = len(jobs)
            while open_jobs:
                index, item = await queue.get()
                if item is None:
                    open_jobs -= 1
                    continue
                if isinstance(item, BaseException):
                    yield _sse({"error": {"message": str(item), "type": "server_error"}})
                    continue
                completion_tokens += item.token is not None and not item.eos
                if not item.text and item.finish_reason is None:
                    continue
                delta = {"delta": {"content": item.text} if item.text else {}} if chat else {"text": item.text}
                yield _sse({**meta, "choices": [{"index": index, **delta, "finish_reason": item.finish_reason,
                                                 "logprobs": None}]})
            if include_usage:
                billed = sum(len(job[1]) for job in jobs)  # each choice's prompt counts
                usage = {"prompt_tokens": billed, "completion_tokens": completion_tokens,
                         "total_tokens": billed + completion_tokens}
                yield _sse({**meta, "choices": [], "usage": usage})
            yield _sse("[DONE]")
        finally:
            for task in tasks:  # the client went away (or we are done): free the slots now
                task.cancel()
            await access.record_tokens(state, admission, completion_tokens)


def _embedding_routes(router: APIRouter, state) -> None:
    @router.post("/v1/embeddings")
    async def embeddings(body: EmbeddingRequest, request: Request):
        """Sentence embeddings (the model's own pooling and normalisation); ``encoding_format`` float or base64
        (little-endian float32, as OpenAI sends)."""
        access.require_ready(state, state.embeddings)
        key = access.authenticate(state, request)
        encoder = state.embeddings.encoder
        inputs = body.input
        if isinstance(inputs, str):
            inputs = [inputs]
        if inputs and all(isinstance(x, int) for x in inputs):
            inputs = [inputs]
        if inputs and isinstance(inputs[0], list):  # token ids
            encoded = [list(x)[:encoder.max_length] for x in inputs]
            check_texts(["x"] * len(encoded), state.config.max_texts, state.config.max_chars, field="input")
        else:
            check_texts(inputs, state.config.max_texts, state.config.max_chars, field="input")
            encoded = encoder.tokenize(inputs)
        tokens = sum(map(len, encoded))
        admission = await access.admit(state, key, len(encoded), tokens)
        try:
            vectors = await state.embeddings.embed(encoded, state.config.timeout_s, normalize=encoder.normalize)
        except ServingError:
            await access.refund(state, admission, len(encoded), tokens)
            raise
        if body.dimensions:
            vectors = vectors[:, :body.dimensions]
        data = [{"object": "embedding", "index": i,
                 "embedding": (base64.b64encode(v.astype("<f4").tobytes()).decode() if body.encoding_format == "base64"
                               else v.tolist())} for i, v in enumerate(np.asarray(vectors))]
        state.metrics.texts.inc(len(encoded))
        state.metrics.tokens.inc(tokens)
        return JSONResponse({"object": "list", "data": data, "model": encoder.name,
                             "usage": {"prompt_tokens": tokens, "total_tokens": tokens}},
                            headers=access.headers(admission))
