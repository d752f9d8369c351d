"""``lmforge tune``: an Optuna search over learning rate, batch size, epochs and method, stopping bad
trials early, optimising dev accuracy or accuracy per dollar; every trial is a tracked fine-tune.

Each trial is a ``lmforge finetune`` child process. After every dev evaluation the loop writes a
checkpoint whose history the tuner reads and reports to Optuna; when the median pruner says a trial is
worse than the trials before it at the same step, the child is stopped and the trial pruned (its cost
still counted, from a stopwatch). A study lives in ``OUTPUT/optuna.db``, so an interrupted search
continues where it stopped when run again.

    >>> result = tune("train.csv", "runs/tune", TuneSettings(trials=8, objective="accuracy_per_dollar"))
    >>> result["best"]["params"]
    {'method': 'lora', 'lr': 0.0007, 'batch_size': 32, 'epochs': 2}
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from lmforge.artifacts import read_manifest
from lmforge.config import DEFAULT_LR, METHODS, setting
from lmforge.metering.prices import resolve_price
from lmforge.errors import ConfigError, missing_extra
from lmforge.tasks import DEFAULT_TASK, get_task

OBJECTIVES = ("accuracy", "accuracy_per_dollar")
POLL_S = 0.5


@dataclass
class TuneSettings:
    """What ``lmforge tune`` searches and how."""

    trials: int = setting(10, "trials to run (a re-run of the same --output adds to the study)")
    objective: str = setting("accuracy", "what to maximise: accuracy (dev) or accuracy_per_dollar (dev "
                                         "accuracy / training $)", choices=OBJECTIVES)
    methods: str = setting("full,lora,head", "comma-separated methods to try")
    batch_sizes: str = setting("16,32,64", "comma-separated batch sizes to try")
    min_epochs: int = setting(1, "fewest epochs a trial trains")
    max_epochs: int = setting(3, "most epochs a trial trains")
    lr_range: float = setting(10.0, "learning rates tried span each method's default / this .. x this (log scale)")
    eval_every: int = setting(0, "dev evaluations every N steps, where bad trials are stopped (0: each epoch)")
    prune_after: int = setting(2, "trials that run to the end before pruning starts")
    seed: int = setting(0, "seed of the sampler (and of each trial's training)")
    model: str | None = setting(None, "base model directory (default: the bundled all-MiniLM-L6-v2)")
    max_length: int = setting(128, "tokens kept per text")
    price_per_hour: float | None = setting(None, "$ per hour of this machine (default: by hardware class)")
    instance: str | None = setting(None, "price-table name of this machine, e.g. aws/c7i.large")
    task: str = setting("text-classification", "the task every trial fine-tunes (lmforge.tasks); the objective's "
                                               "'accuracy' is the task's primary dev metric")

    def validate(self) -> TuneSettings:
        problems = []
        if self.trials < 1:
            problems.append(f"trials must be at least 1, got {self.trials}")
        if self.objective not in OBJECTIVES:
            problems.append(f"objective '{self.objective}' is not one of {', '.join(OBJECTIVES)}")
        bad = [m for m in self.method_list() if m not in METHODS]
        if bad or not self.method_list():
            problems.append(f"methods '{self.methods}' must be a comma-separated subset of {', '.join(METHODS)}")
        try:
            if not self.batch_size_list() or min(self.batch_size_list()) < 1:
                problems.append(f"batch_sizes '{self.batch_sizes}' must be positive integers")
        except ValueError:
            problems.append(f"batch_sizes '{self.batch_sizes}' must be comma-separated integers such as 16,32")
        if not 1 <= self.min_epochs <= self.max_epochs:
            problems.append(f"epochs range {self.min_epochs}..{self.max_epochs} must satisfy 1 <= min <= max")
        if self.lr_range < 1:
            problems.append(f"lr_range must be at least 1, got {self.lr_range}")
        if problems:
            raise ConfigError(problems)
        return self

    def method_list(self) -> list[str]:
        return [m.strip() for m in self.methods.split(",") if m.strip()]

    def batch_size_list(self) -> list[int]:
        return [int(b) for b in self.batch_sizes.split(",") if b.strip()]


def suggest(trial, s: TuneSettings) -> dict:
    method = trial.suggest_categorical("method", s.method_list())
    default = DEFAULT_LR[method]
    return {"method": method,
            "lr": trial.suggest_float(f"lr_{method}", default / s.lr_range, min(0.5, default * s.lr_range), log=True),
            "batch_size": trial.suggest_categorical("batch_size", s.batch_size_list()),
            "epochs": trial.suggest_int("epochs", s.min_epochs, s.max_epochs)}


def finetune_command(train: Path, dev: Path | None, output: Path, params: dict, s: TuneSettings) -> list[str]:
    cmd = [sys.executable, "-m", "lmforge", "finetune", str(train), "--output", str(output), "--overwrite", "--quiet",
           "--method", params["method"], "--lr", repr(params["lr"]), "--batch-size", str(params["batch_size"]),
           "--epochs", str(params["epochs"]), "--eval-every", str(s.eval_every), "--patience", "0",
           "--seed", str(s.seed), "--max-length", str(s.max_length), "--checkpoint-every", "1000000"]
    for flag, value in (("--dev", dev), ("--model", s.model), ("--price-per-hour", s.price_per_hour),
                        ("--task", None if s.task == DEFAULT_TASK else s.task)):
        if value is not None:
            cmd += [flag, str(value)]
    return cmd


def checkpoint_history(run_dir: Path) -> list[dict]:
    """The dev evaluations a running fine-tune has checkpointed so far (empty when none yet)."""
    try:
        pointer = run_dir / "checkpoints" / "latest"
        state = run_dir / "checkpoints" / pointer.read_text().strip() / "state.json"
        return json.loads(state.read_text()).get("history", [])
    except (OSError, ValueError):
        return []  # not written yet, or being replaced right now: read again at the next poll


def objective_value(accuracy: float, cost_usd: float, objective: str) -> float:
    return accuracy if objective == "accuracy" else accuracy / max(cost_usd, 1e-12)


def run_trial(trial, train: Path, dev: Path | None, root: Path, s: TuneSettings, price_per_hour: float) -> float:
    import optuna

    params = suggest(trial, s)
    metric = get_task(s.task).primary_metric  # what the trials are compared by ("accuracy" for a classifier)
    out = root / f"trial-{trial.number:03d}"
    env = {**os.environ, "LMFORGE_TRACKING_TAGS": json.dumps({"lmforge.tune.study": str(root.resolve()),
                                                              "lmforge.tune.trial": str(trial.number)})}
    log = root / f"trial-{trial.number:03d}.log"  # a file, not a pipe: a chatty child never blocks on a full pipe
    started = time.perf_counter()
    with open(log, "w") as log_file:
        child = subprocess.Popen(finetune_command(train, dev, out, params, s), env=env, stdout=log_file,
                                 stderr=subprocess.STDOUT, start_new_session=True)
    reported = 0
    while child.poll() is None:
        time.sleep(POLL_S)
        history = checkpoint_history(out)
        for entry in history[reported:]:
            trial.report(entry[metric], entry["step"])
            if trial.should_prune():
                os.killpg(child.pid, signal.SIGTERM)  # our own child's process group, nothing else
                child.wait()
                cost = (time.perf_counter() - started) / 3600 * price_per_hour
                trial.set_user_attr("cost_usd", cost)
                trial.set_user_attr("pruned_at_step", entry["step"])
                raise optuna.TrialPruned(f"dev {metric} {entry[metric]:.4f} at step {entry['step']}")
        reported = max(reported, len(history))
    if child.returncode != 0:
        error = log.read_text(errors="replace").strip().splitlines()[-3:]
        raise ConfigError(f"trial {trial.number} ({params}) failed: {' '.join(error)} (whole log: {log})")
    manifest = read_manifest(out)
    accuracy, cost = manifest["metrics"]["dev"][metric], manifest["cost"]["usd"]
    trial.set_user_attr("accuracy", accuracy)
    trial.set_user_attr("cost_usd", cost)
    trial.set_user_attr("output", str(out))
    return objective_value(accuracy, cost, s.objective)


def tune(train: str | Path, output: str | Path, settings: TuneSettings | None = None, dev: str | Path | None = None,
         quiet: bool = False) -> dict:
    """Search fine-tuning settings for ``train``; returns the best trial and every trial's record."""
    s = (settings or TuneSettings()).validate()
    try:
        import optuna
    except ImportError:
        raise missing_extra("lmforge tune", "tune", "optuna") from None
    train, root = Path(train), Path(output)
    if not train.exists():
        raise ConfigError(f"training file {train} does not exist")
    root.mkdir(parents=True, exist_ok=True)
    price = resolve_price(s.price_per_hour, s.instance).usd_per_hour
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        study_name="lmforge-tune", storage=f"sqlite:///{root.resolve() / 'optuna.db'}", load_if_exists=True,
        direction="maximize", sampler=optuna.samplers.TPESampler(seed=s.seed),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=s.prune_after, n_warmup_steps=0))
    from tqdm.auto import tqdm

    with tqdm(total=s.trials, unit="trial", disable=quiet) as bar:
        def done(study, trial):
            bar.update(1)
            bar.set_postfix(best=f"{study.best_value:.4g}" if any_complete(study) else "-")

        study.optimize(lambda t: run_trial(t, train, Path(dev) if dev else None, root, s, price), n_trials=s.trials,
                       callbacks=[done], catch=())
    trials = [trial_record(t) for t in study.trials]
    if not any_complete(study):
        raise ConfigError(f"no trial of {root} finished (all pruned); run more trials or set --prune-after higher")
    best = study.best_trial
    result = {"objective": s.objective, "settings": asdict(s), "price_per_hour": price, "trials": trials,
              "best": trial_record(best), "output": str(root)}
    (root / "tune.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    trials_png(trials, root / "trials.png", s.objective)
    from lmforge.tracking import log_stage

    log_stage("tune", root, params={"objective": s.objective, **{f"best.{k}": v for k, v in best.params.items()}},
              metrics={"best_value": best.value, "trials": len(trials),
                       "pruned": sum(t["state"] == "PRUNED" for t in trials)},
              artifacts=[root / "tune.json", root / "trials.png"], log_model=False)
    return result


def any_complete(study) -> bool:
    return any(t.state.name == "COMPLETE" for t in study.trials)


def trial_record(t) -> dict:
    params = dict(t.params)
    method = params.get("method")
    if method and f"lr_{method}" in params:
        params["lr"] = params.pop(f"lr_{method}")
    return {"number": t.number, "state": t.state.name, "value": t.value, "params": params, **t.user_attrs}


def trials_png(trials: list[dict], path: Path, objective: str) -> Path:
    """Each trial's dev accuracy against what it cost; pruned trials at their cost when stopped."""
    from lmforge.html_report import pyplot as _pyplot

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for t in trials:
        if t.get("cost_usd") is None:
            continue
        if t["state"] == "COMPLETE":
            ax.scatter(t["cost_usd"], t["accuracy"], s=50)
            ax.annotate(f"#{t['number']} {t['params'].get('method')}", (t["cost_usd"], t["accuracy"]),
                        textcoords="offset points", xytext=(5, 4), fontsize=8)
        else:
            ax.axvline(t["cost_usd"], color="grey", alpha=0.3, linestyle=":")
    ax.set_xlabel("training $ (dotted: pruned trials, stopped early)")
    ax.set_ylabel("dev accuracy")
    ax.set_title(f"Tuning trials (objective: {objective})")
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def describe(result: dict) -> str:
    lines = [f"{'#':>3}  {'state':9} {'method':6} {'lr':>9} {'batch':>5} {'epochs':>6} {'accuracy':>8} {'cost $':>10}"]
    for t in result["trials"]:
        p = t["params"]
        acc = f"{t['accuracy']:.4f}" if t.get("accuracy") is not None else "-"
        cost = f"{t['cost_usd']:.2e}" if t.get("cost_usd") is not None else "-"
        lines.append(f"{t['number']:>3}  {t['state'].lower():9} {p.get('method', ''):6} {p.get('lr', math.nan):>9.2e} "
                     f"{p.get('batch_size', ''):>5} {p.get('epochs', ''):>6} {acc:>8} {cost:>10}")
    b = result["best"]
    lines.append(f"best: trial {b['number']} ({result['objective']} {b['value']:.4g}) {b['params']} → {b.get('output')}")
    return "\n".join(lines)
