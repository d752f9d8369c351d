"""CoNLL column files (CoNLL-2003 NER): one token per line, a blank line between sentences.

``-DOCSTART-`` lines mark documents; they are not sentences and are skipped (and counted). The last
column is the tag; files may end without a newline.

    >>> sentences = list(iter_conll_sentences("conll2003/train.txt"))
    >>> len(sentences), sentences[0].tokens[:3], sentences[0].tags[:3]
    (14041, ['EU', 'rejects', 'German'], ['B-ORG', 'O', 'B-MISC'])

:func:`lmforge.data.sources.iter_records` reads ``.conll`` files, and ``.txt`` files that look like CoNLL,
as one record per sentence: ``{"text": tokens joined by spaces, "tags": tags joined by spaces}``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from lmforge.data.decoding import decoded_lines
from lmforge.errors import DataError

DOCSTART = "-DOCSTART-"


@dataclass
class Sentence:
    line: int                    # physical line of the first token
    document: int                # 0 before the first -DOCSTART-
    tokens: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)


def looks_like_conll(path: Path, encoding: str = "utf-8") -> bool:
    """A ``-DOCSTART-`` first line, or first lines of 2–5 space-separated columns ending in an IOB tag."""
    lines = []
    for line in decoded_lines(path, encoding):
        if line.strip():
            lines.append(line.split())
        if len(lines) >= 5:
            break
    if not lines:
        return False
    if lines[0][0] == DOCSTART:
        return True
    return all(2 <= len(p) <= 5 and (p[-1] == "O" or p[-1][:2] in ("B-", "I-", "E-", "S-")) for p in lines)


def iter_conll_sentences(path: str | Path, encoding: str = "utf-8") -> Iterator[Sentence]:
    path = Path(path)
    document, current = 0, None
    for line_no, line in enumerate(decoded_lines(path, encoding), start=1):
        parts = line.split()
        if not parts:
            if current is not None:
                yield current
            current = None
            continue
        if parts[0] == DOCSTART:
            document += 1
            continue
        if len(parts) < 2:
            raise DataError(f"has {len(parts)} column; a CoNLL line needs a token and a tag", path=path,
                            line=line_no, hint="check that columns are separated by spaces or tabs")
        if current is None:
            current = Sentence(line_no, document)
        current.tokens.append(parts[0])
        current.tags.append(parts[-1])
    if current is not None:  # the file may end without a blank line (CoNLL-2003 has no final newline)
        yield current
