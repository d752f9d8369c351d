"""Benchmark `lmforge data inspect` and `lmforge data prepare --dedup near --redact-pii` at 100k and 1M rows.

The synthetic rows are built from every labelled text in ../shared/data (SST-2, AG News, Banking77): each
original joins two random real texts (so originals are distinct), ~3% get injected personal data, 10% of
rows are injected near-duplicates of an earlier-or-later original (small edits: case, punctuation, a dropped
or swapped word, a typo, HTML debris) and 2% are exact copies. The truth (which row copies which, what PII
was injected) is kept beside the data. Each command runs in its own process under `/usr/bin/time -v`, so
peak memory is the command's own (maximum resident set size).

    nice -n -5 .venv/bin/python bench/data_prepare.py --rows 100000 1000000

Scores, against the injected truth:
- near-duplicate recall: share of injected copies (near and exact) that prepare removed, or whose original
  it removed in their favour; also given over only the copies whose true Jaccard similarity reaches the
  threshold (what MinHash LSH is asked to find);
- near-duplicate precision: share of rows removed as near-duplicates that are injected copies (of the row they
  point to, or of the same original), or whose true Jaccard similarity with that row reaches the threshold
  (the base data has real near-duplicates of its own: SST-2 holds phrases and their sub-phrases);
- PII: redactions counted against injected values (a floor: the real texts hold names and URLs too).
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
SHARED = REPO.parent / "shared" / "data"
THRESHOLD = 0.8


def base_texts() -> list[tuple[str, str]]:
    from lmforge.data.reading import open_rows

    out = []
    for name in ("sst2/train.tsv", "sst2/dev.tsv", "sst2/test.tsv", "agnews/dev.tsv", "agnews/test.tsv",
                 "banking77/train.csv", "banking77/test.csv"):
        source = open_rows(SHARED / name)
        prefix = name.split("/")[0]
        out.extend((" ".join(text.split()), f"{prefix}:{label}") for _, text, label in source.rows)
    return out


def edit(text: str, rng: random.Random) -> str:
    words = text.split()
    for _ in range(rng.choice((1, 1, 2))):
        i = rng.randrange(len(words))
        op = rng.choice(("case", "punct", "drop", "swap", "typo", "html", "space"))
        if op == "case":
            words[i] = words[i].upper() if rng.random() < 0.5 else words[i].capitalize()
        elif op == "punct":
            words[i] = words[i] + rng.choice((",", ".", "!", "?"))
        elif op == "drop" and len(words) > 10:
            del words[i]
        elif op == "swap" and i + 1 < len(words):
            words[i], words[i + 1] = words[i + 1], words[i]
        elif op == "typo" and len(words[i]) > 3:
            w = words[i]
            j = rng.randrange(len(w) - 1)
            words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2:]
        elif op == "html":
            words[i] = words[i] + " <br />"
        else:
            words[i] = words[i] + "  "
    return " ".join(words)


def build(n: int, path: Path, seed: int = 0) -> dict:
    """Write ``n`` rows to ``path`` (CSV text,label) and return the truth."""
    from lmforge.data.pii_eval import _value

    rng = random.Random(seed)
    pool = base_texts()
    n_near, n_exact = int(0.10 * n), int(0.02 * n)
    n_orig = n - n_near - n_exact
    originals, pii = [], 0
    for _ in range(n_orig):
        (a, label), (b, _) = rng.choice(pool), rng.choice(pool)
        text = f"{a} {b}"
        if rng.random() < 0.03:
            kind = rng.choice(("EMAIL", "PHONE", "CREDIT_CARD", "IBAN", "IP_ADDRESS", "URL"))
            text = f"{text} contact: {_value(kind, rng)}"
            pii += 1
        originals.append((text, label))
    rows = [(t, lab, i, "original") for i, (t, lab) in enumerate(originals)]
    long_enough = [i for i, (t, _) in enumerate(originals) if len(t.split()) >= 10]
    for k in range(n_near + n_exact):
        i = rng.choice(long_enough)
        text, label = originals[i]
        rows.append((edit(text, rng) if k < n_near else text, label, i, "near" if k < n_near else "exact"))
    rng.shuffle(rows)
    family, kinds = [], []
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["text", "label"])
        for text, label, fam, kind in rows:
            w.writerow([text, label])
            family.append(fam)
            kinds.append(kind)
    return {"family": family, "kind": kinds, "pii_injected": pii, "near": n_near, "exact": n_exact}


NON_WORD = re.compile(r"[\W_]+")


def shingles(text: str, k: int = 5) -> set[bytes]:
    b = NON_WORD.sub(" ", text.lower()).strip().encode()
    return {b[i:i + k] for i in range(max(1, len(b) - k + 1))}


def jaccard(a: str, b: str) -> float:
    x, y = shingles(a), shingles(b)
    return len(x & y) / max(1, len(x | y))


def run_timed(cmd: list[str]) -> dict:
    started = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr).group(1))
    return {"wall_s": round(wall, 1), "peak_rss_mb": round(rss_kb / 1024), "stdout": proc.stdout}


def score(truth: dict, raw_rows: list[str], prepared: Path) -> dict:
    family, kind = truth["family"], truth["kind"]
    removed_as_dup, pointers = set(), {}
    for line in open(prepared / "removed.jsonl", encoding="utf-8"):
        r = json.loads(line)
        if r["reason"] in ("near_duplicate", "exact_duplicate"):
            removed_as_dup.add(r["row"] - 1)
            pointers[r["row"] - 1] = (r["reason"], r["duplicate_of"]["row"] - 1)
    # the original row of each family (index of its "original" row in file order)
    original_row = {}
    for row, (fam, k) in enumerate(zip(family, kind)):
        if k == "original":
            original_row[fam] = row
    copies = [row for row, k in enumerate(kind) if k != "original"]
    found = [row for row in copies if row in removed_as_dup or original_row[family[row]] in removed_as_dup]
    near_copies = [row for row in copies if kind[row] == "near"]
    similar = [row for row in near_copies if jaccard(raw_rows[row], raw_rows[original_row[family[row]]]) >= THRESHOLD]
    similar_found = [row for row in similar if row in removed_as_dup or original_row[family[row]] in removed_as_dup]
    near_removed = [(row, dup) for row, (reason, dup) in pointers.items() if reason == "near_duplicate"]
    injected_ok = sum(1 for row, dup in near_removed if family[row] == family[dup] and
                      (kind[row] != "original" or kind[dup] != "original"))
    correct = sum(1 for row, dup in near_removed if (family[row] == family[dup] and
                  (kind[row] != "original" or kind[dup] != "original")) or
                  jaccard(raw_rows[row], raw_rows[dup]) >= THRESHOLD)
    return {"injected_copies": len(copies), "recall_all_injected": round(len(found) / len(copies), 4),
            "injected_near_with_true_jaccard_over_threshold": len(similar),
            "recall_true_near_duplicates": round(len(similar_found) / max(1, len(similar)), 4),
            "removed_as_near_duplicate": len(near_removed),
            "precision_vs_injected_only": round(injected_ok / max(1, len(near_removed)), 4),
            "precision_injected_or_true_jaccard": round(correct / max(1, len(near_removed)), 4)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--workdir", default=str(REPO / "runs" / "bench-data"))
    parser.add_argument("--skip-inspect", action="store_true")
    args = parser.parse_args()
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    lmforge = str(REPO / ".venv" / "bin" / "lmforge")
    results = {}
    for n in args.rows:
        data = work / f"synthetic-{n}.csv"
        started = time.perf_counter()
        truth = build(n, data)
        print(f"[{n:,}] built {data} in {time.perf_counter() - started:.0f} s", flush=True)
        result = {"rows": n, "pii_injected": truth["pii_injected"]}
        if not args.skip_inspect:
            r = run_timed([lmforge, "data", "inspect", str(data), "--output", str(work / f"inspect-{n}"), "-q"])
            result["inspect"] = {"wall_s": r["wall_s"], "rows_per_s": round(n / r["wall_s"]),
                                 "peak_rss_mb": r["peak_rss_mb"]}
            print(f"[{n:,}] inspect: {result['inspect']}", flush=True)
        out = work / f"prepared-{n}"
        r = run_timed([lmforge, "data", "prepare", str(data), "--output", str(out), "--overwrite", "--dedup", "near",
                       "--near-threshold", str(THRESHOLD), "--redact-pii", "-q"])
        manifest = json.loads((out / "manifest.json").read_text())
        result["prepare"] = {"wall_s": r["wall_s"], "rows_per_s": round(n / r["wall_s"]), "peak_rss_mb": r["peak_rss_mb"],
                             "removed_by_reason": manifest["removed_by_reason"], "pii_redacted": manifest["pii_redacted"],
                             "near": manifest["near"]}
        print(f"[{n:,}] prepare: {result['prepare']}", flush=True)
        raw_rows = [row[0] for row in csv.reader(open(data, newline="", encoding="utf-8"))][1:]
        result["dedup_scores"] = score(truth, raw_rows, out)
        print(f"[{n:,}] dedup vs injected truth: {result['dedup_scores']}", flush=True)
        results[n] = result
    (work / "results.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
