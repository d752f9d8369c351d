"""Person names without a model download: a first-name gazetteer plus honorifics.

A name is found where a known first name (the ~40,000 given names of the ``gender-guesser`` package's
dictionary) is followed by one or two capitalised words ("Jane Doe", "Mary Ann O'Neil"), or where an
honorific precedes capitalised words ("Dr. Okafor"). Words that are names but far more often something
else ("The", "May", "Will" at a sentence start, "New") are refused by the stop list below.

Why not Presidio or spaCy: Presidio's PERSON recognizer is spaCy's NER, and spaCy's English models come
from a model hub, which lmforge never downloads; Presidio's pattern recognizers cover no names. What this
finder misses, measured on CoNLL-2003's PER entities (bench/RESULTS.md): a surname alone ("Clinton said"),
and names whose first name is not in the gazetteer.

    >>> [text[s:e] for s, e in PersonNameFinder().spans(text := "I met Jane Doe and Dr. Okafor.")]
    ['Jane Doe', 'Dr. Okafor']
"""

from __future__ import annotations

import re

from lmforge.errors import missing_extra

CAPITALISED = re.compile(r"(?:[A-Z]['’])?[A-Z][a-zà-ÿ]+(?:[A-Z][a-zà-ÿ]+)?(?:-[A-Z][a-zà-ÿ]+)?")
INITIAL = re.compile(r"[A-Z]\.")
# Capitalised honorifics may omit the full stop; lower-case ones ("mr. okafor", typed chat) must have it.
HONORIFIC = re.compile(r"\b(?:(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Sir|Dame|Madam|Mme|Mlle|Herr|Frau)\.?"
                       r"|(?:mr|mrs|ms|mx|dr|prof)\.)\s+(?=\w)")
WORD = re.compile(r"\S+")

# Capitalised words that the gazetteer lists as given names but that mostly mean something else, plus words
# that cannot be a surname. Lower-case forms; grown from the false positives seen on SST-2, AG News,
# Banking77 and CoNLL-2003.
STOP_WORDS = frozenset("""
a an the and or but if so as at by for from in into of on onto to with without about above after again
against all am any are be been before being below between both can could did do does doing down during each
few further had has have having he her here hers him his how i is it its just me more most my no nor not now
off once only other our out over own same she should some such than that their them then there these they
this those through too under until up very was we were what when where which while who whom why will would
you your yours yes thanks thank please hello hi hey dear regards best ok okay
january february march april may june july august september october november december
monday tuesday wednesday thursday friday saturday sunday today tomorrow yesterday
new north south east west central united national international general royal grand great saint san santa
st mount lake river city state county street road avenue university college school bank card account
president minister chairman chief senator governor king queen prince princess lord lady pope judge
england london paris berlin america american europe european china india japan africa israel asia
corp corporation inc ltd llc plc co company group holdings lab labs laboratory shop store airlines
free jet
""".split())


class PersonNameFinder:
    """Finds ``(start, end)`` spans of person names in a text."""

    def __init__(self, extra_first_names: tuple[str, ...] = ()):
        try:
            import gender_guesser.detector as gender_detector
        except ImportError:
            raise missing_extra("person-name detection", "data", "gender-guesser") from None
        names = gender_detector.Detector(case_sensitive=False).names
        self.first_names = frozenset(n for n in names if "+" not in n and len(n) > 1) - STOP_WORDS
        self.first_names |= frozenset(n.lower() for n in extra_first_names)

    def _is_surname(self, word: str, any_case: bool = False) -> bool:
        shaped = word.isalpha() if any_case else bool(CAPITALISED.fullmatch(word))
        return shaped and word.lower() not in STOP_WORDS

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Name spans in text order. A surname found in a full name is also a name where it recurs alone
        in the same text ("Cuttitta scored … Marcello Cuttitta")."""
        words = [(m.start(), m.group()) for m in WORD.finditer(text)]
        honorifics = {m.end(): m.start() for m in HONORIFIC.finditer(text)}
        lower_honorifics = {m.end() for m in HONORIFIC.finditer(text) if m.group()[0].islower()}
        found: list[tuple[int, int]] = []
        surnames: set[str] = set()
        i = 0
        while i < len(words):
            start, raw = words[i]
            word = raw.rstrip(".,;:!?)'\"’")
            after_honorific = start in honorifics
            any_case = start in lower_honorifics  # "mr. okafor": a lower-case name only after one
            is_initial = bool(INITIAL.fullmatch(raw))
            if not (after_honorific or is_initial or (word.lower() in self.first_names and CAPITALISED.fullmatch(word))):
                i += 1
                continue
            # Extend over following capitalised words (and middle initials) while no punctuation intervenes.
            end, parts, j, last = start + len(word), 1, i, word
            clean_end = word == raw or is_initial
            # After a lower-case honorific only a known first name may be followed by another word
            # ("mr. fatima okafor" but "mr. scorsese" in "mr. scorsese fosters …").
            limit = 3 if not any_case else (2 if word.lower() in self.first_names else 1)
            while clean_end and j + 1 < len(words) and parts < limit:
                nxt_start, nxt_raw = words[j + 1]
                if INITIAL.fullmatch(nxt_raw):  # "John F. Kennedy"
                    j += 1
                    continue
                nxt = nxt_raw.rstrip(".,;:!?)'\"’")
                nxt = nxt[:-2] if nxt.endswith(("'s", "’s")) else nxt
                if not self._is_surname(nxt, any_case=any_case):
                    break
                j, parts, end, last = j + 1, parts + 1, nxt_start + len(nxt), nxt
                clean_end = nxt == nxt_raw
            if parts >= 2 or (after_honorific and self._is_surname(word, any_case=any_case)):
                found.append((honorifics.get(start, start), end))
                surnames.add(last)
                i = j + 1
            else:
                i += 1
        if surnames:
            covered = [(s, e) for s, e in found]
            for start, raw in words:
                word = raw.rstrip(".,;:!?)'\"’")
                word = word[:-2] if word.endswith(("'s", "’s")) else word
                if word in surnames and not any(s <= start < e for s, e in covered):
                    found.append((start, start + len(word)))
        return sorted(found)
