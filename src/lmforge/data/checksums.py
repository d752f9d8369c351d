"""Check digits that tell a real card or account number from any other string of digits."""

from __future__ import annotations


def luhn_valid(digits: str) -> bool:
    """The Luhn (mod 10) check of payment card numbers: double every second digit from the right."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def luhn_complete(body: str) -> str:
    """``body`` with the one check digit appended that makes it pass :func:`luhn_valid` (test-number makers)."""
    return next(body + str(d) for d in range(10) if luhn_valid(body + str(d)))
