"""Cleaning: each step changes what it names and nothing else; inspection counts issues without changing."""

from __future__ import annotations

import pytest

from lmforge.data.cleaning import CleaningConfig, TextCleaner, text_issues
from lmforge.data.reading import open_rows
from tests.conftest import shared_data


@pytest.mark.parametrize("raw,clean,steps", [
    ("CafÃ© au lait", "Café au lait", ["mojibake"]),
    ("it #39;s fine, hasn #39;t it", "it's fine, hasn't it", ["html_entity"]),
    ("costs #36;5 and quot;quoted quot;", 'costs $5 and "quoted "', ["html_entity"]),
    ("a &lt;b&gt;bold&lt;/b&gt; &amp; brave move", "a bold & brave move", ["html_entity", "html_tag", "whitespace"]),
    ("great film<br /><br />see it", "great film see it", ["html_tag", "whitespace"]),
    ("Won954.3bn (\\$828m) and\\the U.S.\\electronic", "Won954.3bn ($828m) and the U.S. electronic", ["backslash"]),
    ("cafe\u0301", "café", ["nfc"]),
    ("  two\n lines\t\there ", "two lines here", ["whitespace"]),
    ("a < b > c stays", "a < b > c stays", []),
    ("plain text", "plain text", []),
])
def test_each_step_names_itself(raw, clean, steps):
    assert TextCleaner().clean(raw) == (clean, steps)


def test_steps_can_be_switched_off_and_lowercase_on():
    cleaner = TextCleaner(CleaningConfig(html=False, whitespace=False, lowercase=True))
    assert cleaner.clean("A &amp; B  ") == ("a &amp; b  ", ["lowercase"])


def test_text_issues_report_without_changing():
    assert text_issues("it #39;s<br />") == {"html_entity", "html_tag"}
    assert text_issues("   ") == {"empty"}
    assert "cp1252_bytes" in text_issues("It\x92s")      # a Windows-1252 quote decoded as Latin-1
    assert "mojibake" in text_issues("CafÃ©")
    assert text_issues("clean text") == set()


def test_agnews_entities_and_backslashes_are_repaired():
    path = shared_data("agnews", "dev.tsv")
    cleaner = TextCleaner()
    counts = {"html_entity": 0, "backslash": 0}
    for _, text, _ in open_rows(path).rows:
        cleaned, steps = cleaner.clean(text)
        for step in counts:
            counts[step] += step in steps
        assert "#39;" not in cleaned and "quot;" not in cleaned and "&lt;" not in cleaned
        assert "\\$" not in cleaned
    # README: about 2,300 dev rows with broken entities (plus ~150-250 with literal &lt; &gt; &amp;) and
    # about 1,000 with backslash line breaks
    assert 2300 <= counts["html_entity"] <= 2300 + 500
    assert 900 <= counts["backslash"] <= 1200
