"""``lmforge.Client``: call an ``lmforge serve`` server from Python.

    >>> client = lmforge.Client("http://127.0.0.1:8000", api_key="lmf_…")
    >>> client.classify(["a gorgeous film", "a waste of time"])
    [Prediction(label='1', score=0.98, scores={...}), Prediction(label='0', score=0.97, scores={...})]

Errors come back as :class:`lmforge.ServingError` with the server's status, message and headers (a 429
carries ``Retry-After``). ``retries`` re-sends a request refused with 429 or 503, waiting what the server asks.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from lmforge.errors import ServingError, missing_extra
from lmforge.inference.predictor import Prediction


class Client:
    """A small synchronous client (httpx). ``transport`` lets tests talk to an app in-process."""

    def __init__(self, url: str = "http://127.0.0.1:8000", api_key: str | None = None, *, timeout: float = 60.0,
                 retries: int = 0, max_retry_wait: float = 30.0, transport=None):
        try:
            import httpx
        except ImportError:
            raise missing_extra("the lmforge client", "serve", "httpx") from None
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.retries, self.max_retry_wait = retries, max_retry_wait
        self._http = httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=timeout, transport=transport)

    def classify(self, texts: Sequence[str] | str) -> list[Prediction]:
        """One :class:`Prediction` per text, in order."""
        if isinstance(texts, str):
            texts = [texts]
        body = self._request("POST", "/v1/classify", json={"texts": list(texts)})
        return [Prediction(r["label"], r["score"], r["scores"]) for r in body["results"]]

    def model(self) -> dict:
        """The model card: labels, metrics, confusion matrix, cost, limits."""
        return self._request("GET", "/v1/model")

    def ready(self) -> bool:
        try:
            return self._http.get("/ready").status_code == 200
        except Exception:  # noqa: BLE001 - not reachable is not ready
            return False

    def _request(self, method: str, path: str, **kwargs) -> dict:
        for attempt in range(self.retries + 1):
            response = self._http.request(method, path, **kwargs)
            if response.status_code < 400:
                return response.json()
            if response.status_code in (429, 503) and attempt < self.retries:
                wait = float(response.headers.get("retry-after", "1") or 1)
                time.sleep(min(wait, self.max_retry_wait))
                continue
            try:
                message = response.json().get("error", response.text)
            except ValueError:
                message = response.text
            raise ServingError(f"{method} {path} → {response.status_code}: {message}", status=response.status_code,
                               headers=dict(response.headers))
        raise AssertionError("unreachable")

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
