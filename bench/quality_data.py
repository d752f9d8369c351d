"""The data sets of the quality suite and the recipe sweep, and the seeded splits they need.

Waimai 10k and online_shopping_7_cats ship without a split: each is cut here into a stratified 80/20
train/test split with seed 0 (``lmforge.data.splitting.stratified_split``), written once under
``bench/out/splits`` and reused. online_shopping's 7-way target is its ``cat`` column; the split files
name it ``label`` (and drop the binary sentiment column) so no column flag is needed.
"""

from __future__ import annotations

import csv
from pathlib import Path

SHARED = Path(__file__).resolve().parents[1].parent.parent / "shared" / "data"
if not SHARED.exists():
    SHARED = Path("/work/shared/data")
SPLITS = Path(__file__).resolve().parent / "out" / "splits"
SEED, TEST_FRACTION = 0, 0.2


def _split(name: str, source: Path, text_col: str, label_col: str) -> tuple[Path, Path]:
    from lmforge.data.splitting import stratified_split

    out = SPLITS / name
    train, test = out / "train.csv", out / "test.csv"
    if train.exists() and test.exists():
        return train, test
    with open(source, encoding="utf-8-sig", newline="") as f:
        rows = [(r[text_col].lstrip("\ufeff").strip(), r[label_col].strip()) for r in csv.DictReader(f)]
    rows = [r for r in rows if r[0]]
    kept, held = stratified_split([label for _, label in rows], TEST_FRACTION, SEED)
    out.mkdir(parents=True, exist_ok=True)
    for path, idx in ((train, kept), (test, held)):
        with open(path, "w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(["review", "label"])
            w.writerows(rows[i] for i in sorted(idx))
    return train, test


def datasets() -> dict[str, dict]:
    """name -> {train, test, reference}: the files the suite passes to ``lmforge finetune`` / ``evaluate``."""
    waimai = _split("waimai10k", SHARED / "waimai10k" / "waimai_10k.csv", "review", "label")
    shopping = _split("online_shopping7", SHARED / "online_shopping" / "online_shopping_7_cats.csv", "review", "cat")
    return {
        "sst2": {"train": SHARED / "sst2" / "train.tsv", "test": SHARED / "sst2" / "test.tsv"},
        "agnews": {"train": SHARED / "agnews" / "dev.tsv", "test": SHARED / "agnews" / "test.tsv"},
        "banking77": {"train": SHARED / "banking77" / "train.csv", "test": SHARED / "banking77" / "test.csv"},
        "waimai10k": {"train": waimai[0], "test": waimai[1]},
        "online_shopping7": {"train": shopping[0], "test": shopping[1]},
    }
