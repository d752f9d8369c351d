"""`lmforge serve`: a production HTTP API over any classifier artifact lmforge can load.

    app.py        the FastAPI application: routes, error mapping, readiness, graceful shutdown
    batcher.py    dynamic batching: concurrent requests coalesced by token budget and maximum wait, run off
                  the event loop in one worker thread
    keys.py       API keys with rate limits, daily quotas and usage records, in SQLite (WAL) beside the model
    limits.py     request limits (body size, texts, characters) as an ASGI middleware and checks
    metrics.py    Prometheus metrics (multi-process aware for ``--workers``)
    schemas.py    request / response models (the OpenAPI schema at ``/docs``)
    client.py     ``lmforge.Client``: the Python client
    server.py     running uvicorn: host safety checks, workers, signals
    cli.py        ``lmforge serve`` and ``lmforge keys create|list|revoke``

Serving depends on :mod:`lmforge.inference`, never on :mod:`lmforge.training`.
"""
