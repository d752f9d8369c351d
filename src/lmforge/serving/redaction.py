"""Personal data in requests: redacted before it is written to the request log, and (``--redact-pii model``)
before the model sees it.

    lmforge serve runs/intent --request-log requests.jsonl --redact-pii logs    # the log holds [PHONE] …
    lmforge serve runs/intent --redact-pii model                                # so does what the model reads

``logs`` (the default of a bare ``--redact-pii``) keeps predictions exactly as without redaction and writes
only placeholders to ``--request-log``; ``model`` also classifies the redacted text, so a model trained on
redacted data (``lmforge data prepare --redact-pii``) sees the same kind of input it was trained on.
Without ``--request-log`` no request text is written anywhere by lmforge (the access log, off by default,
holds paths only); ``--redact-pii`` then still counts what it finds in ``lmforge_pii_redacted_total``.
The detectors are :class:`lmforge.data.pii.PiiRedactor`'s (Chinese text included).
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading
import time
from difflib import SequenceMatcher
from pathlib import Path

MODES = ("off", "logs", "model")


class RequestPrivacy:
    """What the routes call: ``for_model(texts)`` before inference, ``log(...)`` after it."""

    def __init__(self, mode: str = "off", request_log: str | Path | None = None, kinds: str | None = None,
                 region: str = "US", counter=None):
        self.mode, self.counter = mode, counter
        self._redactor = None
        if mode != "off":
            from lmforge.data.pii import PiiRedactor

            self._redactor = PiiRedactor([k.strip().upper() for k in kinds.split(",")] if kinds else None, region)
        self._log_path = Path(request_log) if request_log else None
        self._lock = threading.Lock()

    def _redact(self, texts: list[str]) -> list[str]:
        out = []
        for text in texts:
            redacted, found = self._redactor.redact(text)
            if self.counter is not None:
                for kind, n in found.items():
                    self.counter.labels(kind).inc(n)
            out.append(redacted)
        return out

    def for_model(self, texts: list[str]) -> tuple[list[str], list[str] | None]:
        """(texts the model reads, their redacted form or None when not redacted)."""
        if self.mode == "off":
            return texts, None
        redacted = self._redact(texts)
        return (redacted if self.mode == "model" else texts), redacted

    def log(self, request_id: str | None, route: str, texts: list[str], redacted: list[str] | None,
            labels: list[str] | None = None) -> None:
        """Append one JSON line to the request log: the redacted texts when redaction is on."""
        if self._log_path is None:
            return
        entry = {"time": round(time.time(), 3), "request_id": request_id, "route": route,
                 "texts": redacted if redacted is not None else texts, "redacted": redacted is not None}
        if labels is not None:
            entry["labels"] = labels
        line = json.dumps(entry, ensure_ascii=False) + "\n"
        with self._lock:  # one write per line, O_APPEND: whole lines even with several workers
            fd = os.open(self._log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                os.write(fd, line.encode("utf-8"))
            finally:
                os.close(fd)


def in_original(tagged, original: str):
    """A tagger's answer on a redacted text (a ``TaggedText``) with its entities' offsets moved into the
    ``original`` text: the two are aligned, so an entity inside a placeholder covers the personal data it
    replaced."""
    ops = SequenceMatcher(None, tagged.text, original, autojunk=False).get_opcodes()

    def start(i: int) -> int:
        tag, a0, _, b0, _ = next(op for op in ops if op[1] <= i < op[2])
        return b0 + (i - a0) if tag == "equal" else b0

    def end(i: int) -> int:
        tag, a0, _, b0, b1 = next(op for op in ops if op[1] < i <= op[2])
        return b0 + (i - a0) if tag == "equal" else b1

    entities = []
    for e in tagged.entities:
        a, b = start(e.start), end(e.end)
        entities.append(dataclasses.replace(e, start=a, end=b, text=original[a:b]))
    return dataclasses.replace(tagged, text=original, entities=entities)
