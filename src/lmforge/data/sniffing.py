"""What a text file holds when its name does not say: one text per line, or delimited fields.

Published datasets come as ``.txt`` (UCI sentiment sentences: ``sentence<TAB>0``), ``.data``, ``.tsv``
without a header (AG News) or with one. The sniffer reads the first lines and decides (whether the first
row is a header is :func:`lmforge.data.sources.looks_like_header`'s call):

    >>> sniff_delimiter(["a great film\\t1\\n", "dull\\t0\\n"])
    Layout(delimiter='\\t', fields=2, reason='2 tab-separated fields on 2 of 2 lines')

A tab on (nearly) every line makes a tab-separated file: a text never holds tabs by accident, and when a
few lines lack one the delimited reader names them. Other delimiters (``,`` ``;`` ``|``) occur in prose, so
they count only when every line has the same number of them and one end field is short (a label).
"""

from __future__ import annotations

from dataclasses import dataclass

SAMPLE_LINES = 200
TAB_SHARE = 0.8        # share of lines with the same tab count that makes a file tab-separated
LABEL_CHARS = 40       # an end field at most this long on every line can be a label
OTHER_DELIMITERS = ("|", ";", ",")


@dataclass(frozen=True)
class Layout:
    delimiter: str | None   # None: one text per line
    fields: int
    reason: str             # why, for messages ("2 fields on 198 of 200 lines")


def sniff_delimiter(lines: list[str]) -> Layout:
    """The layout of a headerless-or-not delimited file from its first lines (line endings included)."""
    rows = [line.rstrip("\r\n") for line in lines[:SAMPLE_LINES]]
    rows = [r for r in rows if r.strip()]
    if not rows:
        return Layout(None, 1, "no lines")
    tabs = [r.count("\t") for r in rows]
    common = max(set(tabs), key=tabs.count)
    share = tabs.count(common) / len(rows)
    if common >= 1 and share >= TAB_SHARE:
        return Layout("\t", common + 1, f"{common + 1} tab-separated fields on {tabs.count(common)} of {len(rows)} lines")
    for delimiter in OTHER_DELIMITERS:
        counts = {r.count(delimiter) for r in rows}
        if len(counts) != 1 or 0 in counts:
            continue
        parts = [r.split(delimiter) for r in rows]
        short_end = any(all(len(p[end].strip()) <= LABEL_CHARS for p in parts) for end in (0, -1))
        if short_end and len(rows) >= 2:
            n = counts.pop() + 1
            return Layout(delimiter, n, f"{n} '{delimiter}'-separated fields on every one of {len(rows)} lines")
    if common >= 1:
        return Layout(None, 1, f"only {tabs.count(common)} of {len(rows)} lines have {common} tab(s)")
    return Layout(None, 1, f"no tab on any of the first {len(rows)} lines")
