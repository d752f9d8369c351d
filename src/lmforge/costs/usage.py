"""``lmforge usage MODEL_DIR``: per-key usage of a served model turned into requests, tokens and cost share.

The serving layer counts requests, texts and tokens per API key and day
(:func:`lmforge.serving.keys.usage_by_key`). The bill to share is the serving machine running for the days
that saw traffic (an always-on service, 24 h a day, at the instance's price); each key pays in proportion
to the tokens it sent, since an encoder's compute grows with tokens. Where a throughput was measured for
the model (``lmforge cost``), the compute each key used is priced too (texts / sentences per second).

    >>> usage_report("runs/sst2", instance="aws/c7i.large")["keys"][0]
    {'key': 'acme', 'requests': 120, 'texts': 400, 'tokens': 6300, 'share': 0.62, 'usd': 1.33, ...}
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from lmforge.artifacts import read_manifest
from lmforge.metering.prices import resolve_price
from lmforge.errors import missing_extra


def usage_rows(model_dir: Path) -> list[dict]:
    try:
        from lmforge.serving.keys import usage_by_key
    except ImportError:
        raise missing_extra("per-key usage", "serve", "fastapi") from None
    return usage_by_key(model_dir)


def usage_report(model_dir: str | Path, price_per_hour: float | None = None, instance: str | None = None,
                 rows: list[dict] | None = None) -> dict:
    model_dir = Path(model_dir)
    rows = usage_rows(model_dir) if rows is None else rows
    quote = resolve_price(price_per_hour, instance)
    days = sorted({r["day"] for r in rows})
    bill = len(days) * 24 * quote.usd_per_hour
    totals: dict[str, dict] = defaultdict(lambda: {"requests": 0, "texts": 0, "tokens": 0})
    for r in rows:
        for k in ("requests", "texts", "tokens"):
            totals[r["key"]][k] += r[k]
    all_tokens = sum(t["tokens"] for t in totals.values())
    throughput = max((t.get("sentences_per_s", 0) for t in (read_manifest(model_dir).get("throughput") or {}).values()),
                     default=0)
    keys = []
    for key, t in sorted(totals.items(), key=lambda kv: -kv[1]["tokens"]):
        share = t["tokens"] / all_tokens if all_tokens else 0.0
        entry = {"key": key, **t, "share": share, "usd": share * bill}
        if throughput:
            entry["compute_usd"] = t["texts"] / throughput / 3600 * quote.usd_per_hour
        keys.append(entry)
    basis = (f"bill: {len(days)} day(s) with traffic x 24 h x ${quote.usd_per_hour}/h ({quote.basis}) = ${bill:.2f}, "
             "shared by tokens sent")
    if throughput:
        basis += f"; compute_usd: texts / {throughput} sentences/s (measured by `lmforge cost`) x price"
    return {"model": str(model_dir), "days": days, "bill_usd": bill, "price": quote.to_dict(), "keys": keys,
            "total_tokens": all_tokens, "basis": basis}
