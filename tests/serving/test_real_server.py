"""`lmforge serve` as a real process on a free localhost port: the client over a socket, and SIGTERM draining."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx
import pytest

import lmforge
from lmforge.errors import ServingError
from lmforge.serving.keys import KeyStore


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(model_dir, *flags) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "lmforge", "serve", str(model_dir), "--port", str(port), *flags],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 240  # a loaded 2-core machine can take this long to import torch
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited with {process.returncode}:\n{process.stdout.read()}")
        if lmforge.Client(url).ready():
            return process, url
        time.sleep(0.3)
    process.kill()
    raise AssertionError(f"server not ready in time:\n{process.stdout.read()}")


def test_real_server_serves_the_client_and_drains_in_flight_requests_on_sigterm(model_dir):
    key = KeyStore(model_dir).create("acme", quota="1000/day")
    # A long max wait keeps requests queued in the batcher long enough for SIGTERM to arrive while they are in flight.
    process, url = start_server(model_dir, "--max-wait-ms", "1500", "--max-batch-size", "64")
    try:
        with lmforge.Client(url, api_key=key) as client:
            predictions = client.classify(["a great film", "an awful plot"])
            assert [p.label for p in predictions] == [p.label for p in lmforge.predict(model_dir, ["a great film",
                                                                                                  "an awful plot"])]
            assert client.model()["labels"] == ["neg", "pos"]
            with pytest.raises(ServingError) as empty:
                client.classify([])
            assert empty.value.status == 422 and "empty" in str(empty.value)
        with pytest.raises(ServingError) as unauthorized:
            lmforge.Client(url, api_key="lmf_wrong").classify(["good"])
        assert unauthorized.value.status == 401

        results: list[int] = []

        def call(i: int) -> None:
            r = httpx.post(f"{url}/v1/classify", json={"texts": [f"good film {i}"]},
                           headers={"Authorization": f"Bearer {key}"}, timeout=60)
            results.append(r.status_code)

        threads = [threading.Thread(target=call, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 30  # wait until all four texts sit in the batcher's queue, not on luck
        while time.monotonic() < deadline and "lmforge_queue_depth 4.0" not in httpx.get(f"{url}/metrics").text:
            time.sleep(0.02)
        process.send_signal(signal.SIGTERM)
        for t in threads:
            t.join(60)
        assert results == [200] * 4  # every in-flight request finished
        # uvicorn finishes the graceful shutdown, then re-raises SIGTERM so the exit status says what stopped it.
        assert process.wait(60) in (0, -signal.SIGTERM)
        log = process.stdout.read()
        assert "Shutting down" in log and "Finished server process" in log
    finally:
        if process.poll() is None:
            process.kill()


def test_two_workers_share_the_quota_and_the_metrics(model_dir):
    """--workers 2: both processes admit against one SQLite quota, and /metrics sums over both."""
    key = KeyStore(model_dir).create("trial", quota="6/day")
    process, url = start_server(model_dir, "--workers", "2")
    try:
        statuses, deadline = [], time.monotonic() + 120
        for i in range(8):  # a fresh connection each time, so either worker may accept it
            while True:
                r = httpx.post(f"{url}/v1/classify", json={"texts": [f"good film {i}"]},
                               headers={"Authorization": f"Bearer {key}", "Connection": "close"}, timeout=60)
                if r.status_code != 503:  # the other worker may still be loading its model: 503 + Retry-After,
                    break                 # answered before the key is charged, so a client simply retries
                assert time.monotonic() < deadline, r.text
                time.sleep(float(r.headers["Retry-After"]))
            statuses.append(r.status_code)
        assert statuses == [200] * 6 + [429] * 2  # 6 texts a day, whichever process admitted them
        metrics = httpx.get(f"{url}/metrics").text
        assert 'lmforge_requests_total{route="/v1/classify",status="200"} 6.0' in metrics
        assert 'lmforge_requests_total{route="/v1/classify",status="429"} 2.0' in metrics
        assert "lmforge_texts_total 6.0" in metrics
        process.send_signal(signal.SIGTERM)
        assert process.wait(60) in (0, -signal.SIGTERM)
        assert process.stdout.read().count("Application startup complete") == 2  # two workers started
    finally:
        if process.poll() is None:
            process.kill()
