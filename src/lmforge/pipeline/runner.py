"""``lmforge run pipeline.yaml``: prepare → fine-tune → evaluate → compress → cost, skipping what is done.

Each stage has a fingerprint: a hash of its settings, the content of its input files and the fingerprints
of the stages it reads from. ``OUTPUT/pipeline.json`` records, per stage, the fingerprint it ran with and
whether it finished. On a re-run a stage whose fingerprint is unchanged and that finished is skipped; one
that started but never finished (the process was killed) is resumed — fine-tuning from its last
checkpoint — and anything whose fingerprint changed runs again, as does everything after it.

    >>> result = run_pipeline("pipeline.yaml")
    >>> result["stages"]
    {'finetune': 'ran', 'evaluate': 'ran', 'cost': 'ran'}
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
from pathlib import Path

from lmforge.pipeline.config import PipelineConfig, load_pipeline
from lmforge.files import sha256_file, write_json_atomic

STATE_FILE = "pipeline.json"
FINGERPRINT_VERSION = 1


def file_sha256(path: str | Path, _cache: dict = {}) -> str:  # noqa: B006 - a per-process memo on purpose
    path = Path(path)
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _cache:
        _cache[key] = sha256_file(path)
    return _cache[key]


def fingerprint(stage: str, settings, files: list, upstream: list[str]) -> str:
    """sha256 over the stage's settings, its input files' content and the fingerprints it builds on."""
    payload = {"version": FINGERPRINT_VERSION, "stage": stage,
               "settings": dataclasses.asdict(settings) if dataclasses.is_dataclass(settings) else settings,
               "files": {str(f): file_sha256(f) for f in files if f}, "upstream": upstream}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


class PipelineState:
    """``pipeline.json``: per stage, the fingerprint it last ran with and its status (running / done)."""

    def __init__(self, output: Path):
        self.path = output / STATE_FILE
        self.data = json.loads(self.path.read_text()) if self.path.exists() else {"stages": {}}

    def status(self, stage: str, fp: str) -> str:
        """done (finished with this fingerprint), interrupted (started with it, never finished) or new."""
        entry = self.data["stages"].get(stage)
        if not entry or entry["fingerprint"] != fp:
            return "new"
        return "done" if entry["status"] == "done" else "interrupted"

    def mark(self, stage: str, fp: str, status: str, **extra) -> None:
        self.data["stages"][stage] = {"fingerprint": fp, "status": status, "at": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                                              time.gmtime()), **extra}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(self.path, self.data)


def prepared_file(directory: Path, role: str) -> Path | None:
    return next(iter(sorted(directory.glob(f"{role}.*"))), None)


def stage_plan(cfg: PipelineConfig) -> list[dict]:
    """What each stage reads and writes, in order (dicts with name, settings, files, upstream, output)."""
    out = Path(cfg.output)
    plan, upstream = [], {}
    data_files = [cfg.data.train, cfg.data.dev, cfg.data.test]
    if cfg.prepare is not None:
        plan.append({"name": "prepare", "settings": cfg.prepare, "files": data_files, "after": [], "output": out / "data"})
    finetune_files = [] if cfg.prepare is not None else [cfg.data.train, cfg.data.dev]
    plan.append({"name": "finetune", "settings": cfg.finetune, "files": finetune_files,
                 "after": ["prepare"] if cfg.prepare is not None else [], "output": out / "model"})
    if cfg.evaluate is not None:
        plan.append({"name": "evaluate", "settings": cfg.evaluate, "files": [cfg.data.test], "after": ["finetune"],
                     "output": out / "eval"})
    if cfg.compress is not None:
        plan.append({"name": "compress", "settings": cfg.compress, "files": [], "after": ["finetune"],
                     "output": out / "compressed"})
    if cfg.cost is not None:
        after = ["finetune", "evaluate", "compress"]
        plan.append({"name": "cost", "settings": cfg.cost, "files": [], "after": [a for a in after
                     if any(p["name"] == a for p in plan)], "output": out / "cost"})
    for step in plan:
        step["fingerprint"] = fingerprint(step["name"], step["settings"], step["files"],
                                          [upstream[a] for a in step["after"]])
        upstream[step["name"]] = step["fingerprint"]
    return plan


def run_stage(step: dict, cfg: PipelineConfig, resume: bool, quiet: bool) -> None:
    name, output, out = step["name"], step["output"], Path(cfg.output)
    if name == "prepare":
        from lmforge.data.prepare import prepare_data

        prepare_data([f for f in (cfg.data.train, cfg.data.dev, cfg.data.test) if f], output, step["settings"],
                     overwrite=True, quiet=quiet)
    elif name == "finetune":
        from lmforge.training.finetune import finetune

        train, dev = (out / "data", None) if cfg.prepare is not None else (cfg.data.train, cfg.data.dev)
        resumable = resume and (output / "checkpoints" / "latest").exists()
        if not quiet and resumable:
            print(f"resuming finetune from {output / 'checkpoints'}")
        finetune(train, output, dev, step["settings"], resume=resumable, overwrite=not resumable, quiet=quiet)
    elif name == "evaluate":
        from lmforge.evaluation.evaluate import evaluate

        test = cfg.data.test
        if cfg.prepare is not None and (prepared := prepared_file(out / "data", "test")) is not None:
            test = prepared
        s = step["settings"]
        evaluate(out / "model", test, output, text_column=s.text_column, label_column=s.label_column, backend=s.backend)
    elif name == "compress":
        from lmforge.compression.recipe import compress

        compress(out / "model", output, step["settings"], overwrite=True, quiet=quiet)
    elif name == "cost":
        from lmforge.costs.report import cost_report

        also = [out / "compressed"] if cfg.compress is not None else []
        cost_report(out / "model", step["settings"], output, also=also, quiet=quiet)


def run_pipeline(path: str | Path, force: tuple[str, ...] = (), quiet: bool = False, dry_run: bool = False) -> dict:
    """Run the pipeline file at ``path``; returns what happened to each stage (ran, resumed, skipped)."""
    cfg = load_pipeline(path)  # every configuration error, before any work
    plan = stage_plan(cfg)
    state = PipelineState(Path(cfg.output))
    outcome, rerun_rest = {}, False
    for step in plan:
        name, fp = step["name"], step["fingerprint"]
        status = state.status(name, fp)
        if status == "done" and not rerun_rest and name not in force and step["output"].exists():
            outcome[name] = "skipped"
            if not quiet:
                print(f"[{name}] unchanged since its last run: skipped")
            continue
        rerun_rest = True  # a stage that runs again makes every later stage stale too (their fingerprints agree)
        action = "resumed" if status == "interrupted" and name not in force else "ran"
        outcome[name] = f"would run ({action})" if dry_run else action
        if dry_run:
            continue
        if not quiet:
            print(f"[{name}] {'resuming an interrupted run' if action == 'resumed' else 'running'}")
        state.mark(name, fp, "running", pid=os.getpid())
        t0 = time.perf_counter()
        run_stage(step, cfg, resume=action == "resumed", quiet=quiet)
        state.mark(name, fp, "done", wall_s=round(time.perf_counter() - t0, 2), output=str(step["output"]))
    result = {"pipeline": str(path), "output": cfg.output, "stages": outcome}
    if not dry_run:
        from lmforge.tracking import log_stage

        log_stage("pipeline", Path(cfg.output), params={"pipeline": str(path), **{f"stage.{k}": v for k, v in outcome.items()}},
                  log_model=False)
    return result
