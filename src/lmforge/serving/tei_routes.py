"""Text-Embeddings-Inference (TEI) compatible routes, so TEI clients (``huggingface_hub.InferenceClient``,
LangChain's and LlamaIndex's TEI integrations) work unchanged.

``/predict`` (classification) reads TEI's exact input forms::

    "a text"                      one text            → [{"label", "score"}, …]   (all labels, best first)
    ["a text", "another"]         one sentence pair   → [{"label", "score"}, …]
    [["a"], ["b"]]                a batch of texts    → one such list per input
    [["a", "b"], ["c", "d"]]      a batch of pairs
    ["a", "b", "c"]               (three or more strings: a batch of texts, as TEI's untagged enum reads it)

``POST /`` answers what the artifact is for, as TEI does: a classifier predicts (also the Inference API's
``{"inputs", "parameters": {"top_k", "function_to_apply"}}`` shape), an embedding model embeds, or with
``{"inputs": {"source_sentence", "sentences"}}`` gives sentence similarities; a generator is served by the
OpenAI routes instead. ``/embed`` (``normalize``, ``truncate``), ``/rerank`` (cosine for an embedding model,
the positive-class score of a pair classifier), ``/tokenize`` and ``/info`` complete the set.
"""

from __future__ import annotations

import numpy as np
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from lmforge.errors import ServingError
from lmforge.inference.predictor import softmax
from lmforge.serving import access
from lmforge.serving.limits import LimitExceeded, check_texts

Inputs = str | list[str] | list[list[str]]


class TEIInputs(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)
    inputs: Inputs | dict = Field(..., description="a text, a pair [a, b], or a batch [[a], [b]] / [[a, b], ...]")
    raw_scores: bool = False
    truncate: bool = False
    truncation_direction: str | None = None
    normalize: bool = True
    parameters: dict | None = None
    prompt_name: str | None = None


class RerankRequest(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)
    query: str
    texts: list[str]
    raw_scores: bool = False
    return_text: bool = False
    truncate: bool = False
    truncation_direction: str | None = None


class TokenizeRequest(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)
    inputs: str | list[str]
    add_special_tokens: bool = True
    prompt_name: str | None = None


def parse_tei_inputs(inputs) -> tuple[list[str | tuple[str, str]], bool]:
    """TEI's input forms → (items, single): each item a text or a (text, text) pair; ``single`` when the
    answer is one list rather than a list per input."""
    if isinstance(inputs, str):
        return [inputs], True
    if not isinstance(inputs, list) or not inputs:
        raise ServingError("inputs must be a text, a pair [a, b], or a non-empty batch [[a], [b]] / [[a, b], ...]",
                           status=422)
    if all(isinstance(x, str) for x in inputs):
        if len(inputs) == 2:
            return [(inputs[0], inputs[1])], True
        return list(inputs), False
    items: list[str | tuple[str, str]] = []
    for i, x in enumerate(inputs):
        if not isinstance(x, list) or not 1 <= len(x) <= 2 or not all(isinstance(s, str) for s in x):
            raise ServingError(f"inputs[{i}] must be [text] or [text, text] in a batch; got {x!r:.80}", status=422)
        items.append(x[0] if len(x) == 1 else (x[0], x[1]))
    return items, False


def _texts(items) -> list[str]:
    return [s for item in items for s in ((item,) if isinstance(item, str) else item)]


def _scored(logits: np.ndarray, raw: bool, labels: list[str], top_k: int | None = None,
            probabilities=softmax, abstain: dict | None = None) -> list[list[dict]]:
    """TEI's answer per row: {label, score} best first. Below the artifact's abstain threshold the abstain
    label comes first (TEI clients read ``[0]``) with score 1 − the best class's probability, the classes
    after it; raw scores are logits, so they never abstain."""
    values = logits if raw else probabilities(logits)  # the predictor's calibrated softmax (temperature)
    out = []
    for row in values:
        order = np.argsort(-row, kind="stable").tolist()[:top_k or None]
        scored = [{"label": labels[j], "score": float(row[j])} for j in order]
        if abstain and not raw and row.max() < abstain["threshold"]:
            scored = [{"label": abstain["label"], "score": float(1.0 - row.max())}] + scored[:len(scored) - 1
                                                                                             if top_k else None]
        out.append(scored)
    return out


def tei_router(state, classify, classifier: bool = True, embeddings: bool = False) -> APIRouter:
    """TEI's routes for a ``classifier`` (predict, rerank of pairs) and/or ``embeddings`` (embed, similarity,
    rerank by cosine); ``classify(request, items, truncate)`` → (logits, tokens, admission) is the
    classification path of ``app.py``."""
    router = APIRouter(tags=["tei"], responses=access.ERRORS)

    async def predict_items(request: Request, inputs, raw: bool, truncate: bool, top_k: int | None = None):
        items, single = parse_tei_inputs(inputs)
        logits, _, admission = await classify(request, items, truncate)
        out = _scored(logits, raw, state.predictor.labels, top_k, state.predictor.probabilities,
                      state.predictor.abstain)
        return out, single, admission

    async def predict(body: TEIInputs, request: Request):
        """Classify (TEI): one text or pair → a list of {label, score}, best first; a batch → one list each."""
        access.require_ready(state, state.predictor)
        out, single, admission = await predict_items(request, body.inputs, body.raw_scores, body.truncate)
        if getattr(state, "privacy", None) is not None:  # --request-log / --redact-pii
            texts = [str(item) for item in parse_tei_inputs(body.inputs)[0]]
            state.privacy.log(request.scope.get("state", {}).get("request_id"), "/predict", texts,
                              request.scope.get("state", {}).get("redacted_texts"),
                              [o[0]["label"] for o in out])
        return JSONResponse(out[0] if single else out, headers=access.headers(admission))

    async def root(body: TEIInputs, request: Request):
        """What TEI's ``POST /`` does for this model: classify, embed, or sentence similarity."""
        if state.predictor is not None:
            params = body.parameters or {}
            raw = params.get("function_to_apply") == "none" or body.raw_scores
            out, single, admission = await predict_items(request, body.inputs, raw, body.truncate,
                                                         params.get("top_k"))
            # The Inference API answers one list per input even for one text (InferenceClient reads [0]).
            return JSONResponse([out[0]] if single and body.parameters is not None else
                                (out[0] if single else out), headers=access.headers(admission))
        if isinstance(body.inputs, dict):
            return await similarity(body, request)
        return await embed(body, request)

    async def embed_texts(request: Request, texts: list[str], truncate: bool, normalize: bool):
        access.require_ready(state, state.embeddings)
        key = access.authenticate(state, request)
        check_texts(texts, state.config.max_texts, state.config.max_chars, field="inputs")
        encoder = state.embeddings.encoder
        encoded = encoder.tokenize(texts, truncate=True if truncate else False)
        if not truncate:
            for i, ids in enumerate(encoded):
                if len(ids) > encoder.max_length:
                    raise LimitExceeded(f"inputs[{i}] is longer than the model's {encoder.max_length} tokens; send "
                                        "truncate=true to cut it", status=413, limit=encoder.max_length)
        tokens = sum(map(len, encoded))
        admission = await access.admit(state, key, len(texts), tokens)
        try:
            vectors = await state.embeddings.embed(encoded, state.config.timeout_s, normalize)
        except ServingError:
            await access.refund(state, admission, len(texts), tokens)
            raise
        state.metrics.texts.inc(len(texts))
        state.metrics.tokens.inc(tokens)
        return vectors, admission

    async def embed(body: TEIInputs, request: Request):
        """Embeddings (TEI): always a list of vectors, one per input; ``normalize`` (default true), ``truncate``."""
        texts = [body.inputs] if isinstance(body.inputs, str) else body.inputs
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            raise ServingError("inputs must be a text or a list of texts", status=422)
        vectors, admission = await embed_texts(request, texts, body.truncate, body.normalize)
        return JSONResponse(vectors.tolist(), headers=access.headers(admission))

    async def similarity(body: TEIInputs, request: Request):
        source, others = body.inputs.get("source_sentence"), body.inputs.get("sentences")
        if not isinstance(source, str) or not isinstance(others, list) or not others:
            raise ServingError("sentence similarity needs inputs {'source_sentence': text, 'sentences': [texts]}",
                               status=422)
        vectors, admission = await embed_texts(request, [source, *others], True, True)
        return JSONResponse((vectors[1:] @ vectors[0]).tolist(), headers=access.headers(admission))

    async def rerank(body: RerankRequest, request: Request):
        """Texts ordered by relevance to ``query``: [{index, score[, text]}], best first."""
        if state.predictor is not None:
            logits, _, admission = await classify(request, [(body.query, t) for t in body.texts], body.truncate)
            scores = logits[:, -1] if body.raw_scores else (
                1 / (1 + np.exp(-logits[:, 0])) if logits.shape[1] == 1 else state.predictor.probabilities(logits)[:, -1])
        else:
            vectors, admission = await embed_texts(request, [body.query, *body.texts], body.truncate, True)
            scores = vectors[1:] @ vectors[0]
        order = np.argsort(-scores, kind="stable").tolist()
        out = [{"index": i, "score": float(scores[i]), **({"text": body.texts[i]} if body.return_text else {})}
               for i in order]
        return JSONResponse(out, headers=access.headers(admission))

    @router.post("/tokenize")
    async def tokenize(body: TokenizeRequest, request: Request):
        """Tokens of each input: [[{id, text, special, start, stop}]] (TEI's shape)."""
        tokenizer = _tokenizer(state)
        access.authenticate(state, request)
        texts = [body.inputs] if isinstance(body.inputs, str) else body.inputs
        check_texts(texts, state.config.max_texts, state.config.max_chars, field="inputs")
        special = set(tokenizer.all_special_ids)
        out = []
        for text in texts:
            enc = tokenizer(text, add_special_tokens=body.add_special_tokens, return_offsets_mapping=True)
            out.append([{"id": i, "text": text[a:b] if (a, b) != (0, 0) or i not in special
                         else tokenizer.convert_ids_to_tokens(i), "special": i in special, "start": a, "stop": b}
                        for i, (a, b) in zip(enc["input_ids"], enc["offset_mapping"])])
        return out

    async def info():
        """The served model (TEI's /info fields)."""
        card = state.card or {}
        if state.predictor is not None:
            labels = state.predictor.labels
            model_type = {"classifier": {"id2label": dict(enumerate(labels)),
                                         "label2id": {n: i for i, n in enumerate(labels)}}}
            max_input = state.predictor.max_length
        elif state.embeddings is not None and state.generation is None:
            model_type = {"embedding": {"pooling": state.embeddings.encoder.mode}}
            max_input = state.embeddings.encoder.max_length
        elif state.generation is not None:
            model_type = {"generator": {"chat_template": True}}
            max_input = state.generation.engine.max_len
        else:
            model_type, max_input = {}, None
        c = state.config
        return {"model_id": card.get("name", state.model_dir.name), "model_sha": card.get("sha256"),
                "model_dtype": "int8" if c.int8 and state.generation is not None else "float32",
                "model_type": model_type, "max_concurrent_requests": c.max_queue, "max_input_length": max_input,
                "max_batch_tokens": c.max_batch_tokens, "max_batch_requests": c.max_batch_size,
                "max_client_batch_size": c.max_texts, "tokenization_workers": 1, "version": card.get("version"),
                "task": state.task}

    if classifier:
        router.add_api_route("/predict", predict, methods=["POST"], summary="classify (TEI)")
    if classifier or embeddings:
        router.add_api_route("/", root, methods=["POST"], summary="TEI / Inference API root: by the model's task")
        router.add_api_route("/rerank", rerank, methods=["POST"], summary="rerank texts against a query (TEI)")
    if embeddings:
        router.add_api_route("/embed", embed, methods=["POST"], summary="embeddings (TEI)")
    router.add_api_route("/info", info, methods=["GET"], summary="the served model (TEI)")
    return router


def _tokenizer(state):
    access.require_ready(state, state.predictor or state.generation or state.embeddings)
    if state.predictor is not None:
        return state.predictor.tokenizer
    if state.generation is not None:
        return state.generation.engine.tokenizer
    return state.embeddings.encoder.tokenizer
