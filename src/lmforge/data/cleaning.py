"""Text cleaning that says what it changed: every step that alters a text names itself.

    >>> cleaner = TextCleaner(CleaningConfig())
    >>> cleaner.clean("Caf\u00c3\u00a9 &lt;b&gt;ok&lt;/b&gt; it #39;s  fine ")
    ("Café ok it's fine", ['mojibake', 'html_entity', 'html_tag', 'whitespace'])
    >>> text_issues("it #39;s<br />")      # what `lmforge data inspect` counts, without changing anything
    {'html_entity', 'html_tag'}

The steps run in a fixed order: mojibake repair (ftfy) first, because it needs the original bytes'
shape; then HTML entities, HTML tags, backslash line breaks, Unicode NFC, whitespace, lower-casing.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass

from lmforge.config import setting

# Entities whose '&' was stripped by an old crawl (AG News: "it #39;s", "#36;5", "quot;"). The lookbehind
# keeps "&#39;" for html.unescape and refuses "abc#39;" glued to a word, which is not an entity.
BROKEN_ENTITY = re.compile(r"(?<![&\w])#(\d{2,5});|(?<![&\w])(quot|amp|lt|gt|apos|nbsp);")
# The stripped '&' of an apostrophe often became a space: "hasn #39;t" was "hasn&#39;t".
SPACED_APOSTROPHE = re.compile(r"(?<=\w) #39;")
ENTITY = re.compile(r"&(?:#\d{1,7}|#x[0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
# A tag starts with a letter, '/' or '!' right after '<' and holds no other angle bracket: "a < b > c"
# is left alone, "<br />", "<A HREF=...>", "</font>" and "<!-- x -->" are removed.
TAG = re.compile(r"<(?:[A-Za-z/!][^<>]{0,400})>")
# Backslashes used as line breaks ("and\the United States") and as escapes ("\$828m").
BACKSLASH_ESCAPE = re.compile(r"\\(?=\$)")
BACKSLASH_BREAK = re.compile(r"(?<=[\w.,;:!?)'\"])\\(?=[\w(\"'])")
SPACE_RUN = re.compile(r"\s+")
# C1 control characters: Windows-1252 bytes (curly quotes, dashes, €) decoded as Latin-1.
C1_CONTROLS = re.compile("[\u0080-\u009f]")


@dataclass
class CleaningConfig:
    """Which cleaning steps run. Each altered row is listed in changes.jsonl with the steps that fired."""

    mojibake: bool = setting(True, "repair mojibake and Windows-1252 bytes with ftfy (\"CafÃ©\" → \"Café\")")
    html: bool = setting(True, "decode HTML entities (also '&'-less ones such as '#39;') and strip HTML tags")
    backslash_breaks: bool = setting(True, "turn backslashes used as line breaks into spaces and '\\$' into "
                                           "'$' (AG News)")
    nfc: bool = setting(True, "normalise Unicode to NFC (composed accents)")
    whitespace: bool = setting(True, "trim the ends and collapse runs of spaces, tabs and newlines to one space")
    lowercase: bool = setting(False, "lower-case every text")


def _fix_mojibake(text: str) -> str:
    import ftfy

    # Only encoding repairs: ftfy's other fixes (quote uncurling, width folding) would change real text.
    return ftfy.fix_text(text, unescape_html=False, uncurl_quotes=False, fix_character_width=False,
                         fix_latin_ligatures=False, fix_line_breaks=False, normalization=None)


def _unescape(text: str) -> str:
    text = SPACED_APOSTROPHE.sub("'", text)
    text = BROKEN_ENTITY.sub(lambda m: f"&#{m.group(1)};" if m.group(1) else f"&{m.group(2)};", text)
    return html.unescape(text)


class TextCleaner:
    """Applies the steps of a :class:`CleaningConfig` and reports which ones changed the text."""

    def __init__(self, config: CleaningConfig | None = None):
        self.config = config or CleaningConfig()

    def clean(self, text: str) -> tuple[str, list[str]]:
        """The cleaned text and the names of the steps that changed it (empty list: unchanged)."""
        cfg, steps = self.config, []

        def apply(name: str, enabled: bool, fn) -> None:
            nonlocal text
            if enabled:
                new = fn(text)
                if new != text:
                    steps.append(name)
                    text = new

        # The ASCII test skips ftfy for the great majority of rows: pure ASCII cannot be mojibake.
        apply("mojibake", cfg.mojibake and not text.isascii(), _fix_mojibake)
        if cfg.html:
            apply("html_entity", "&" in text or ";" in text, _unescape)
            apply("html_tag", "<" in text, lambda t: TAG.sub(" ", t))
        if cfg.backslash_breaks and "\\" in text:
            apply("backslash", True, lambda t: BACKSLASH_BREAK.sub(" ", BACKSLASH_ESCAPE.sub("", t)))
        apply("nfc", cfg.nfc and not text.isascii(), lambda t: unicodedata.normalize("NFC", t))
        apply("whitespace", cfg.whitespace, lambda t: SPACE_RUN.sub(" ", t).strip())
        apply("lowercase", cfg.lowercase, str.lower)
        return text, steps


def text_issues(text: str) -> set[str]:
    """What is wrong with ``text``, without changing it: the counts `lmforge data inspect` reports."""
    issues = set()
    if not text.strip():
        issues.add("empty")
        return issues
    if not text.isascii():
        if C1_CONTROLS.search(text):
            issues.add("cp1252_bytes")
        if _fix_mojibake(text) != text:
            issues.add("mojibake")
        if unicodedata.normalize("NFC", text) != text:
            issues.add("not_nfc")
    if ("&" in text or ";" in text) and (ENTITY.search(text) or BROKEN_ENTITY.search(text)):
        issues.add("html_entity")
    if "<" in text and TAG.search(text):
        issues.add("html_tag")
    if "\\" in text and (BACKSLASH_BREAK.search(text) or BACKSLASH_ESCAPE.search(text)):
        issues.add("backslash")
    if text != text.strip() or "  " in text or "\n" in text or "\t" in text or "\r" in text:
        issues.add("whitespace")
    return issues
