"""PII detection: each detector's checks, redaction, and precision/recall on labelled sets."""

from __future__ import annotations

from collections import Counter

import pytest

from lmforge.data.pii import CHINESE_KINDS, KINDS, PiiRedactor, iban_valid, luhn_valid
from lmforge.data.pii_eval import conll_person_cases, labelled_pii_cases, score_detector
from lmforge.errors import ConfigError
from tests.conftest import shared_data


@pytest.fixture(scope="module")
def redactor():
    return PiiRedactor()


@pytest.mark.parametrize("text,redacted", [
    ("mail jane.doe@example.com or call +1 415-555-2671", "mail [EMAIL] or call [PHONE]"),
    ("write to müller@beispiel.de", "write to [EMAIL]"),
    ("see https://example.com/a?b=1. thanks", "see [URL]. thanks"),
    ("card 4111 1111 1111 1111 expired", "card [CREDIT_CARD] expired"),
    ("card 4111 1111 1111 1112 expired", "card 4111 1111 1111 1112 expired"),        # fails Luhn
    ("IBAN DE89 3704 0044 0532 0130 00 by Friday", "IBAN [IBAN] by Friday"),
    ("IBAN DE89 3704 0044 0532 0130 01 by Friday", "IBAN DE89 3704 0044 0532 0130 01 by Friday"),  # mod 97
    ("from 192.168.1.20. and 2001:db8::1", "from [IP_ADDRESS]. and [IP_ADDRESS]"),
    ("version 1.2.3 at 12:30:45, 300.1.1.1", "version 1.2.3 at 12:30:45, 300.1.1.1"),
    ("call (415) 555-2671 or +44 20 7946 0958", "call [PHONE] or [PHONE]"),
    ("order 2024-000392 shipped", "order 2024-000392 shipped"),                    # not grouped like a phone
    ("I met Jane Doe and Dr. Okafor.", "I met [PERSON] and [PERSON]."),
    ("John F. Kennedy and P. Simmons; Kennedy left", "[PERSON] and [PERSON]; [PERSON] left"),
    ("The World Bank said in May", "The World Bank said in May"),
])
def test_redaction(redactor, text, redacted):
    assert redactor.redact(text)[0] == redacted


def test_counts_by_kind_and_overlap_priority(redactor):
    text, counts = redactor.redact("jane.doe@example.com, www.example.com, 4111-1111-1111-1111")
    assert text == "[EMAIL], [URL], [CREDIT_CARD]"
    assert counts == Counter({"EMAIL": 1, "URL": 1, "CREDIT_CARD": 1})


def test_checksums():
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111112")
    assert iban_valid("GB82WEST12345698765432") and not iban_valid("GB82WEST12345698765433")
    assert not iban_valid("XX82WEST12345698765432")                    # no such country


def test_kinds_are_checked():
    assert PiiRedactor(["EMAIL"]).redact("a@b.com +1 415-555-2671")[0] == "[EMAIL] +1 415-555-2671"
    with pytest.raises(ConfigError, match="unknown PII kind"):
        PiiRedactor(["SSN"])


def test_the_bar_on_the_labelled_set(redactor):
    """The issue's bar: recall >= 0.95 and precision >= 0.9 on a labelled set (1,000 sentences, 3 seeds)."""
    for seed in range(3):
        scores = score_detector(redactor, labelled_pii_cases(1000, seed=seed))
        assert scores["overall"]["recall"] >= 0.95, scores["errors"][:10]
        assert scores["overall"]["precision"] >= 0.9, scores["errors"][:10]
        for kind in (k for k in KINDS if k not in CHINESE_KINDS):  # every kind is in the set, none hidden
            assert scores[kind]["true_positives"] > 30
            assert scores[kind]["precision"] >= 0.9, (kind, scores[kind])
            assert scores[kind]["recall"] >= (0.85 if kind == "PERSON" else 0.95), (kind, scores[kind])


def test_person_names_on_conll2003_test():
    """Real names in news text. Measured: precision 0.913, recall 0.585 (bench/RESULTS.md): a surname alone
    or a first name outside the gazetteer is missed. The floor guards against regressions."""
    cases = conll_person_cases(shared_data("conll2003", "test.txt"))
    assert len(cases) == 3453
    assert sum(len(g) for _, g in cases) == 1617          # README: 1,617 PER entities in test
    scores = score_detector(PiiRedactor(["PERSON"]), cases)["PERSON"]
    assert scores["precision"] >= 0.88
    assert scores["recall"] >= 0.55
