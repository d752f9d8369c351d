"""How much of each shared set the bundled tokenizer cannot read: the share of [UNK] tokens, and the words
behind them — what `--extend-vocab auto` (threshold 5%) decides from.

    PYTHONPATH=src .venv/bin/python bench/unknown_share.py [--rows 20000]
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from lmforge.models.pretrained import load_tokenizer, resolve_model_dir
from lmforge.models.vocabulary import AUTO_SHARE, unknown_words

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality_data import datasets  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SOURCES = {  # file, text column, delimiter, header rows
    "sst2": (DATA / "sst2" / "train.tsv", 0, "\t", 1),
    "goemotions": (DATA / "goemotions" / "train.tsv", 0, "\t", 0),
    "banking77": (DATA / "banking77" / "train.csv", 0, ",", 1),
    "lcqmc (dev)": (DATA / "lcqmc" / "dev.txt", 0, "\t", 0),
}


def column(path: Path, index: int, delimiter: str, header: int, rows: int) -> list[str]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        lines = list(csv.reader(f, delimiter=delimiter, quoting=csv.QUOTE_NONE if delimiter == "\t" else 0))
    return [line[index] for line in lines[header:header + rows] if len(line) > index]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    args = parser.parse_args()
    tokenizer = load_tokenizer(resolve_model_dir("all-MiniLM-L6-v2"))
    sets = {name: column(*source, args.rows) for name, source in SOURCES.items()}
    for name in ("waimai10k", "online_shopping7"):
        sets[name] = column(datasets()[name]["train"], 0, ",", 1, args.rows)
    print("| set | texts | [UNK] share | extends (auto) | most frequent unknown |\n|---|---:|---:|---|---|")
    for name, texts in sets.items():
        counts, unknown, total = unknown_words(tokenizer, texts)
        share = unknown / max(1, total)
        top = " ".join(word for word, _ in counts.most_common(6))
        print(f"| {name} | {len(texts):,} | {share:.2%} | {'yes' if share > AUTO_SHARE else 'no'} | {top} |")


if __name__ == "__main__":
    main()
