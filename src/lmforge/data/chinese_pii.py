"""Chinese personal data that a pattern alone cannot tell apart from other numbers: 身份证号, mainland phone
numbers and UnionPay bank cards, each confirmed by a check the number must pass.

    >>> cn_id_valid("11010519491231002X")
    True
    >>> [text[s:e] for s, e in cn_id_spans(text := "身份证号11010519491231002X，订单号110105194912310021")]
    ['11010519491231002X']

- **身份证号** (GB 11643-1999, 18 characters): a province code that exists, a birth date that exists (1900 up
  to this year), and the ISO 7064 MOD 11-2 check character; a number failing any of them is not flagged.
  The old 15-digit numbers (before 1999, no check digit) are not looked for: without a check they look like
  any other 15-digit number.
- **Mobile numbers**: 11 digits starting 1[3-9], optionally ``+86``/``0086``/``86`` and spaces or hyphens in
  the 3-4-4 grouping, confirmed by libphonenumber's table of allocated mainland prefixes; landlines with an
  area code (``010-62345678``, ``(0755) 8888 8888``) likewise.
- **UnionPay cards** (``BANK_CARD``): 16-19 digits starting 62 that pass the Luhn check. Visa/Mastercard
  numbers issued by Chinese banks are ``CREDIT_CARD`` (found by :mod:`lmforge.data.pii`).

A number labelled right before it as an order, tracking, ticket or transaction number (订单号, 快递单号,
流水号 …) is not personal data, whatever check it happens to pass.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator

from lmforge.data.checksums import luhn_valid

# CJK ideographs (unified, extension A, compatibility): the texts the Chinese detectors run on.
HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# GB/T 2260 province-level codes (the first two digits of a 身份证号): 11-15 north, 21-23 north-east, 31-37
# east, 41-46 south-central, 50-54 south-west, 61-65 north-west, 71 Taiwan, 81/82 Hong Kong/Macau, 83 the
# residence permits of Taiwan residents.
PROVINCES = frozenset("11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 "
                      "61 62 63 64 65 71 81 82 83".split())
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)  # 2^(17-i) mod 11
ID_CHECK = "10X98765432"  # check character for (weighted sum mod 11) = 0 … 10
CN_ID = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
MOBILE = re.compile(r"(?<![0-9A-Za-z+])(?:(?:\+|00)?86[ -]?)?(1[3-9]\d)([ -]?)(\d{4})\2(\d{4})(?![0-9A-Za-z])")
LANDLINE = re.compile(r"(?<![0-9A-Za-z+])(?:(?:\+|00)?86[ -]?)?(?:\((0\d{2,3})\)\s?|(0\d{2,3})-)"
                      r"([2-9]\d{2,3}[ -]?\d{4})(?![0-9A-Za-z])")
UNIONPAY = re.compile(r"(?<![0-9A-Za-z-])62\d{2}(?:[ -]?\d){12,15}(?![0-9A-Za-z-])")
# Labels of numbers that identify an order, a parcel, a ticket or a transaction, not a person.
NOT_PERSONAL = re.compile(r"(?:订单|单号|编号|流水号?|运单|快递|工单|批次|合同|发票|交易号|凭证号|序列号|"
                          r"型号|货号|条码|验证码)\s*(?:号码?)?\s*(?:是|为)?\s*[:：#＃]?\s*$",
                          )


def has_han(text: str) -> bool:
    return HAN.search(text) is not None


def id_shaped(number: str) -> bool:
    """18 characters with a province code and a birth date that exist: a 身份证号, whether or not its check
    character is right (a mistyped ID is still an ID, not a bank card)."""
    if len(number) != 18 or not number[:17].isdigit() or number[:2] not in PROVINCES:
        return False
    try:
        born = datetime.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    return 1900 <= born.year <= datetime.date.today().year


def cn_id_valid(number: str) -> bool:
    """GB 11643: province code, birth date (1900 … this year) and the MOD 11-2 check character."""
    if not id_shaped(number):
        return False
    total = sum(int(d) * w for d, w in zip(number[:17], ID_WEIGHTS))
    return ID_CHECK[total % 11] == number[17].upper()


def labelled_as_not_personal(text: str, start: int) -> bool:
    """True when the words right before ``start`` name an order, parcel, ticket or transaction number."""
    return NOT_PERSONAL.search(text[max(0, start - 12):start]) is not None


def cn_id_spans(text: str) -> Iterator[tuple[int, int]]:
    for m in CN_ID.finditer(text):
        if cn_id_valid(m.group()) and not labelled_as_not_personal(text, m.start()):
            yield m.span()


def unionpay_spans(text: str) -> Iterator[tuple[int, int]]:
    for m in UNIONPAY.finditer(text):
        digits = re.sub(r"[ -]", "", m.group())
        if 16 <= len(digits) <= 19 and luhn_valid(digits) and not id_shaped(digits) and \
                not labelled_as_not_personal(text, m.start()):
            yield m.span()


def mainland_phone_spans(text: str, phonenumbers) -> Iterator[tuple[int, int]]:
    """Mobile and area-coded landline numbers that libphonenumber says are allocated in mainland China."""
    for m in MOBILE.finditer(text):
        if _valid_cn(phonenumbers, m.group(1) + m.group(3) + m.group(4)) and \
                not labelled_as_not_personal(text, m.start()):
            yield m.span()
    for m in LANDLINE.finditer(text):
        national = (m.group(1) or m.group(2)) + re.sub(r"[ -]", "", m.group(3))
        if _valid_cn(phonenumbers, national) and not labelled_as_not_personal(text, m.start()):
            yield m.span()


def _valid_cn(phonenumbers, national: str) -> bool:
    try:
        number = phonenumbers.parse(national, "CN")
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_valid_number(number)
