"""A self-contained HTML report (figures embedded as base64) that opens in any browser."""

from __future__ import annotations

import base64
import html
from pathlib import Path

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;margin:2em auto;color:#222;
padding:0 1em} h1{font-size:1.6em} h2{margin-top:1.6em;border-bottom:1px solid #ddd;padding-bottom:.2em}
table{border-collapse:collapse;margin:.5em 0;font-size:.92em} th,td{border:1px solid #ddd;padding:.3em .6em;
text-align:right} th{background:#f4f4f4} td.text{text-align:left;max-width:620px}
.cards{display:flex;gap:1em;flex-wrap:wrap} .card{border:1px solid #ddd;border-radius:8px;padding:.8em 1.2em;
min-width:150px} .card b{font-size:1.5em;display:block} .muted{color:#777;font-size:.85em}
img{max-width:100%;border:1px solid #eee}
"""


def embed_png(path: Path) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode()
    return f'<img alt="{html.escape(Path(path).stem)}" src="data:image/png;base64,{data}">'


def _table(header: list[str], rows: list[list], text_columns: tuple[int, ...] = ()) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="text">{html.escape(str(c))}</td>' if i in text_columns else f"<td>{html.escape(str(c))}</td>"
            for i, c in enumerate(row))
        body.append(f"<tr>{cells}</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _pct(x: float) -> str:
    return f"{100 * x:.2f}%"


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
        "<h2>Per class</h2>", _table(["class", "precision", "recall", "F1", "support"], per_class + averages),
        "<h2>Confusion matrix</h2>", embed_png(figures["confusion_matrix"]),
        "<h2>Calibration</h2><p>Bars below the diagonal mean the model is over-confident in that range.</p>",
        embed_png(figures["reliability"]),
        f"<h2>Most confident errors ({len(errors)})</h2>",
        _table(["row", "text", "gold", "predicted", "probability"], error_rows, text_columns=(1,)),
        "</body></html>",
    ]
    return "\n".join(parts)
