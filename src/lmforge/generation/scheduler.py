"""Continuous batching: one decoding thread, requests joining and leaving a running batch at every step.

A request waits in a queue until a slot is free; then its prompt is prefilled into that slot (its first
token comes out of the prefill, so time to first token is one prefill, not a whole batch), and from the
next step on it decodes together with every other running request in one forward pass. A finished or
cancelled request (the client went away) frees its slot at once: the last running row moves into it, so
the running rows stay contiguous.

Events go back to the caller through ``on_event(chunk | exception)``, called from the decoding thread; the
server turns that into an asyncio queue per request.

    >>> scheduler = GenerationScheduler(engine).start()
    >>> handle = scheduler.submit(prompt_ids, params, on_event=print)
    >>> handle.cancel()      # the slot is freed before the next step
    >>> scheduler.stop(timeout=30)
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from lmforge.errors import ServingError
from lmforge.generation.engine import Chunk, GenerationEngine, Sequence
from lmforge.generation.sampling import SamplingParams

log = logging.getLogger("lmforge.generation")


@dataclass
class Request:
    prompt: list[int]
    params: SamplingParams
    on_event: Callable[[object], None]
    submitted: float = field(default_factory=time.perf_counter)
    cancelled: bool = False
    sequence: Sequence | None = None

    def cancel(self) -> None:
        self.cancelled = True


@dataclass
class StepStats:
    running: int
    seconds: float
    joined: int


class GenerationScheduler:
    def __init__(self, engine: GenerationEngine, max_queue: int = 256,
                 on_step: Callable[[StepStats], None] | None = None,
                 on_queue: Callable[[int], None] | None = None):
        self.engine, self.max_queue = engine, max_queue
        self.on_step, self.on_queue = on_step, on_queue
        self.waiting: collections.deque[Request] = collections.deque()
        self.running: list[Request] = []  # row i of the decoder holds running[i]
        self.lock = threading.Condition()
        self.thread: threading.Thread | None = None
        self.stopping = False

    def start(self) -> GenerationScheduler:
        self.thread = threading.Thread(target=self._run, name="lmforge-generation", daemon=True)
        self.thread.start()
        return self

    def submit(self, prompt: list[int], params: SamplingParams, on_event: Callable[[object], None]) -> Request:
        params = self.engine.fit(prompt, params.validate())
        request = Request(prompt, params, on_event)
        with self.lock:
            if self.stopping:
                raise ServingError("the server is shutting down; retry on another replica", status=503,
                                   headers={"Retry-After": "1"})
            if len(self.waiting) >= self.max_queue:
                raise ServingError(f"{len(self.waiting)} generations are waiting; retry shortly", status=503,
                                   headers={"Retry-After": "1"})
            self.waiting.append(request)
            self._report_queue()
            self.lock.notify()
        return request

    def stop(self, timeout: float = 30.0) -> None:
        """Finish what runs and waits (up to ``timeout`` seconds), then end the thread."""
        with self.lock:
            self.stopping = True
            self.lock.notify()
        if self.thread is not None:
            self.thread.join(timeout)
        with self.lock:
            leftover = list(self.waiting) + self.running
            self.waiting.clear()
        for request in leftover:
            request.on_event(ServingError("the server shut down before this generation finished", status=503))

    @property
    def load(self) -> int:
        return len(self.waiting) + len(self.running)

    # --- the decoding thread ---------------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self.lock:
                while not self.waiting and not self.running:
                    if self.stopping:
                        return
                    self.lock.wait()
            started = time.perf_counter()
            joined = self._admit()
            if self.running:
                self._step()
            if self.on_step is not None and (self.running or joined):
                self.on_step(StepStats(len(self.running), time.perf_counter() - started, joined))

    def _admit(self) -> int:
        """Prefill waiting requests into free slots; each gets its first token now."""
        joined = 0
        while len(self.running) < self.engine.decoder.slots:
            with self.lock:
                if not self.waiting:
                    break
                request = self.waiting.popleft()
                self._report_queue()
            if request.cancelled:
                continue
            slot = len(self.running)
            try:
                request.sequence = Sequence(self.engine, request.prompt, request.params)
                chunk = request.sequence.accept(self.engine.decoder.prefill(slot, request.prompt))
            except Exception as e:  # noqa: BLE001 - this request fails, the others keep going
                log.exception("prefill failed")
                request.on_event(e)
                continue
            request.on_event(chunk)
            joined += 1
            if chunk.finish_reason is None:
                self.running.append(request)
        return joined

    def _step(self) -> None:
        self._drop_finished()
        if not self.running:
            return
        tokens = [r.sequence.generated[-1] for r in self.running]
        try:
            logits = self.engine.decoder.decode(tokens)  # (B, vocab)
        except Exception as e:  # noqa: BLE001 - fail the running requests, keep the server
            log.exception("decode step failed")
            for r in self.running:
                r.on_event(e)
                r.cancel()
            self._drop_finished()
            return
        for row, request in enumerate(self.running):
            if request.cancelled:
                continue
            chunk: Chunk = request.sequence.accept(logits[row])
            request.on_event(chunk)
        self._drop_finished()

    def _drop_finished(self) -> None:
        """Free the slots of finished and cancelled requests, keeping rows 0..n-1 contiguous."""
        row = 0
        while row < len(self.running):
            request = self.running[row]
            if request.cancelled or request.sequence.finish_reason is not None:
                last = len(self.running) - 1
                if row != last:
                    self.engine.decoder.move(last, row)
                    self.running[row] = self.running[last]
                self.running.pop()
            else:
                row += 1

    def _report_queue(self) -> None:
        if self.on_queue is not None:
            self.on_queue(len(self.waiting))
