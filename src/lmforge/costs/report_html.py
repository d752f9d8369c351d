"""The cost report as people read it: a terminal table, cost.json, PNG plots and a self-contained HTML page."""

from __future__ import annotations

import html
import json
from pathlib import Path

from lmforge.html_report import STYLE, embed_png


def money(x: float | None) -> str:
    if x is None:
        return "never"
    if x == 0:
        return "$0"
    if abs(x) < 0.01:
        return f"${x:.2g}" if abs(x) >= 1e-4 else f"${x:.2e}"
    return f"${x:,.2f}"


def months(x: float | None) -> str:
    if x is None:
        return "never"
    return f"{x * 30.4:.1f} days" if x < 1 else f"{x:.1f} months"


def accuracy_points(report: dict) -> list[tuple[str, float, float]]:
    """(name, $ per 1M predictions, accuracy) of each thing that has both."""
    acc = report["accuracy"].get("dev")
    points = [(b["backend"], b["usd_per_1m_predictions"], acc) for b in report["backends"] if acc is not None]
    base = report["baseline"]
    if base.get("usd_per_1m_predictions_here") and base.get("accuracy") is not None:
        points.append(("TF-IDF + LR baseline", base["usd_per_1m_predictions_here"], base["accuracy"]))
    return points


def accuracy_vs_cost_png(report: dict, path: Path) -> Path:
    from lmforge.html_report import pyplot as _pyplot

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, cost, acc in accuracy_points(report):
        ax.scatter(cost, acc, s=60, marker="s" if "baseline" in name else "o")
        ax.annotate(name, (cost, acc), textcoords="offset points", xytext=(6, 6), fontsize=9)
    hosted = report["hosted"]
    ax.axvline(hosted["usd_per_1m_predictions"], color="tab:red", linestyle="--", linewidth=1)
    ax.annotate(f"{hosted['name']}\n(accuracy not measured)", (hosted["usd_per_1m_predictions"], 0.02),
                xycoords=("data", "axes fraction"), fontsize=8, color="tab:red", ha="right")
    ax.set_xscale("log")
    ax.set_xlabel(f"$ per 1M predictions on {report['price'].get('instance') or 'this machine'} (log scale)")
    ax.set_ylabel("dev accuracy")
    ax.set_title("Accuracy vs cost")
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def cumulative_cost_png(report: dict, path: Path, horizon: int = 12) -> Path:
    """Training + serving vs the hosted API, month by month: where the lines cross is the break-even."""
    from lmforge.html_report import pyplot as _pyplot

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    xs = list(range(horizon + 1))
    ax.plot(xs, [report["hosted"]["monthly_usd"] * m for m in xs], "--", color="tab:red",
            label=f"hosted: {report['hosted']['name']}")
    for b in report["backends"]:
        ax.plot(xs, [report["training"]["usd"] + b["monthly_usd"] * m for m in xs], label=f"fine-tuned, {b['backend']}")
    ax.set_xlabel("months")
    ax.set_ylabel("cumulative $")
    ax.set_title(f"Cumulative cost at {report['settings']['requests_per_day']:,.0f} requests/day")
    ax.legend(fontsize=8)
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def terminal_table(report: dict) -> str:
    """The backends and the comparisons as an aligned text table."""
    rows = [["", "sent/s", "$/1M pred", "machines", "$/month", "break-even", "ROI 12 mo"]]
    for b in report["backends"]:
        rows.append([f"fine-tuned, {b['backend']}", f"{b['sentences_per_s']:,.1f}", money(b["usd_per_1m_predictions"]),
                     str(b["instances"]), money(b["monthly_usd"]), months(b["break_even_months"]),
                     f"{100 * b['roi_12_months']:,.0f}%"])
    base = report["baseline"]
    if base.get("usd_per_1m_predictions_here"):
        rows.append(["TF-IDF + LR baseline", f"{base['predictions_per_s']:,.0f}",
                     money(base["usd_per_1m_predictions_here"]), "", "", "", ""])
    h = report["hosted"]
    rows.append([f"hosted {h['name']}", "", money(h["usd_per_1m_predictions"]), "", money(h["monthly_usd"]), "", ""])
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))) for r in rows]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def summary_lines(report: dict) -> list[str]:
    t, p, acc, base = report["training"], report["price"], report["accuracy"], report["baseline"]
    lines = [f"training: {money(t['usd'])} ({t['wall_s']} s at ${t['price_per_hour']}/h, {t['price_basis']})"]
    if (t.get("energy") or {}).get("kwh") is not None:
        lines.append(f"energy (estimate): {t['energy']['kwh'] * 1000:.3g} Wh")
    lines.append(f"serving price: ${p['usd_per_hour']}/h ({p['basis']})")
    line = f"accuracy: dev {acc['dev']:.4f}" if acc.get("dev") is not None else "accuracy: not recorded"
    if acc.get("test") is not None:
        line += f", test {acc['test']:.4f}"
    if base.get("accuracy") is not None:
        line += f"; TF-IDF + LR baseline dev {base['accuracy']:.4f} (trained for {money(base['cost_usd'])})"
    lines.append(line)
    tok = report["tokens"]
    lines.append(f"hosted API: {tok['input_tokens_per_request']:.1f} input + {tok['output_tokens_per_request']} output "
                 f"tokens per request ({tok['mean_text_tokens']:.1f} from the text, mean of {tok['texts']} texts)")
    return lines


def write_cost_report(report: dict, output: Path) -> None:
    figures = {"accuracy_vs_cost": accuracy_vs_cost_png(report, output / "accuracy_vs_cost.png"),
               "cumulative_cost": cumulative_cost_png(report, output / "cumulative_cost.png")}
    (output / "cost.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    body = "".join(f"<li>{html.escape(line)}</li>" for line in summary_lines(report))
    page = [
        "<!doctype html><html><head><meta charset='utf-8'><title>Cost report</title>",
        f"<style>{STYLE}</style></head><body><h1>Cost of {html.escape(Path(report['model']).name)}</h1>",
        f"<ul>{body}</ul>",
        "<h2>Per backend</h2>", f"<pre>{html.escape(terminal_table(report))}</pre>",
        "<p class='muted'>$/1M predictions: the serving machine's price per hour / (3600 x measured sentences/s) x 1M. "
        "Monthly: always-on machines (enough for the traffic) x price x 730 h. Break-even: training cost / monthly "
        "saving against the hosted API. ROI: (hosted cost - training - serving) / (training + serving) over 12 months. "
        "Energy is an estimate from coefficients, not a measurement.</p>",
        "<h2>Accuracy vs cost</h2>", embed_png(figures["accuracy_vs_cost"]),
        "<h2>Cumulative cost</h2>", embed_png(figures["cumulative_cost"]),
        "</body></html>",
    ]
    (output / "report.html").write_text("\n".join(page))
