"""`lmforge compare DIR...`: artifacts side by side — accuracy, size, speed — as a table and a PNG.

By default every artifact is measured again, now, in this one process and on one labelled file, so the
numbers are comparable (timings from different runs on a shared machine are not). ``recorded=True``
prints what each manifest recorded when the artifact was made instead (no model is loaded).

    >>> rows = compare(["runs/sst2", "runs/sst2-onnx", "runs/sst2-int8"], plot="compare.png")
    >>> print(format_table(rows))
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from lmforge.artifacts import read_manifest
from lmforge.compression.measure import measure_pair, size_on_disk_mb
from lmforge.compression.parent_data import label_ids, parent_dev_data
from lmforge.data.examples import load_labeled_texts
from lmforge.errors import ArtifactError, ConfigError

COLUMNS = (("artifact", "artifact"), ("method", "method"), ("backend", "backend"), ("accuracy", "accuracy %"),
           ("size_mb", "size MB"), ("sentences_per_s_b32", "sent/s b32"), ("p50_latency_ms_b1", "p50 ms b1"),
           ("speedup_b32", "× first b32"))


def method_of(model_dir: Path) -> str:
    manifest = read_manifest(model_dir)
    return manifest.get("compression", {}).get("method") or manifest.get("lmforge_task") or "?"


def recorded_rows(dirs: Sequence[Path]) -> list[dict]:
    rows = []
    for d in dirs:
        measured = read_manifest(d).get("measurements")
        if not measured:
            raise ArtifactError(f"{d} records no measurements (only `lmforge compress` outputs do); "
                                "drop --recorded to measure every artifact now")
        rows.append({"artifact": d.name, "method": method_of(d), **measured["artifact"],
                     "speedup_b32": measured["ratios"].get("speedup_b32")})
    return rows


def compare(dirs: Sequence[str | Path], eval: str | Path | None = None, *, plot: str | Path | None = None,
            recorded: bool = False, speed_texts: int = 512, quiet: bool = False) -> list[dict]:
    """One row per artifact (see the module docstring); writes the accuracy-vs-speed plot to ``plot``."""
    from lmforge.inference.predictor import Predictor
    from lmforge.threads import configure_threads

    dirs = [Path(d) for d in dirs]
    if not dirs:
        raise ConfigError("compare needs at least one model directory")
    if recorded:
        rows = recorded_rows(dirs)
    else:
        configure_threads(None)
        data = load_labeled_texts(eval) if eval else parent_dev_data(dirs[0])
        predictors = {d.name: Predictor.load(d) for d in dirs}
        if len(predictors) < len(dirs):
            raise ConfigError("compare needs directories with distinct names (they label the rows)")
        label_sets = {tuple(p.labels) for p in predictors.values()}
        if len(label_sets) > 1:
            raise ConfigError(f"the artifacts have different labels ({' vs '.join(map(str, label_sets))}); "
                              "compare models of the same task")
        gold = label_ids(data, next(iter(predictors.values())).labels)
        measured = measure_pair(predictors, data.texts, gold, speed_texts=speed_texts, progress=not quiet)
        first = measured[dirs[0].name]["sentences_per_s_b32"]
        rows = [{"artifact": d.name, "method": method_of(d), **measured[d.name], "size_mb": size_on_disk_mb(d),
                 "speedup_b32": round(measured[d.name]["sentences_per_s_b32"] / first, 3)} for d in dirs]
    if plot:
        accuracy_vs_speed_png(rows, Path(plot))
    return rows


def format_table(rows: list[dict]) -> str:
    def cell(row, key):
        value = row.get(key)
        if value is None:
            return "-"
        if key == "accuracy":
            return f"{100 * value:.2f}"
        return f"{value:g}" if isinstance(value, float) else str(value)

    table = [[title for _, title in COLUMNS]] + [[cell(row, key) for key, _ in COLUMNS] for row in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(COLUMNS))]
    lines = ["  ".join(c.ljust(w) if i < 3 else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths)))
             for line in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def accuracy_vs_speed_png(rows: list[dict], path: Path) -> Path:
    """Accuracy against sentences/s at batch 32; marker area ∝ size on disk."""
    from lmforge.html_report import pyplot as _pyplot

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.8))
    largest = max((r.get("size_mb") or 1) for r in rows)
    for row in rows:
        if row.get("accuracy") is None:
            continue
        x, y = row["sentences_per_s_b32"], 100 * row["accuracy"]
        ax.scatter([x], [y], s=40 + 400 * (row.get("size_mb") or 0) / largest, alpha=0.6)
        ax.annotate(f"{row['artifact']}\n{row.get('size_mb', 0):g} MB", (x, y), textcoords="offset points",
                    xytext=(8, 4), fontsize=8)
    ax.set_xlabel("sentences/s at batch 32 (higher is better)")
    ax.set_ylabel("accuracy % (higher is better)")
    ax.set_title("Accuracy vs speed (marker area: size on disk)")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
