"""Settings of `lmforge data inspect` and `lmforge data prepare`, apart from the code that runs them.

The CLI builds its flags from these dataclasses at start-up, so this module imports nothing heavy (the
readers and the near-duplicate index import numpy).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lmforge.config import setting
from lmforge.data.cleaning import CleaningConfig
from lmforge.errors import ConfigError


@dataclass
class InspectConfig:
    """Settings of `lmforge data inspect`."""

    text_column: str | None = setting(None, "name of the text column (detected when omitted)")
    label_column: str | None = setting(None, "name of the label column (detected when omitted)")
    encoding: str = setting("utf-8", "text encoding of the input files")
    model: str | None = setting(None, "tokenizer to count tokens with: a model directory (default: the bundled "
                                      "all-MiniLM-L6-v2)")
    max_length: int = setting(128, "token budget per text; texts above it are counted as truncated")
    tokens: bool = setting(True, "count tokens (off: faster on very large files)")
    pii: bool = setting(True, "count personal data by type")
    pii_region: str = setting("US", "country whose national phone formats count as phone numbers")
    near: bool = setting(True, "look for near-duplicates (MinHash LSH)")
    near_threshold: float = setting(0.8, "Jaccard similarity (byte 5-grams) from which texts are near-duplicates")

    def validate(self) -> InspectConfig:
        problems = []
        if self.max_length < 1:
            problems.append(f"max_length must be at least 1, got {self.max_length}")
        if not 0 < self.near_threshold <= 1:
            problems.append(f"near_threshold must be in (0, 1], got {self.near_threshold}")
        if problems:
            raise ConfigError(problems)
        return self


DEDUP = ("exact", "near", "none")
CONFLICTS = ("keep", "majority", "drop")


@dataclass
class PrepareConfig:
    """Settings of `lmforge data prepare`; saved resolved in the output's manifest.json."""

    dedup: str = setting("exact", "remove duplicates: exact (same cleaned text and label), near (MinHash "
                                  "LSH, also catches exact) or none", choices=DEDUP)
    near_threshold: float = setting(0.8, "Jaccard similarity (byte 5-grams) from which texts are near-duplicates")
    near_check: bool = setting(True, "find near-duplicates for the leakage report even when --dedup is not near")
    split: str | None = setting(None, "train,dev,test shares such as 0.8,0.1,0.1 (default: keep the roles of "
                                      "inputs named train/dev/test, else 0.8,0.1,0.1)")
    stratify: bool = setting(False, "split each label in the same shares")
    seed: int = setting(0, "seed of the split")
    redact_pii: bool = setting(False, "replace personal data with typed placeholders such as [EMAIL]")
    pii_kinds: str | None = setting(None, "comma-separated kinds to redact (default: all of EMAIL, URL, IBAN, "
                                          "CN_ID, BANK_CARD, CREDIT_CARD, IP_ADDRESS, PHONE, PERSON; CN_ID and "
                                          "BANK_CARD are looked for in Chinese text)")
    pii_region: str = setting("US", "country whose national phone formats count as phone numbers (CN: every "
                                    "text also gets the Chinese checks, not only texts with Han characters)")
    conflicts: str = setting("keep", "the same text with several labels: keep (report only), majority (keep "
                                     "the most frequent label; a tie removes all) or drop", choices=CONFLICTS)
    remove_leaked: bool = setting(False, "remove train rows that duplicate or nearly duplicate a dev/test row")
    text_column: str | None = setting(None, "name of the text column (detected when omitted)")
    label_column: str | None = setting(None, "name of the label column (detected when omitted)")
    encoding: str = setting("utf-8", "text encoding of the input files")
    cleaning: CleaningConfig = field(default_factory=CleaningConfig)

    def fractions(self) -> tuple[float, float, float]:
        parts = [float(x) for x in (self.split or "0.8,0.1,0.1").split(",")]
        if len(parts) == 2:
            parts.append(0.0)
        return tuple(parts)  # type: ignore[return-value]

    def validate(self) -> PrepareConfig:
        problems = []
        if self.dedup not in DEDUP:
            problems.append(f"dedup '{self.dedup}' is not one of {', '.join(DEDUP)}")
        if self.conflicts not in CONFLICTS:
            problems.append(f"conflicts '{self.conflicts}' is not one of {', '.join(CONFLICTS)}")
        if not 0 < self.near_threshold <= 1:
            problems.append(f"near_threshold must be in (0, 1], got {self.near_threshold}")
        try:
            parts = self.fractions()
            if len(parts) != 3 or any(p < 0 for p in parts) or abs(sum(parts) - 1) > 1e-6 or parts[0] == 0:
                problems.append(f"split '{self.split}' must be 2 or 3 non-negative shares summing to 1, "
                                "train first and above 0 (e.g. 0.8,0.1,0.1)")
        except ValueError:
            problems.append(f"split '{self.split}' is not a list of numbers (e.g. 0.8,0.1,0.1)")
        if problems:
            raise ConfigError(problems)
        return self
