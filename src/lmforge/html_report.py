"""The pieces every self-contained HTML report shares (evaluation, data, cost): the style sheet, figures
embedded as base64, tables, and a headless matplotlib.

    >>> plt = pyplot()                                 # matplotlib with the Agg backend
    >>> page = f"<style>{STYLE}</style>" + table(["a", "b"], [[1, 2]]) + embed_png(Path("fig.png"))
"""

from __future__ import annotations

import base64
import html
from pathlib import Path


def pyplot():
    """matplotlib.pyplot on the headless Agg backend (imported on first use: matplotlib is slow to import)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


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


def table(header: list[str], rows: list[list], text_columns: tuple[int, ...] = ()) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="text">{html.escape(str(c))}</td>' if i in text_columns else f"<td>{html.escape(str(c))}</td>"
            for i, c in enumerate(row))
        body.append(f"<tr>{cells}</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def percent(x: float) -> str:
    return f"{100 * x:.2f}%"
