"""Request and response models: what the OpenAPI schema at ``/docs`` shows and what the fuzz test exercises.

``/v1/classify`` is lmforge's own shape; ``/predict`` follows Text-Embeddings-Inference (TEI) so its clients
work unchanged: ``{"inputs": "text" | ["text", ...], "raw_scores": false, "truncate": false}`` answered by
``[{"label": ..., "score": ...}, ...]`` (all labels, best first) per input.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ClassifyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    texts: list[str] = Field(..., description="texts to classify (limits: see GET /v1/model → limits)",
                             examples=[["a gorgeous, witty film", "a waste of two hours"]])


class ClassifyResult(BaseModel):
    label: str = Field(..., description="the most probable class")
    score: float = Field(..., description="its probability")
    scores: dict[str, float] = Field(..., description="probability of every class")


class ClassifyResponse(BaseModel):
    results: list[ClassifyResult]
    model: str
    request_id: str
    tokens: int = Field(..., description="tokens processed (after truncation)")


class TagRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    texts: list[str] = Field(..., description="texts to find entities in (limits: see GET /v1/model → limits)",
                             examples=[["Peter Blackburn met the EU delegation in Brussels"]])


class TaggedEntity(BaseModel):
    type: str = Field(..., description="the entity type, e.g. PER")
    start: int = Field(..., description="offset of its first character in the text")
    end: int = Field(..., description="offset after its last character: text[start:end] is the entity")
    text: str
    score: float = Field(..., description="mean probability of its words' tags")


class TagResult(BaseModel):
    entities: list[TaggedEntity]


class TagResponse(BaseModel):
    results: list[TagResult]
    model: str
    request_id: str
    tokens: int = Field(..., description="tokens processed (after truncation)")


class TEIPredictRequest(BaseModel):
    """Text-Embeddings-Inference's ``/predict`` request (sentence pairs are not supported by lmforge models)."""

    inputs: str | list[str] = Field(..., description="one text or a list of texts")
    raw_scores: bool = Field(False, description="return logits instead of probabilities")
    truncate: bool = Field(False, description="truncate texts past the model's length (else 413)")
    truncation_direction: str | None = Field(None, description="accepted for compatibility; only 'Right'")


class TEIPrediction(BaseModel):
    label: str
    score: float


class ErrorResponse(BaseModel):
    """Every error: what went wrong and what to do (TEI's shape plus the request id)."""

    error: str
    error_type: str
    request_id: str | None = None
    limit: int | None = None


class ModelCard(BaseModel):
    name: str
    task: str = Field("text-classification", description="what the model predicts (lmforge.tasks)")
    labels: list[str]
    route: str | None = Field(None, description="the route that serves this model's predictions, e.g. /v1/tag")
    inputs: str = Field("texts", description="what that route reads: 'texts', or 'pairs' for a sentence-pair model")
    backend: str
    max_length: int
    metrics: dict = Field(default_factory=dict, description="dev metrics from training, and evaluations")
    confusion_matrix: dict | None = None
    cost: dict | None = None
    limits: dict
    auth_required: bool
    embedding_model: str | None = Field(None, description="the model behind /v1/embeddings and /embed")


# --- regression and sentence-pair tasks (lmforge.tasks.regression, lmforge.tasks.sentence_pairs) -------------

class InputsRequest(BaseModel):
    """Texts for a single-text model, or ``[first, second]`` pairs for a sentence-pair (cross-encoder) model."""

    model_config = ConfigDict(extra="forbid")
    texts: list[str] | None = Field(None, description="texts (single-text models)", examples=[["a gorgeous film"]])
    pairs: list[tuple[str, str]] | None = Field(None, description="[first, second] text pairs (sentence-pair models)",
                                                examples=[[["A plane is taking off.", "An air plane is taking off."]]])


class ScoreResult(BaseModel):
    score: float = Field(..., description="the predicted number")


class ScoreResponse(BaseModel):
    results: list[ScoreResult]
    model: str
    request_id: str
    tokens: int = Field(..., description="tokens processed (after truncation)")


# --- multi-label classification (lmforge.tasks.multi_label) ------------------------------------------------

class MultiLabelResult(BaseModel):
    labels: list[str] = Field(..., description="the labels whose score passes their dev-tuned threshold, best "
                                               "first (the top label when none passes, if the model says so)")
    scores: dict[str, float] = Field(..., description="every label's sigmoid score")


class MultiLabelResponse(BaseModel):
    results: list[MultiLabelResult]
    model: str
    request_id: str
    tokens: int = Field(..., description="tokens processed (after truncation)")
