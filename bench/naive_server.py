"""The baseline `lmforge serve` is measured against: a FastAPI app that calls a transformers `pipeline` per request.

This is what a first server usually looks like: a sync endpoint (FastAPI runs it in its thread pool), one
pipeline call per request, no batching across requests. Same request and response shape as `/v1/classify`.

    python bench/naive_server.py MODEL_DIR --port 8001
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from pydantic import BaseModel  # noqa: E402


class Request(BaseModel):  # module level: FastAPI resolves the (postponed) annotation by name
    texts: list[str]


def build_app(model_dir: str):
    from fastapi import FastAPI
    from transformers import pipeline

    classifier = pipeline("text-classification", model=model_dir, tokenizer=model_dir, device="cpu", top_k=None)
    app = FastAPI()

    @app.get("/ready")
    def ready():
        return {"status": "ready"}

    @app.post("/v1/classify")
    def classify(request: Request):
        results = []
        for scores in classifier(request.texts, truncation=True):
            best = max(scores, key=lambda s: s["score"])
            results.append({"label": best["label"], "score": best["score"],
                            "scores": {s["label"]: s["score"] for s in scores}})
        return {"results": results}

    return app


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("model")
    parser.add_argument("--port", type=int, default=8001)
    args = parser.parse_args()
    uvicorn.run(build_app(args.model), host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
