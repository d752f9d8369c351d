"""Find and redact personal data in text, offline: e-mail, URL, IP, payment card, IBAN, phone, person name,
and in Chinese text also 身份证号, UnionPay bank cards, mainland phone numbers and Chinese names.

    >>> redactor = PiiRedactor()
    >>> redactor.redact("mail jane.doe@example.com or call +1 415-555-2671")
    ('mail [EMAIL] or call [PHONE]', Counter({'EMAIL': 1, 'PHONE': 1}))
    >>> [(s.kind, s.value) for s in redactor.find("card 4111 1111 1111 1111")]
    [('CREDIT_CARD', '4111 1111 1111 1111')]

Each detector checks what a pattern alone cannot: card numbers pass the Luhn check and start like a real
card brand, IBANs pass the ISO 13616 mod-97 check, IP addresses parse with :mod:`ipaddress`, phone numbers
are valid for their region in Google's libphonenumber (the ``phonenumbers`` package). Person names are
found by :mod:`lmforge.data.person_names` (a first-name gazetteer and honorifics; no model download).
When spans overlap, the detector earlier in ``KINDS`` wins (an e-mail's digits are not a phone number).

Chinese text (any text holding Han characters, or every text with ``region="CN"``) also gets the checks of
:mod:`lmforge.data.chinese_pii` (``CN_ID`` with the GB 11643 check character, ``BANK_CARD`` for UnionPay
numbers with Luhn, mainland mobile and landline numbers as ``PHONE``) and :mod:`lmforge.data.chinese_names`
(surname gazetteer + cues + jieba) for ``PERSON``:

    >>> PiiRedactor().redact("我叫张伟，手机13812345678，身份证11010519491231002X")[0]
    '我叫[PERSON]，手机[PHONE]，身份证[CN_ID]'
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from lmforge.data import chinese_pii
from lmforge.data.checksums import luhn_valid
from lmforge.errors import ConfigError, missing_extra

KINDS = ("EMAIL", "URL", "IBAN", "CN_ID", "BANK_CARD", "CREDIT_CARD", "IP_ADDRESS", "PHONE", "PERSON")
CHINESE_KINDS = ("CN_ID", "BANK_CARD")  # only in Chinese text; the other kinds are found in every language

# A word character that is not CJK: addresses may be internationalised (RFC 6531, "josé@…"), but in Chinese
# text the characters around an address are words of the sentence ("邮箱zhang@163.com谢谢"), not part of it.
_W = r"[^\W\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff]"
EMAIL = re.compile(rf"(?<!{_W})(?<![.+-]){_W}(?:{_W}|[.%+-])*@(?:(?:{_W}|-)+\.)+[A-Za-z]{{2,24}}(?!{_W})")
URL = re.compile(r"\b(?:https?://|www\.)[^\s<>\"'\]\[]+", re.IGNORECASE)
URL_TRAILING = ".,;:!?)'\""
IBAN = re.compile(r"\b[A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]){11,30}\b")
SEVEN_DIGITS = re.compile(r"\d(?:\D{0,3}\d){6}")  # the shortest phone numbers have 7 digits, closely grouped
CARD = re.compile(r"(?<![\dA-Za-z-])\d(?:[ -]?\d){12,18}(?![\d-])")
IPV4 = re.compile(r"(?<!\d)(?<!\d\.)(?:\d{1,3}\.){3}\d{1,3}(?!\d|\.\d)")  # a full stop may end it
IPV6 = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{1,4}:){2,7}:?[0-9A-Fa-f]{0,4}(?![\w:])|(?<![\w:])::[0-9A-Fa-f]{1,4}"
                  r"(?::[0-9A-Fa-f]{1,4})*(?![\w:])")
# Brand prefixes (IIN ranges) of the card networks: Visa 4, Mastercard 51-55 and 2221-2720, Amex 34/37,
# Diners 36/38/300-305, Discover 6011/65/644-649, JCB 35. A Luhn-valid number with another prefix is
# more often an order or account number than a card.
CARD_PREFIX = re.compile(r"^(?:4|5[1-5]|2(?:22[1-9]|2[3-9]\d|[3-6]\d\d|7[01]\d|720)|3[4-8]|30[0-5]|6011|65|64[4-9])")


@dataclass(frozen=True)
class Span:
    """One piece of personal data: its kind, where it is (``text[start:end]``) and what it was."""

    kind: str
    start: int
    end: int
    value: str


# IBAN length by country (the SWIFT IBAN registry): a wrong length or an unknown country is no IBAN.
IBAN_LENGTHS = dict(
    AD=24, AE=23, AL=28, AT=20, AZ=28, BA=20, BE=16, BG=22, BH=22, BR=29, BY=28, CH=21, CR=22, CY=28, CZ=24,
    DE=22, DK=18, DO=28, EE=20, EG=29, ES=24, FI=18, FO=18, FR=27, GB=22, GE=22, GI=23, GL=18, GR=27, GT=28,
    HR=21, HU=28, IE=22, IL=23, IQ=23, IS=26, IT=27, JO=30, KW=30, KZ=20, LB=28, LC=32, LI=21, LT=20, LU=20,
    LV=21, MC=27, MD=24, ME=22, MK=19, MR=27, MT=31, MU=30, NL=18, NO=15, PK=24, PL=28, PS=29, PT=25, QA=29,
    RO=24, RS=22, SA=24, SC=31, SE=24, SI=19, SK=24, SM=27, ST=25, SV=28, TL=23, TN=24, TR=26, UA=29, VA=22,
    VG=24, XK=20,
)


def iban_valid(compact: str) -> bool:
    """ISO 13616: the country's length, then the first four characters moved to the end, letters to numbers
    (A=10 … Z=35), mod 97 == 1."""
    if IBAN_LENGTHS.get(compact[:2]) != len(compact) or not compact.isalnum():
        return False
    moved = compact[4:] + compact[:4]
    return int("".join(str(int(ch, 36)) for ch in moved)) % 97 == 1


def _emails(text: str) -> Iterator[tuple[int, int]]:
    if "@" in text:
        for m in EMAIL.finditer(text):
            yield m.span()


def _urls(text: str) -> Iterator[tuple[int, int]]:
    if "www" in text or "http" in text or "WWW" in text or "HTTP" in text:
        for m in URL.finditer(text):
            end = m.end()
            while end > m.start() and text[end - 1] in URL_TRAILING:
                end -= 1
            yield m.start(), end


def _ibans(text: str) -> Iterator[tuple[int, int]]:
    for m in IBAN.finditer(text):
        # The pattern may run into the next word ("DE89…00 by"): drop trailing space-separated pieces
        # until the check digits agree, or nothing IBAN-long is left.
        candidate = m.group()
        while len(candidate.replace(" ", "")) >= 15:
            if iban_valid(candidate.replace(" ", "").upper()):
                yield m.start(), m.start() + len(candidate)
                break
            if " " not in candidate:
                break
            candidate = candidate.rsplit(" ", 1)[0]


def _cards(text: str) -> Iterator[tuple[int, int]]:
    for m in CARD.finditer(text):
        digits = re.sub(r"[ -]", "", m.group())
        # 17 and 18 digits: no Visa, Mastercard or Amex number is that long, but 身份证号 and order numbers are
        if 13 <= len(digits) <= 19 and (len(digits) not in (17, 18) or digits[0] == "6") and \
                CARD_PREFIX.match(digits) and luhn_valid(digits) and \
                not chinese_pii.labelled_as_not_personal(text, m.start()):
            yield m.span()


def _ips(text: str) -> Iterator[tuple[int, int]]:
    if "." in text:
        for m in IPV4.finditer(text):
            try:
                ipaddress.IPv4Address(m.group())
            except ValueError:
                continue
            yield m.span()
    if "::" in text or text.count(":") >= 3:
        for m in IPV6.finditer(text):
            try:
                ipaddress.IPv6Address(m.group())
            except ValueError:
                continue
            yield m.span()


class PiiRedactor:
    """Finds personal data and replaces it with typed placeholders such as ``[EMAIL]``.

    ``kinds`` picks the detectors (default: all of ``KINDS``); ``region`` is the ISO country whose national
    phone formats are accepted without a ``+country`` prefix (international numbers are always found).
    """

    def __init__(self, kinds: tuple[str, ...] | list[str] | None = None, region: str = "US"):
        kinds = tuple(kinds) if kinds else KINDS
        unknown = [k for k in kinds if k not in KINDS]
        if unknown:
            raise ConfigError(f"unknown PII kind(s) {', '.join(unknown)}; known: {', '.join(KINDS)}")
        try:
            import phonenumbers
        except ImportError:
            raise missing_extra("phone-number detection", "data", "phonenumbers") from None
        self._phonenumbers = phonenumbers
        self.kinds = kinds
        self.region = region.upper()
        self._person_finder = self._chinese_names = None
        if "PERSON" in kinds:
            from lmforge.data.chinese_names import ChineseNameFinder
            from lmforge.data.person_names import PersonNameFinder

            self._person_finder = PersonNameFinder()
            self._chinese_names = ChineseNameFinder()

    def _chinese(self, text: str) -> bool:
        return self.region == "CN" or chinese_pii.has_han(text)

    def _phones(self, text: str) -> Iterator[tuple[int, int]]:
        if not SEVEN_DIGITS.search(text):  # cheap filter: the matcher is the slow part
            return
        if self._chinese(text):
            yield from chinese_pii.mainland_phone_spans(text, self._phonenumbers)
        matcher = self._phonenumbers.PhoneNumberMatcher(text, self.region,
                                                        leniency=self._phonenumbers.Leniency.STRICT_GROUPING)
        for match in matcher:
            yield match.start, match.end

    def _spans_of(self, kind: str, text: str) -> Iterator[tuple[int, int]]:
        if kind == "EMAIL":
            return _emails(text)
        if kind == "URL":
            return _urls(text)
        if kind == "IBAN":
            return _ibans(text)
        if kind == "CN_ID":
            return chinese_pii.cn_id_spans(text)
        if kind == "BANK_CARD":
            return chinese_pii.unionpay_spans(text)
        if kind == "CREDIT_CARD":
            return _cards(text)
        if kind == "IP_ADDRESS":
            return _ips(text)
        if kind == "PHONE":
            return self._phones(text)
        if self._chinese(text):
            return [*self._chinese_names.spans(text), *self._person_finder.spans(text)]
        return self._person_finder.spans(text)

    def find(self, text: str) -> list[Span]:
        """Non-overlapping spans in text order; on overlap the kind listed first in ``KINDS`` wins."""
        taken: list[Span] = []
        for kind in self.kinds:
            for start, end in self._spans_of(kind, text):
                if all(end <= s.start or start >= s.end for s in taken):
                    taken.append(Span(kind, start, end, text[start:end]))
        return sorted(taken, key=lambda s: s.start)

    def redact(self, text: str) -> tuple[str, Counter]:
        """``text`` with each span replaced by ``[KIND]``, and the count of spans by kind."""
        spans = self.find(text)
        if not spans:
            return text, Counter()
        pieces, last = [], 0
        for span in spans:
            pieces.append(text[last:span.start])
            pieces.append(f"[{span.kind}]")
            last = span.end
        pieces.append(text[last:])
        return "".join(pieces), Counter(s.kind for s in spans)
