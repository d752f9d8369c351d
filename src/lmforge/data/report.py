"""Reports of `lmforge data inspect` and `lmforge data prepare`: PNG plots, the data behind them as
figures.json, and one self-contained report.html."""

from __future__ import annotations

import html
import json
from pathlib import Path

import numpy as np

from lmforge.html_report import pyplot as _pyplot
from lmforge.html_report import STYLE, embed_png
from lmforge.html_report import table as _table

MAX_LABELS_PLOTTED = 40


def _grouped_bars(series: dict[str, dict[str, int]], title: str, xlabel: str, path: Path,
                  horizontal: bool = False) -> Path:
    """One bar group per category, one colour per series (file or split). With several series the bars are
    shares of each series' total, so a small test file stays visible beside a large train file."""
    plt = _pyplot()
    categories = list(dict.fromkeys(k for s in series.values() for k in s))
    while categories and not any(s.get(categories[-1], 0) for s in series.values()):
        categories.pop()  # empty length bins at the long end
    if len(series) > 1:
        series = {name: {k: 100 * v / max(1, sum(counts.values())) for k, v in counts.items()}
                  for name, counts in series.items()}
        xlabel = f"% of {xlabel}"
    width = 0.8 / max(1, len(series))
    positions = np.arange(len(categories))
    size = (8, max(3.0, 0.25 * len(categories) + 1.5)) if horizontal else (max(6.0, 0.5 * len(categories) + 2), 4)
    fig, ax = plt.subplots(figsize=size)
    for i, (name, counts) in enumerate(series.items()):
        values = [counts.get(c, 0) for c in categories]
        offset = positions + i * width - 0.4 + width / 2
        (ax.barh if horizontal else ax.bar)(offset, values, width, label=name)
    if horizontal:
        ax.set_yticks(positions, labels=categories, fontsize=8 if len(categories) > 20 else 10)
        ax.invert_yaxis()
        ax.set_xlabel(xlabel)
    else:
        ax.set_xticks(positions, labels=categories, rotation=45 if len(categories) > 5 else 0, ha="right")
        ax.set_ylabel(xlabel)
    if len(series) > 1:
        ax.legend(fontsize=8)
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _figures(entries: list[tuple[str, dict]], output: Path) -> tuple[dict, dict[str, Path]]:
    """Label, length and PII plots for a list of (name, profile summary)."""
    data = {
        "label_distribution": {n: dict(list(s["label_distribution"].items())[:MAX_LABELS_PLOTTED])
                               for n, s in entries if s["label_distribution"]},
        "char_length": {n: s["char_length"]["bins"] for n, s in entries},
        "token_length": {n: s["token_length"]["bins"] for n, s in entries if "token_length" in s},
        "pii": {n: s["pii"] for n, s in entries if s.get("pii")},
    }
    titles = {"label_distribution": ("Label distribution", "rows", True),
              "char_length": ("Text length in characters", "rows", False),
              "token_length": ("Text length in tokens", "rows", False),
              "pii": ("Personal data found, by type", "occurrences", True)}
    paths = {}
    for key, series in data.items():
        if series:
            title, axis, horizontal = titles[key]
            paths[key] = _grouped_bars(series, title, axis, output / f"{key}.png", horizontal)
    (output / "figures.json").write_text(json.dumps(data, indent=2, ensure_ascii=False))
    return data, paths


def _page(title: str, body: list[str]) -> str:
    return "\n".join([f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
                      f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>", *body,
                      "</body></html>"])


def _examples_html(examples: dict) -> str:
    rows = [[finding, e["row"], e["text"]] for finding, found in examples.items() for e in found]
    return _table(["finding", "row", "text"], rows, text_columns=(2,)) if rows else "<p>none</p>"


def _images(paths: dict[str, Path]) -> list[str]:
    return [embed_png(paths[k]) for k in ("label_distribution", "char_length", "token_length", "pii") if k in paths]


def write_inspect_report(summary: dict, output: Path) -> Path:
    files = summary["files"]
    _, paths = _figures([(Path(f["path"]).name, f) for f in files], output)
    header = ["file", "rows", "text column", "label column", "labels", "imbalance", "empty", "exact dup rows",
              "near dup pairs", "conflicting texts", "tokens > max", "mojibake", "cp1252", "HTML entities",
              "HTML tags", "PII"]
    rows = [[Path(f["path"]).name, f["rows"], f["text_column"], f["label_column"] or "–",
             len(f["label_distribution"]), f.get("imbalance_ratio", "–"), f["empty_texts"],
             f["exact_duplicate_rows"], f.get("near_duplicate_pairs", "–"), f["conflicting_label_texts"],
             f.get("token_length", {}).get("over_max_length", "–"), f["issues"].get("mojibake", 0),
             f["issues"].get("cp1252_bytes", 0), f["issues"].get("html_entity", 0), f["issues"].get("html_tag", 0),
             sum(f["pii"].values())] for f in files]
    body = ["<h2>Files</h2>", _table(header, rows)]
    if summary["overlap"]:
        body += ["<h2>Overlap between files</h2>",
                 _table(["a", "b", "same texts", "near-duplicate pairs"],
                        [[Path(o["a"]).name, Path(o["b"]).name, o["exact_texts"], o.get("near_pairs", "–")]
                         for o in summary["overlap"]])]
        near = [[Path(o["a"]).name, Path(o["b"]).name, e["similarity"], e["a"], e["b"]]
                for o in summary["overlap"] for e in o.get("near_examples", [])]
        if near:
            body.append(_table(["a", "b", "similarity", "text in a", "text in b"], near, text_columns=(3, 4)))
    body += ["<h2>Plots</h2>", *_images(paths)]
    for f in files:
        body += [f"<h2>{html.escape(Path(f['path']).name)}: examples</h2>", _examples_html(f["examples"])]
        near = [[e["similarity"], e["a"], e["b"]] for e in f.get("near_duplicate_examples", [])]
        if near:
            body.append(_table(["similarity", "text", "near-duplicate"], near, text_columns=(1, 2)))
    path = output / "report.html"
    path.write_text(_page("Data inspection", body), encoding="utf-8")
    return path


def write_prepare_report(manifest: dict, splits: dict[str, dict], output: Path) -> Path:
    _, paths = _figures(list(splits.items()), output)
    counts = manifest["counts"]
    cards = [("rows in", counts["rows_in"]), ("rows out", counts["rows_out"]), ("removed", counts["removed"]),
             ("altered", counts["altered"])]
    card_html = "".join(f'<div class="card">{html.escape(n)}<b>{v:,}</b></div>' for n, v in cards)
    body = [f"<div class='cards'>{card_html}</div>",
            "<h2>Removed rows, by reason</h2>",
            _table(["reason", "rows"], [[k, v] for k, v in manifest["removed_by_reason"].items()]),
            "<h2>Altered rows, by cleaning step</h2>",
            _table(["step", "rows"], [[k, v] for k, v in manifest["changes_by_step"].items()]),
            "<h2>Personal data redacted</h2>",
            _table(["type", "occurrences"], [[k, v] for k, v in manifest["pii_redacted"].items()]),
            "<h2>Leakage between splits</h2>",
            "<p>Rows of each split whose text (exact) or near-duplicate cluster (near, which includes exact) "
            "also occurs in train; the last row counts train rows removed for it (--remove-leaked).</p>",
            _table(["split", "exact", "near"], [[k, v.get("exact", "–"), v.get("near", "–")]
                                                for k, v in manifest["leakage"].items()]),
            "<h2>Conflicting labels</h2>",
            f"<p>{manifest['conflicts']['texts']} texts carried more than one label "
            f"(resolution: {html.escape(manifest['config']['conflicts'])}).</p>",
            "<h2>Outputs</h2>",
            _table(["split", "rows", "sha256"], [[k, v["rows"], v["sha256"]] for k, v in manifest["outputs"].items()]),
            "<h2>Plots</h2>", *_images(paths),
            "<p class='muted'>Every removed row is in removed.jsonl and every altered row in changes.jsonl, with its "
            "source file and row.</p>"]
    path = output / "report.html"
    path.write_text(_page("Data preparation", body), encoding="utf-8")
    return path
