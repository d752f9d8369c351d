"""Dynamic batching: concurrent requests share forward passes, and each caller gets exactly its own results.

Requests arrive on the event loop already tokenized and wait in one bounded queue. A single worker thread
(inference never runs on the event loop) takes the oldest request and, until the batch's token budget or
text count is reached or the oldest request has waited ``max_wait_s``, lets others join. The group is run
through :func:`lmforge.inference.predictor.batched_logits`, which sorts the texts by length and cuts them into
padded-token-bounded forward passes, and the logits are handed back, sliced per request, in request order.

Why one thread: a CPU forward pass already uses every core through torch's intra-op threads; two passes at
once only fight over them. While one group runs, the next one is already forming in the queue, so under load
the batches fill up by themselves and ``max_wait_s`` only matters when traffic is light.

    >>> batcher = DynamicBatcher(predictor.backend.forward, pad_id=0)
    >>> batcher.start()
    >>> logits = await batcher.submit([[101, 2204, 102]], timeout_s=30)   # (1, num_labels)
    >>> batcher.stop()
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from lmforge.errors import ServingError
from lmforge.inference.predictor import batched_logits


class InferenceFailed(ServingError):
    """The forward pass raised; the request gets a 500 with its request id, the server keeps serving."""

    def __init__(self, cause: BaseException):
        super().__init__(f"inference failed ({type(cause).__name__}); the server is still serving, "
                         "retry or report the request id", status=500)
        self.cause = cause


@dataclass
class _Job:
    encoded: Sequence[Sequence[int]]
    tokens: int
    future: asyncio.Future
    loop: asyncio.AbstractEventLoop
    enqueued: float = field(default_factory=time.monotonic)


@dataclass
class BatchStats:
    """What one forward group did, for metrics."""

    requests: int
    texts: int
    tokens: int
    seconds: float


def _resolve(future: asyncio.Future, value=None, error: BaseException | None = None) -> None:
    if future.done():  # the caller gave up (deadline, disconnect)
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)


class DynamicBatcher:
    """A bounded queue of tokenized requests served by one inference thread. See the module docstring."""

    def __init__(self, forward: Callable[[dict], np.ndarray], pad_id: int, *, max_batch_tokens: int = 4096,
                 max_batch_size: int = 64, max_wait_s: float = 0.002, max_queue: int = 2048,
                 on_batch: Callable[[BatchStats], None] | None = None,
                 on_queue: Callable[[int], None] | None = None):
        self.forward, self.pad_id = forward, pad_id
        self.max_batch_tokens, self.max_batch_size = max_batch_tokens, max_batch_size
        self.max_wait_s, self.max_queue = max_wait_s, max_queue
        self.on_batch, self.on_queue = on_batch, on_queue
        self._pending: deque[_Job] = deque()
        self._queued_texts = 0
        self._queued_tokens = 0
        self._cond = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._ewma_texts_per_s = 0.0  # for Retry-After when the queue is full

    # --- event-loop side -----------------------------------------------------------------------------------

    @property
    def queue_depth(self) -> int:
        """Texts waiting for inference (not counting the group being computed)."""
        return self._queued_texts

    def start(self) -> DynamicBatcher:
        self._thread = threading.Thread(target=self._run, name="lmforge-batcher", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float | None = None) -> None:
        """Finish what is queued, then end the worker thread."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)

    async def submit(self, encoded: Sequence[Sequence[int]], timeout_s: float) -> np.ndarray:
        """(len(encoded), num_labels) logits for these token-id lists, computed alongside other requests."""
        if not encoded:
            return np.empty((0, 0), dtype=np.float32)
        loop = asyncio.get_running_loop()
        job = _Job(encoded, sum(len(ids) for ids in encoded), loop.create_future(), loop)
        with self._cond:
            if self._stopping or self._thread is None:
                raise ServingError("the server is shutting down; retry on another replica",
                                   status=503, headers={"Retry-After": "1"})
            if self._queued_texts and self._queued_texts + len(encoded) > self.max_queue:
                raise ServingError(f"the server is overloaded: {self._queued_texts} texts are queued (limit "
                                   f"{self.max_queue}); retry after the Retry-After seconds", status=503,
                                   headers={"Retry-After": str(self._retry_after())})
            self._pending.append(job)
            self._queued_texts += len(encoded)
            self._queued_tokens += job.tokens
            self._queue_changed()
            self._cond.notify()
        try:
            return await asyncio.wait_for(job.future, timeout_s)
        except asyncio.TimeoutError:
            raise ServingError(f"the request missed its {timeout_s:g} s deadline in the queue; the server is "
                               "overloaded, retry later", status=503, headers={"Retry-After": "1"}) from None

    def _retry_after(self) -> int:
        if self._ewma_texts_per_s <= 0:
            return 1
        return max(1, int(self._queued_texts / self._ewma_texts_per_s + 0.999))

    def _queue_changed(self) -> None:
        # A gauge set on every change (not a callback read at scrape time): with several worker processes the
        # value must live in prometheus' shared files.
        if self.on_queue is not None:
            self.on_queue(self._queued_texts)

    # --- worker-thread side --------------------------------------------------------------------------------

    def _full(self) -> bool:
        return self._queued_texts >= self.max_batch_size or self._queued_tokens >= self.max_batch_tokens

    def _take_group(self) -> list[_Job] | None:
        """Wait for work, let a batch form, and take it off the queue (None: stopped and drained)."""
        with self._cond:
            while not self._pending:
                if self._stopping:
                    return None
                self._cond.wait()
            # The oldest request waits at most max_wait_s in total for company; one that already waited while
            # the previous group ran does not wait again.
            while not self._full() and not self._stopping:
                remaining = self._pending[0].enqueued + self.max_wait_s - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            group, texts, tokens = [], 0, 0
            while self._pending:
                job = self._pending[0]
                n = len(job.encoded)
                # The first job is always taken (it may exceed the budget alone: batched_logits splits it).
                if group and (texts + n > self.max_batch_size or tokens + job.tokens > self.max_batch_tokens):
                    break
                self._pending.popleft()
                self._queued_texts -= n
                self._queued_tokens -= job.tokens
                if job.future.done():  # its caller is gone: do not compute for nobody
                    continue
                group.append(job)
                texts += n
                tokens += job.tokens
            self._queue_changed()
            return group

    def _run(self) -> None:
        while (group := self._take_group()) is not None:
            if not group:
                continue
            started = time.perf_counter()
            encoded = [ids for job in group for ids in job.encoded]
            try:
                logits = batched_logits(self.forward, encoded, self.pad_id, self.max_batch_tokens,
                                        self.max_batch_size)
            except Exception as e:  # noqa: BLE001 - any failure of the model is reported to its callers
                for job in group:
                    job.loop.call_soon_threadsafe(_resolve, job.future, None, InferenceFailed(e))
                continue
            seconds = time.perf_counter() - started
            start = 0
            for job in group:
                part = logits[start:start + len(job.encoded)]
                start += len(job.encoded)
                job.loop.call_soon_threadsafe(_resolve, job.future, part)
            rate = len(encoded) / max(seconds, 1e-6)
            self._ewma_texts_per_s = rate if self._ewma_texts_per_s == 0 else 0.8 * self._ewma_texts_per_s + 0.2 * rate
            if self.on_batch is not None:
                self.on_batch(BatchStats(len(group), len(encoded), sum(j.tokens for j in group), seconds))
