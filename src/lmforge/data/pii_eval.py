"""Measure PII detection: a labelled synthetic set, CoNLL-2003 person names, and span-level scoring.

    >>> cases = labelled_pii_cases(500, seed=0)        # [(text, [(kind, start, end), …]), …]
    >>> scores = score_detector(PiiRedactor(), cases)
    >>> scores["overall"]["recall"], scores["overall"]["precision"]

The synthetic values are valid by construction (real area codes, Luhn-valid card numbers with real brand
prefixes, IBANs with correct check digits); the person names come from a hand-written list, not from the
gazetteer the detector uses. Negative sentences hold look-alikes that must not be flagged: order numbers,
dates, times, prices, versions, ISBNs, card numbers failing Luhn, IBANs failing mod-97, capitalised
places and companies. A predicted span counts as correct when it overlaps a gold span of the same kind.
"""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

from lmforge.data.checksums import luhn_complete, luhn_valid

FIRST = ["James", "Maria", "Wei", "Aisha", "Oliver", "Sofia", "Mohammed", "Emma", "Lucas", "Priya", "Daniel",
         "Chloe", "Mateo", "Hannah", "Kenji", "Fatima", "Liam", "Olivia", "Noah", "Amelia", "Ivan", "Elena",
         "Carlos", "Grace", "Tomasz", "Ingrid", "Ahmed", "Yuki", "Samuel", "Zoe"]
LAST = ["Smith", "Garcia", "Chen", "Okafor", "Müller", "Johnson", "Rossi", "Kowalski", "Nguyen", "Patel",
        "Brown", "Dubois", "Silva", "Kim", "O'Brien", "Anderson", "Haddad", "Larsen", "Novak", "Tanaka"]
WORDS = ["acme", "northwind", "contoso", "fabrikam", "globex", "initech", "umbrella", "hooli", "vandelay"]
US_AREAS = ["212", "415", "617", "312", "646", "713", "206", "303", "404", "202", "305", "512"]
NEGATIVES = [
    "My new card hasn't arrived yet, it has been 5 days.",
    "Order 2024-000{n} was charged twice, please check.",
    "The transfer of $1,{n3}.56 is still pending since Monday.",
    "Why was my card declined at 10:30 this morning?",
    "Ticket #{n8} is about the app crashing on version 4.{d}.{d}.",
    "I live in New York and travel to Paris in May.",
    "Bank of America and Apple reported earnings on Tuesday.",
    "The ISBN of the book is 978-3-16-148410-{d}.",
    "Reference number 4111 1111 1111 111{bad} failed validation.",
    "Account GB00 XXXX 1234 5678 9012 34 is not a real IBAN.",
    "The meeting moved from 10:30-11:45 to the afternoon.",
    "Temperatures reached 35.{d} degrees in the summer of 2019.",
    "Top-up with Apple Pay didn't work on my iPhone.",
    "The Central Bank raised rates by 0.25 points.",
    "Can I change my PIN at the ATM on Main Street?",
    "The World Cup final drew 1.{d} billion viewers.",
]


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def _card(rng: random.Random) -> str:
    brand = rng.choice(["visa", "mc", "amex"])
    if brand == "amex":
        number = luhn_complete(rng.choice(["34", "37"]) + _digits(rng, 12))
        groups = [number[:4], number[4:10], number[10:]]
    else:
        prefix = "4" if brand == "visa" else rng.choice(["51", "52", "53", "54", "55"])
        number = luhn_complete(prefix + _digits(rng, 15 - len(prefix)))
        groups = [number[i:i + 4] for i in range(0, 16, 4)]
    return rng.choice([" ", "-", ""]).join(groups)


def _iban(rng: random.Random) -> str:
    country, bban = rng.choice([
        ("DE", lambda: _digits(rng, 18)),
        ("GB", lambda: "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(4)) + _digits(rng, 14)),
        ("FR", lambda: _digits(rng, 23)),
        ("NL", lambda: "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(4)) + _digits(rng, 10)),
    ])
    body = bban()
    check = 98 - int("".join(str(int(c, 36)) for c in body + country + "00")) % 97
    compact = f"{country}{check:02d}{body}"
    return " ".join(compact[i:i + 4] for i in range(0, len(compact), 4)) if rng.random() < 0.5 else compact


def _phone(rng: random.Random) -> str:
    area, exchange, line = rng.choice(US_AREAS), str(rng.randint(201, 989)), _digits(rng, 4)
    if exchange in ("555", "211", "311", "411", "511", "611", "711", "811", "911"):
        exchange = "634"
    return rng.choice([
        f"({area}) {exchange}-{line}", f"{area}-{exchange}-{line}", f"+1 {area} {exchange} {line}",
        f"{area}.{exchange}.{line}", f"+44 20 7{_digits(rng, 3)} {_digits(rng, 4)}",
        f"+49 30 {rng.randint(2, 9)}{_digits(rng, 7)}", f"+33 1 {_digits(rng, 2)} {_digits(rng, 2)} "
                                                        f"{_digits(rng, 2)} {_digits(rng, 2)}"])


def _value(kind: str, rng: random.Random) -> str:
    first, last, word = rng.choice(FIRST), rng.choice(LAST), rng.choice(WORDS)
    if kind == "EMAIL":
        user = rng.choice([f"{first}.{last}", f"{first[0]}{last}{rng.randint(1, 99)}", f"{first}_{last}+{word}"])
        domain = rng.choice(["example.com", "mail.co.uk", f"{word}.io", "gmail.com", f"eu.{word}.org"])
        return f"{user.lower().replace(chr(39), '')}@{domain}"
    if kind == "URL":
        return rng.choice([f"https://www.{word}.com/help/{rng.randint(1, 999)}?id={_digits(rng, 5)}",
                           f"http://{word}.org/login", f"www.{word}.net/account/settings"])
    if kind == "IP_ADDRESS":
        if rng.random() < 0.7:
            return f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        return f"2001:db8:{rng.randint(1, 0xffff):x}::{rng.randint(1, 0xffff):x}"
    if kind == "CREDIT_CARD":
        return _card(rng)
    if kind == "IBAN":
        return _iban(rng)
    if kind == "PHONE":
        return _phone(rng)
    return rng.choice([f"{first} {last}", f"Dr. {last}", f"Mr. {first} {last}", f"Ms. {last}", f"{first} {last}"])


TEMPLATES = [
    "Hi, this is {PERSON}, you can reach me at {EMAIL} or {PHONE}.",
    "Please refund card {CREDIT_CARD}, the order was placed on 12/03/2024.",
    "Send the money to IBAN {IBAN} by Friday please.",
    "A login from {IP_ADDRESS} failed at 10:32 today.",
    "See {URL} for the terms, or write to {EMAIL}.",
    "{PERSON} called from {PHONE} about a charge of $42.10.",
    "My colleague {PERSON} says the transfer to {IBAN} never arrived.",
    "Card number {CREDIT_CARD} was blocked after I moved to 221 Baker Street.",
    "Our server {IP_ADDRESS} lost connection, details at {URL}.",
    "Thanks {PERSON}! I will call {PHONE} tomorrow.",
    # Harder forms seen in user-typed text: no separators, upper or lower case, punctuation around values.
    "pls call me on {PHONE:plain} asap",
    "my email is {EMAIL:upper} (work) or {EMAIL}.",
    "the faq (see {URL}) did not help",
    "blocked login from IP {IP_ADDRESS}.",
    "transfer to {IBAN:lower} failed",
    "hi its {PERSON:lower} again, card {CREDIT_CARD} still blocked",
]


def labelled_pii_cases(n: int = 500, seed: int = 0) -> list[tuple[str, list[tuple[str, int, int]]]]:
    """``n`` sentences with their gold PII spans; about one in four holds none."""
    rng = random.Random(seed)
    cases = []
    for _ in range(n):
        if rng.random() < 0.25:
            template = rng.choice(NEGATIVES)
            text = template.format(n=_digits(rng, 3), n3=_digits(rng, 3), n8=_digits(rng, 8), d=rng.randint(0, 9),
                                   bad=next(d for d in "0123456789" if not luhn_valid(f"411111111111111{d}")))
            cases.append((text, []))
            continue
        template, text, spans, pos = rng.choice(TEMPLATES), "", [], 0
        while pos < len(template):
            start = template.find("{", pos)
            if start < 0:
                text += template[pos:]
                break
            end = template.index("}", start)
            kind, _, form = template[start + 1:end].partition(":")
            text += template[pos:start]
            value = _value(kind, rng)
            if form == "plain":
                value = f"{rng.choice(US_AREAS)}{rng.randint(201, 989)}{_digits(rng, 4)}"
            elif form:
                value = getattr(value, form)()
            spans.append((kind, len(text), len(text) + len(value)))
            text += value
            pos = end + 1
        cases.append((text, spans))
    return cases


def score_detector(redactor, cases) -> dict:
    """Precision and recall per kind and overall; a hit is a predicted span overlapping a gold one of its kind."""
    tp, fp, fn = Counter(), Counter(), Counter()
    errors = []
    for text, gold in cases:
        predicted = [(s.kind, s.start, s.end) for s in redactor.find(text)]
        matched_gold = set()
        for kind, start, end in predicted:
            hit = next((g for g in gold if g[0] == kind and g[1] < end and start < g[2]), None)
            if hit is None:
                fp[kind] += 1
                errors.append({"text": text, "false_positive": text[start:end], "kind": kind})
            else:
                tp[kind] += 1
                matched_gold.add(hit)
        for g in gold:
            if g not in matched_gold:
                fn[g[0]] += 1
                errors.append({"text": text, "missed": text[g[1]:g[2]], "kind": g[0]})
    out = {}
    for kind in sorted(set(tp) | set(fp) | set(fn)) + ["overall"]:
        t = sum(tp.values()) if kind == "overall" else tp[kind]
        p = sum(fp.values()) if kind == "overall" else fp[kind]
        n = sum(fn.values()) if kind == "overall" else fn[kind]
        out[kind] = {"precision": round(t / (t + p), 4) if t + p else 1.0, "recall": round(t / (t + n), 4)
                     if t + n else 1.0, "true_positives": t, "false_positives": p, "false_negatives": n}
    out["errors"] = errors[:50]
    return out


def conll_person_cases(path: str | Path, limit: int | None = None) -> list[tuple[str, list[tuple[str, int, int]]]]:
    """CoNLL-2003 sentences (tokens joined by spaces) with their PER entities as gold PERSON spans."""
    from lmforge.data.conll import iter_conll_sentences

    cases = []
    for sentence in iter_conll_sentences(path):
        text, spans, offset, current = "", [], 0, None
        for token, tag in zip(sentence.tokens, sentence.tags):
            start = len(text) + (1 if text else 0)
            text = f"{text} {token}" if text else token
            if tag == "B-PER" or (tag == "I-PER" and current is None):
                current = [start, len(text)]
                spans.append(current)
            elif tag == "I-PER":
                current[1] = len(text)
            else:
                current = None
            offset += 1
        cases.append((text, [("PERSON", s, e) for s, e in spans]))
        if limit and len(cases) >= limit:
            break
    return cases
