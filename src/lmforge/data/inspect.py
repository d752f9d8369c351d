"""`lmforge data inspect`: what is in these files, and what is wrong with them, before any training.

    >>> summary = inspect_files(["train.tsv", "test.tsv"], output="runs/inspect")
    >>> summary["files"][0]["exact_duplicate_rows"], summary["overlap"][0]["exact_texts"]
    (293, 0)

Writes ``summary.json`` (every number), ``figures.json`` (the data behind each plot), the PNG plots and
``report.html`` into ``output``.
"""

from __future__ import annotations

import json
from array import array
from dataclasses import asdict
from pathlib import Path

import numpy as np

from lmforge.data.near_duplicates import DuplicateIndex, NearDuplicateConfig
from lmforge.data.profile import TextProfile
from lmforge.data.reading import chunked, open_rows
from lmforge.data.settings import InspectConfig  # noqa: F401 (also importable from here)

CHUNK_ROWS = 4096
EXAMPLE_TEXTS = 50_000  # distinct texts kept in memory to show near-duplicate examples


def _load_tokenizer(model: str | None):
    from lmforge.models.pretrained import load_tokenizer, resolve_model_dir

    return load_tokenizer(resolve_model_dir(model))


class _FileScan:
    """One file's profile plus what duplicate analysis needs: each row's text group and label."""

    def __init__(self, path: Path, profile: TextProfile):
        self.path, self.profile = path, profile
        self.groups = array("q")
        self.first_label: dict[int, str] = {}
        self.conflicting: dict[int, set[str]] = {}
        self.source = None

    def add(self, chunk: list, group_ids: np.ndarray) -> None:
        self.groups.extend(group_ids.tolist())
        for (_, _, label), g in zip(chunk, group_ids.tolist()):
            if label is None or g < 0:
                continue
            first = self.first_label.setdefault(g, label)
            if first != label:
                self.conflicting.setdefault(g, {first}).add(label)


def _scan(path: Path, cfg: InspectConfig, index: DuplicateIndex, pii, tokenizer, texts: dict,
          quiet: bool) -> _FileScan:
    from tqdm import tqdm

    source = open_rows(path, cfg.text_column, cfg.label_column, cfg.encoding)
    scan = _FileScan(path, TextProfile(str(path), pii, tokenizer, cfg.max_length))
    scan.source = source
    with tqdm(desc=f"inspect {path.name}", unit=" rows", disable=quiet, mininterval=1.0) as bar:
        for chunk in chunked(source.rows, CHUNK_ROWS):
            scan.profile.add(chunk)
            # Duplicates are byte-identical texts here (what a dataset's own README counts); `data prepare`
            # compares cleaned texts, so it can find more (texts differing only in spaces).
            stripped = [text for _, text, _ in chunk]
            present = [i for i, t in enumerate(stripped) if t.strip()]
            ids = np.full(len(chunk), -1, dtype=np.int64)  # -1: empty text, in no group
            ids[present] = index.add([stripped[i] for i in present])
            for i in present:
                if len(texts) < EXAMPLE_TEXTS:
                    texts.setdefault(int(ids[i]), stripped[i])
            scan.add(chunk, ids)
            bar.update(len(chunk))
    return scan


def _file_summary(scan: _FileScan) -> dict:
    groups = np.frombuffer(scan.groups, dtype=np.int64)
    groups = groups[groups >= 0]
    distinct = len(np.unique(groups))
    summary = {"path": str(scan.path), "columns": scan.source.columns, "text_column": scan.source.text_column,
               "label_column": scan.source.label_column, **scan.profile.summary()}
    summary["exact_duplicate_rows"] = int(len(groups) - distinct)
    summary["conflicting_label_texts"] = len(scan.conflicting)
    summary["conflicting_label_examples"] = [sorted(v) for v in list(scan.conflicting.values())[:5]]
    return summary


def _near_findings(scans: list[_FileScan], index: DuplicateIndex, texts: dict) -> tuple[list, list]:
    """Near-duplicate pairs within each file and between each pair of files."""
    a, b, sim = index.near_pairs()
    member = []
    for scan in scans:
        in_file = np.zeros(len(index), dtype=bool)
        groups = np.frombuffer(scan.groups, dtype=np.int64)
        in_file[groups[groups >= 0]] = True
        member.append(in_file)
    within = []
    for scan, in_f in zip(scans, member):
        hit = in_f[a] & in_f[b]
        within.append({"pairs": int(hit.sum()), "examples": _pair_examples(a[hit], b[hit], sim[hit], texts)})
    between = []
    for i in range(len(scans)):
        for j in range(i + 1, len(scans)):
            # a near pair across files: one text in each, and not simply the same text in both
            hit = (member[i][a] & member[j][b]) | (member[j][a] & member[i][b])
            between.append({"near_pairs": int(hit.sum()),
                            "near_examples": _pair_examples(a[hit], b[hit], sim[hit], texts)})
    return within, between


def _pair_examples(a, b, sim, texts: dict, limit: int = 5) -> list[dict]:
    out = []
    for x, y, s in zip(a.tolist(), b.tolist(), sim.tolist()):
        if x in texts and y in texts:
            out.append({"similarity": round(s, 3), "a": texts[x][:300], "b": texts[y][:300]})
            if len(out) >= limit:
                break
    return out


def inspect_files(paths: list[str | Path], output: str | Path | None = None, config: InspectConfig | None = None,
                  quiet: bool = False) -> dict:
    """Profile ``paths``; with ``output``, write summary.json, figures.json, PNG plots and report.html."""
    cfg = (config or InspectConfig()).validate()
    paths = [Path(p) for p in paths]
    pii = None
    if cfg.pii:
        from lmforge.data.pii import PiiRedactor

        pii = PiiRedactor(region=cfg.pii_region)
    tokenizer = _load_tokenizer(cfg.model) if cfg.tokens else None
    index = DuplicateIndex(NearDuplicateConfig(threshold=cfg.near_threshold) if cfg.near else None)
    texts: dict[int, str] = {}
    scans = [_scan(p, cfg, index, pii, tokenizer, texts, quiet) for p in paths]
    files = [_file_summary(s) for s in scans]
    overlap = []
    distinct = [set(np.unique(np.frombuffer(s.groups, dtype=np.int64)).tolist()) - {-1} for s in scans]
    for i in range(len(scans)):
        for j in range(i + 1, len(scans)):
            overlap.append({"a": str(paths[i]), "b": str(paths[j]), "exact_texts": len(distinct[i] & distinct[j])})
    if cfg.near:
        within, between = _near_findings(scans, index, texts)
        for f, w in zip(files, within):
            f["near_duplicate_pairs"], f["near_duplicate_examples"] = w["pairs"], w["examples"]
        for o, bt in zip(overlap, between):
            o.update(bt)
    summary = {"config": asdict(cfg), "files": files, "overlap": overlap}
    if output is not None:
        from lmforge.data.report import write_inspect_report

        output = Path(output)
        output.mkdir(parents=True, exist_ok=True)
        (output / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False))
        write_inspect_report(summary, output)
        summary["report"] = str(output / "report.html")
    return summary
