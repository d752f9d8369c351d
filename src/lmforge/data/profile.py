"""What a stream of labelled texts looks like: counts, lengths, labels, problems, personal data.

One :class:`TextProfile` is fed the rows of one file (or one prepared split) in chunks and keeps only
counters, one length per row and a few example rows per finding, so it works on files of any size.

    >>> profile = TextProfile("train.csv", pii=PiiRedactor())
    >>> profile.add([(1, "a fine film", "1"), (2, "  ", "0")])
    >>> profile.summary()["empty_texts"]
    1
"""

from __future__ import annotations

from array import array
from collections import Counter, defaultdict

import numpy as np

from lmforge.data.cleaning import text_issues

EXAMPLES_PER_FINDING = 5
LENGTH_BINS = (0, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 1 << 30)


def length_histogram(lengths: np.ndarray, bins: tuple[int, ...] = LENGTH_BINS) -> dict:
    """Counts per length range ("0-15", "16-31" … "4096+") and the usual quantiles."""
    counts, _ = np.histogram(lengths, bins=bins)
    names = [f"{lo}-{hi - 1}" for lo, hi in zip(bins[:-2], bins[1:-1])] + [f"{bins[-2]}+"]
    quantiles = {f"p{q}": int(np.percentile(lengths, q)) for q in (50, 90, 99)} if len(lengths) else {}
    return {"bins": dict(zip(names, counts.tolist())), "max": int(lengths.max()) if len(lengths) else 0,
            "mean": round(float(lengths.mean()), 1) if len(lengths) else 0.0, **quantiles}


class TextProfile:
    """Streaming statistics of one file. ``tokenizer`` (a fast HF tokenizer) adds token lengths."""

    def __init__(self, name: str, pii=None, tokenizer=None, max_length: int = 128):
        self.name, self.pii, self.tokenizer, self.max_length = name, pii, tokenizer, max_length
        self.rows = 0
        self.labels: Counter = Counter()
        self.char_lengths = array("I")
        self.token_lengths = array("I")
        self.issues: Counter = Counter()
        self.pii_counts: Counter = Counter()
        self.examples: dict[str, list] = defaultdict(list)

    def _example(self, finding: str, row: int, text: str) -> None:
        if len(self.examples[finding]) < EXAMPLES_PER_FINDING:
            self.examples[finding].append({"row": row, "text": text[:300]})

    def add(self, rows: list[tuple[int, str, str | None]]) -> None:
        """Feed ``(row number, text, label or None)`` tuples."""
        texts = []
        for row, text, label in rows:
            self.rows += 1
            if label is not None:
                self.labels[label] += 1
            self.char_lengths.append(len(text))
            texts.append(text)
            for issue in text_issues(text):
                self.issues[issue] += 1
                self._example(issue, row, text)
            if self.pii is not None:
                for span in self.pii.find(text):
                    self.pii_counts[span.kind] += 1
                    self._example(f"pii:{span.kind}", row, text)
        if self.tokenizer is not None and texts:
            # Length with special tokens, uncapped: how many would be cut at max_length.
            from lmforge.models.pretrained import quiet_transformers

            with quiet_transformers():  # uncapped on purpose: no "Token indices sequence length" warning
                ids = self.tokenizer(texts, add_special_tokens=True, truncation=False)["input_ids"]
            self.token_lengths.extend(len(x) for x in ids)

    def summary(self) -> dict:
        chars = np.frombuffer(self.char_lengths, dtype=np.uint32) if self.rows else np.zeros(0, dtype=np.uint32)
        out = {
            "rows": self.rows,
            "label_distribution": dict(self.labels.most_common()),
            "empty_texts": self.issues.get("empty", 0),
            "issues": dict(self.issues.most_common()),
            "pii": dict(self.pii_counts.most_common()),
            "char_length": length_histogram(chars),
            "examples": dict(self.examples),
        }
        if self.labels:
            counts = list(self.labels.values())
            out["imbalance_ratio"] = round(max(counts) / min(counts), 2)
        if len(self.token_lengths):
            tokens = np.frombuffer(self.token_lengths, dtype=np.uint32)
            out["token_length"] = length_histogram(tokens)
            out["token_length"]["over_max_length"] = int((tokens > self.max_length).sum())
            out["token_length"]["max_length"] = self.max_length
        return out
