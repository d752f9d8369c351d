"""`lmforge data prepare`: clean, redact, deduplicate and split labelled text, accounting for every row.

    >>> result = prepare_data(["raw.csv"], "data/prepared", PrepareConfig(dedup="near", redact_pii=True))
    >>> c = result["counts"]              # every input row is in an output file or in removed.jsonl
    >>> c["rows_in"] == c["rows_out"] + c["removed"]
    True
    >>> # lmforge finetune data/prepared --output runs/model   (reads train.jsonl and dev.jsonl)

Two passes over the data. Pass 1 streams every input: cleans and redacts each text, writes each altered
row to changes.jsonl and each unusable one (empty text, missing label) to removed.jsonl, spools the rest
to disk and keeps per row only a few integers (text group, label, file, row) plus one MinHash signature
per distinct text. The decisions (conflicts, duplicates, split, leakage) are numpy over those arrays
(:mod:`lmforge.data.decisions`). Pass 2 streams the spool into train/dev/test.jsonl and removed.jsonl.

Inputs named train/dev/valid/test keep their role (and are checked for leakage between them); other
inputs, or any input when ``split`` is given, are pooled and split.
"""

from __future__ import annotations

import dataclasses
import json
import time
from array import array
from collections import Counter
from pathlib import Path

import numpy as np

from lmforge.data import decisions
from lmforge.data.cleaning import CleaningConfig, TextCleaner  # noqa: F401 (CleaningConfig: also importable from here)
from lmforge.data.examples import LabelSet
from lmforge.files import refuse_to_replace, sha256_file
from lmforge.data.near_duplicates import DuplicateIndex, NearDuplicateConfig, lsh_bands
from lmforge.data.profile import TextProfile
from lmforge.data.reading import chunked, open_rows
from lmforge.data.settings import CONFLICTS, DEDUP, PrepareConfig  # noqa: F401 (also importable from here)
from lmforge.errors import ConfigError, DataError

ROLE_NAMES = {"train": 0, "dev": 1, "valid": 1, "validation": 1, "val": 1, "test": 2}
CHUNK_ROWS = 4096


class _Pass1:
    """State of the first pass: the per-row arrays and the streamed side files."""

    def __init__(self, output: Path, cfg: PrepareConfig):
        near = cfg.dedup == "near" or cfg.near_check
        self.index = DuplicateIndex(NearDuplicateConfig(threshold=cfg.near_threshold) if near else None)
        self.cleaner = TextCleaner(cfg.cleaning)
        self.redactor = None
        if cfg.redact_pii:
            from lmforge.data.pii import PiiRedactor

            kinds = [k.strip().upper() for k in cfg.pii_kinds.split(",")] if cfg.pii_kinds else None
            self.redactor = PiiRedactor(kinds, region=cfg.pii_region)
        self.groups, self.labels = array("q"), array("q")
        self.files, self.rows, self.roles = array("H"), array("Q"), array("b")
        self.label_ids: dict[str, int] = {}
        self.changes_by_step: Counter = Counter()
        self.removed_by_reason: Counter = Counter()
        self.pii: Counter = Counter()
        self.rows_in = self.altered = 0
        self.changes = open(output / "changes.jsonl", "w", encoding="utf-8")
        self.removed = open(output / "removed.jsonl", "w", encoding="utf-8")
        self.spool = open(output / ".spool.jsonl", "w", encoding="utf-8")

    def remove(self, source: str, row: int, reason: str, text: str, label: str | None) -> None:
        self.removed_by_reason[reason] += 1
        self.removed.write(json.dumps({"file": source, "row": row, "reason": reason, "text": text,
                                       "label": label}, ensure_ascii=False) + "\n")

    def add_chunk(self, chunk: list, file_id: int, source: str, role: int, labelled: bool) -> None:
        kept_texts = []
        for row, text, label in chunk:
            self.rows_in += 1
            cleaned, steps = self.cleaner.clean(text)
            if self.redactor is not None and cleaned:
                cleaned, found = self.redactor.redact(cleaned)
                if found:
                    self.pii.update(found)
                    steps.append("pii:" + "+".join(sorted(found)))
            if not cleaned.strip():
                self.remove(source, row, "empty_text", text, label)
                continue
            if labelled and label is None:
                self.remove(source, row, "missing_label", text, label)
                continue
            if steps:
                self.altered += 1
                self.changes_by_step.update(s.split(":")[0] if s.startswith("pii:") else s for s in steps)
                self.changes.write(json.dumps({"file": source, "row": row, "steps": steps, "before": text,
                                               "after": cleaned}, ensure_ascii=False) + "\n")
            self.spool.write(json.dumps([cleaned, label], ensure_ascii=False) + "\n")
            kept_texts.append(cleaned)
            self.labels.append(-1 if label is None else self.label_ids.setdefault(label, len(self.label_ids)))
            self.files.append(file_id)
            self.rows.append(row)
            self.roles.append(role)
        if kept_texts:
            self.groups.extend(self.index.add(kept_texts).tolist())

    def close(self) -> None:
        for f in (self.changes, self.removed, self.spool):
            f.close()


def _roles(paths: list[Path], cfg: PrepareConfig) -> list[int] | None:
    """Each input's split when every input is named like one (train.csv, dev.tsv …) and no split is asked."""
    if cfg.split is not None:
        return None
    roles = [ROLE_NAMES.get(p.stem.lower()) for p in paths]
    if any(r is None for r in roles) or 0 not in roles:
        return None
    return roles  # type: ignore[return-value]


def _check_output(output: Path, overwrite: bool) -> None:
    refuse_to_replace(output, overwrite, error=DataError)
    output.mkdir(parents=True, exist_ok=True)


def _decide(p1: _Pass1, cfg: PrepareConfig, roles: list[int] | None) -> tuple[decisions.RowState, np.ndarray, dict]:
    groups = np.frombuffer(p1.groups, dtype=np.int64)
    labels = np.frombuffer(p1.labels, dtype=np.int64)
    role = np.frombuffer(p1.roles, dtype=np.int8).astype(np.int64)
    state = decisions.RowState(groups, labels, role if roles else np.zeros(len(groups), dtype=np.int64))
    report: dict = {"conflicts": decisions.resolve_conflicts(state, cfg.conflicts)}
    cluster = None
    if p1.index.hasher is not None:
        a, b, _ = p1.index.near_pairs()
        bands, rows = lsh_bands(cfg.near_threshold, p1.index.hasher.num_perm)
        report["near"] = {"pairs_of_distinct_texts": int(len(a)), "threshold": cfg.near_threshold,
                          "num_perm": p1.index.hasher.num_perm, "lsh_bands": bands, "lsh_rows": rows}
        cluster = decisions.near_clusters(len(p1.index), a, b)[groups] if len(groups) else groups
    if cfg.dedup in ("exact", "near"):
        decisions.mark_duplicates(state, groups, decisions.EXACT_DUPLICATE)
    if cfg.dedup == "near":
        decisions.mark_duplicates(state, cluster, decisions.NEAR_DUPLICATE)
    if roles:
        split = role.astype(np.int8)
    else:
        stratify = cfg.stratify and bool((labels >= 0).any())
        split = decisions.assign_splits(labels, state.kept, cfg.fractions(), stratify, cfg.seed)
    report["leakage"] = decisions.leakage(state, split, cluster, cfg.remove_leaked)
    return state, split, report


def _write_outputs(output: Path, p1: _Pass1, state: decisions.RowState, split: np.ndarray,
                   sources: list[str], quiet: bool) -> dict[str, TextProfile]:
    from tqdm import tqdm

    present = sorted(set(split[state.kept].tolist()))
    outs = {s: open(output / f"{decisions.SPLITS[s]}.jsonl", "w", encoding="utf-8") for s in present}
    profiles = {decisions.SPLITS[s]: TextProfile(decisions.SPLITS[s]) for s in present}
    files, rows = np.frombuffer(p1.files, dtype=np.uint16), np.frombuffer(p1.rows, dtype=np.uint64)
    with open(output / ".spool.jsonl", encoding="utf-8") as spool, open(output / "removed.jsonl", "a",
                                                                        encoding="utf-8") as removed:
        for i, line in enumerate(tqdm(spool, total=len(split), desc="write splits", unit=" rows",
                                      disable=quiet, mininterval=1.0)):
            text, label = json.loads(line)
            reason = int(state.reason[i])
            if reason:
                dup = int(state.duplicate_of[i])
                entry = {"file": sources[files[i]], "row": int(rows[i]), "reason": decisions.REASONS[reason],
                         "text": text, "label": label}
                if dup >= 0:
                    entry["duplicate_of"] = {"file": sources[files[dup]], "row": int(rows[dup])}
                removed.write(json.dumps(entry, ensure_ascii=False) + "\n")
                p1.removed_by_reason[decisions.REASONS[reason]] += 1
                continue
            s = int(split[i])
            record = {"text": text} if label is None else {"text": text, "label": label}
            outs[s].write(json.dumps(record, ensure_ascii=False) + "\n")
            profiles[decisions.SPLITS[s]].add([(i + 1, text, label)])
    for f in outs.values():
        f.close()
    (output / ".spool.jsonl").unlink()
    return profiles


def prepare_data(inputs: list[str | Path], output: str | Path, config: PrepareConfig | None = None, *,
                 overwrite: bool = False, quiet: bool = False, report: bool = True) -> dict:
    """Prepare ``inputs`` into ``output``; returns the manifest (also written as manifest.json).

    ``report=False`` skips report.html and its plots (the manifest holds every number either way).
    """
    from tqdm import tqdm

    from lmforge.version import __version__
    from lmforge.artifacts import write_manifest

    cfg = (config or PrepareConfig()).validate()
    started = time.perf_counter()
    paths, output = [Path(p) for p in inputs], Path(output)
    if not paths:
        raise ConfigError("give at least one input file")
    _check_output(output, overwrite)
    roles = _roles(paths, cfg)
    p1 = _Pass1(output, cfg)
    inputs_info = []
    try:
        for file_id, path in enumerate(paths):
            source = open_rows(path, cfg.text_column, cfg.label_column, cfg.encoding)
            before = p1.rows_in
            with tqdm(desc=f"clean {path.name}", unit=" rows", disable=quiet, mininterval=1.0) as bar:
                for chunk in chunked(source.rows, CHUNK_ROWS):
                    p1.add_chunk(chunk, file_id, str(path), roles[file_id] if roles else 3,
                                 source.label_column is not None)
                    bar.update(len(chunk))
            inputs_info.append({"path": str(path), "sha256": sha256_file(path), "rows": p1.rows_in - before,
                                "text_column": source.text_column, "label_column": source.label_column,
                                "split": decisions.SPLITS[roles[file_id]] if roles else "pooled"})
    finally:
        p1.close()
    state, split, report = _decide(p1, cfg, roles)
    profiles = _write_outputs(output, p1, state, split, [str(p) for p in paths], quiet)
    outputs = {name: {"path": f"{name}.jsonl", "rows": prof.rows, "sha256": sha256_file(output / f"{name}.jsonl"),
                      "label_distribution": {k: prof.labels[k] for k in LabelSet.from_labels(list(prof.labels)).names}}
               for name, prof in profiles.items()}
    rows_out = sum(o["rows"] for o in outputs.values())
    removed = sum(p1.removed_by_reason.values())
    manifest = {
        "kind": "prepared-data", "lmforge_version": __version__,
        "config": {**dataclasses.asdict(cfg), "split_fractions": None if roles else cfg.fractions()},
        "inputs": inputs_info, "outputs": outputs,
        "counts": {"rows_in": p1.rows_in, "rows_out": rows_out, "removed": removed,
                   "altered": p1.altered},
        "removed_by_reason": dict(p1.removed_by_reason.most_common()),
        "changes_by_step": dict(p1.changes_by_step.most_common()),
        "pii_redacted": dict(p1.pii.most_common()),
        "files": {"removed": "removed.jsonl", "changes": "changes.jsonl", "report": "report.html"},
        "wall_s": round(time.perf_counter() - started, 2),
        **report,
    }
    if rows_out + removed != p1.rows_in:  # the promise of this module; a failure here is a bug in it
        raise AssertionError(f"rows in {p1.rows_in} != rows out {rows_out} + removed {removed}")
    if report:
        from lmforge.data.report import write_prepare_report

        write_prepare_report(manifest, {n: p.summary() for n, p in profiles.items()}, output)
    else:
        del manifest["files"]["report"]
    write_manifest(output, manifest)
    from lmforge.tracking import log_stage  # MLflow; a tracking failure is a warning, never an error

    log_stage("prepare", output, manifest, metrics=manifest["counts"], artifacts=[output / "report.html"], log_model=False)
    return manifest
