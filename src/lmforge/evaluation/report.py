"""A self-contained HTML report (figures embedded as base64) that opens in any browser."""

from __future__ import annotations

import html
from pathlib import Path

from lmforge.html_report import STYLE, embed_png
from lmforge.html_report import percent as _pct
from lmforge.html_report import table as _table


def evaluation_html(metrics: dict, figures: dict[str, Path], errors: list[dict], title: str) -> str:
    ci = metrics["confidence_intervals"]
    cards = [
        ("accuracy", _pct(metrics["accuracy"]),
         f"95% CI {_pct(ci['accuracy'][0])} – {_pct(ci['accuracy'][1])}"),
        ("macro F1", f"{metrics['macro_f1']:.4f}", f"95% CI {ci['macro_f1'][0]:.4f} – {ci['macro_f1'][1]:.4f}"),
        ("calibration error (ECE)", f"{metrics['expected_calibration_error']:.4f}", "lower is better"),
        ("examples", f"{metrics['examples']:,}", ""),
    ]
    if metrics.get("privacy"):  # trained with DP-SGD
        p = metrics["privacy"]
        cards.append(("DP-SGD ε spent", f"{p['epsilon_spent']}", f"δ {p['delta']:.1e}, {p['accountant']} accountant"))
    card_html = "".join(f'<div class="card">{html.escape(n)}<b>{v}</b><span class="muted">{html.escape(s)}</span>'
                        "</div>" for n, v, s in cards)
    per_class = [[name, f"{m['precision']:.4f}", f"{m['recall']:.4f}", f"{m['f1']:.4f}", m["support"]]
                 for name, m in metrics["per_class"].items()]
    averages = [[f"{avg} avg", f"{m['precision']:.4f}", f"{m['recall']:.4f}", f"{m['f1']:.4f}", ""]
                for avg, m in metrics["averages"].items()]
    error_rows = [[e["row"], e["text"], e["gold"], e["predicted"], f"{e['probability']:.3f}"] for e in errors]
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
        f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>",
        f"<p class='muted'>model: {html.escape(metrics.get('model', ''))}<br>data: "
        f"{html.escape(metrics.get('data', ''))}</p>",
        f"<div class='cards'>{card_html}</div>",
        _verdict_html(metrics.get("verdict")),
        "<h2>Per class</h2>", _table(["class", "precision", "recall", "F1", "support"], per_class + averages),
        "<h2>Confusion matrix</h2>", embed_png(figures["confusion_matrix"]),
        "<h2>Calibration</h2><p>Bars below the diagonal mean the model is over-confident in that range.</p>",
        embed_png(figures["reliability"]),
        f"<h2>Most confident errors ({len(errors)})</h2>",
        _table(["row", "text", "gold", "predicted", "probability"], error_rows, text_columns=(1,)),
        "</body></html>",
    ]
    return "\n".join(parts)


def _verdict_html(verdict: dict | None) -> str:
    """The dev-set comparison with the TF-IDF baseline; loud when the baseline won."""
    if not verdict:
        return ""
    if verdict.get("winner") == "baseline":
        return ("<p style='border:2px solid #c62828;background:#fdecea;padding:.8em 1em;border-radius:6px'>"
                f"<b>The TF-IDF baseline won.</b> {html.escape(verdict.get('message', ''))}</p>")
    return f"<p class='muted'>{html.escape(verdict.get('message', ''))}</p>"
