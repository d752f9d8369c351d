"""Which texts are written without spaces between words (Chinese, Japanese, Thai …).

Word n-grams and whitespace tokenization assume spaces; the baseline and the recipe ask this first.

    >>> script_profile(["很快，好吃", "great food"])
    {'no_space_share': 0.5, 'no_space': True}
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

NO_SPACE_SHARE = 0.5  # a data set counts as "no spaces" when at least this share of its texts is
NO_SPACE_SCRIPTS = ("CJK", "HIRAGANA", "KATAKANA", "THAI", "LAO", "KHMER", "MYANMAR", "TIBETAN")


def no_space_script(text: str) -> bool:
    """True when most letters of ``text`` are in scripts written without spaces between words."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return False
    cjk = sum(1 for c in letters if _no_space_char(c))
    return cjk / len(letters) > 0.5


def _no_space_char(c: str) -> bool:
    name = unicodedata.name(c, "")
    return name.startswith(NO_SPACE_SCRIPTS)


def script_profile(texts: Sequence[str], sample: int = 2000) -> dict:
    """The share of texts written without spaces (Chinese, Japanese, Thai …), on a sample."""
    step = max(1, len(texts) // sample)
    picked = list(texts[::step])
    share = sum(no_space_script(t) for t in picked) / max(1, len(picked))
    return {"no_space_share": round(share, 4), "no_space": share >= NO_SPACE_SHARE}


