"""Exact and near-duplicate texts at the scale of millions of rows, in bounded memory.

    >>> index = DuplicateIndex(NearDuplicateConfig(threshold=0.8))
    >>> groups = index.add(["the film was great", "the film was great", "the film was great!", "a dull plot"])
    >>> groups                                          # exact duplicates share a group id
    array([0, 0, 1, 2])
    >>> index.near_pairs()                              # pairs of groups whose texts are nearly the same
    (array([0]), array([1]), array([1.], dtype=float32))

Texts are compared as sets of byte 5-grams of a normalised form (lower-case, punctuation dropped, spaces
collapsed). MinHash signatures are datasketch's ``affine32`` scheme computed for a whole chunk of texts at
once with numpy; ``test_data_near_duplicates.py`` checks they equal ``datasketch.MinHash`` bit for bit.
The LSH index is not datasketch's ``MinHashLSH``: that keeps a Python dict entry per band and text, about
1 KB per text at 16 bands, so one million texts would not fit the 4 GB budget. Here each band is one
uint64 array sorted once; equal band hashes give candidate pairs, and a candidate becomes a pair when its
estimated Jaccard similarity (the share of equal signature slots) reaches the threshold.
The banding (bands × rows) is datasketch's optimum for the threshold, weighted towards recall.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import numpy as np

from lmforge.config import setting
from lmforge.errors import ConfigError, missing_extra

NON_WORD = re.compile(r"[\W_]+")
_FMIX64 = (np.uint64(33), np.uint64(0xFF51AFD7ED558CCD), np.uint64(0xC4CEB9FE1A85EC53))
_FMIX32 = (np.uint32(16), np.uint32(0x85EBCA6B), np.uint32(13), np.uint32(0xC2B2AE35))


@dataclass
class NearDuplicateConfig:
    """How near-duplicates are found."""

    threshold: float = setting(0.8, "Jaccard similarity of byte 5-grams from which two texts are near-duplicates")
    num_perm: int = setting(128, "MinHash permutations (more: a finer similarity estimate, more memory)")
    shingle: int = setting(5, "shingle length in bytes of the normalised text")
    seed: int = setting(1, "MinHash seed (datasketch's default is 1)")

    def validate(self) -> NearDuplicateConfig:
        problems = []
        if not 0 < self.threshold <= 1:
            problems.append(f"near-duplicate threshold must be in (0, 1], got {self.threshold}")
        if not 8 <= self.num_perm <= 1024:
            problems.append(f"num_perm must be between 8 and 1024, got {self.num_perm}")
        if not 1 <= self.shingle <= 8:
            problems.append(f"shingle must be between 1 and 8 bytes, got {self.shingle}")
        if problems:
            raise ConfigError(problems)
        return self


def normalise(text: str) -> str:
    """The form texts are compared in: lower-case words separated by single spaces."""
    return NON_WORD.sub(" ", text.lower()).strip()


def fmix64(h: np.ndarray) -> np.ndarray:
    s, m1, m2 = _FMIX64
    h = h ^ (h >> s)
    h = h * m1
    h = h ^ (h >> s)
    h = h * m2
    return h ^ (h >> s)


def fmix32(h: np.ndarray) -> np.ndarray:
    s1, m1, s2, m2 = _FMIX32
    h = h ^ (h >> s1)
    h = h * m1
    h = h ^ (h >> s2)
    h = h * m2
    return h ^ (h >> s1)


def shingle_hashes(texts: list[str], k: int) -> tuple[np.ndarray, np.ndarray]:
    """32-bit hashes of every byte k-gram of each normalised text, concatenated, and each text's first index.

    A text shorter than k bytes yields one gram (itself, zero-padded). Grams never cross texts: k zero
    bytes separate them (k, not k-1: an empty text's one gram must read only zeros).
    """
    encoded = [normalise(t).encode() for t in texts]
    lengths = np.fromiter((len(b) for b in encoded), dtype=np.int64, count=len(encoded))
    buffer = np.frombuffer((b"\0" * k).join(encoded) + b"\0" * k, dtype=np.uint8).astype(np.uint64)
    offsets = np.concatenate([[0], np.cumsum(lengths + k)[:-1]])
    counts = np.maximum(lengths - k + 1, 1)
    firsts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    # positions of every gram: offset of its text + 0..count-1
    positions = np.repeat(offsets - firsts, counts) + np.arange(counts.sum())
    gram = np.zeros(len(positions), dtype=np.uint64)
    for j in range(k):  # up to 8 bytes pack exactly into one uint64: no collisions before mixing
        gram |= buffer[positions + j] << np.uint64(8 * j)
    return (fmix64(gram) & np.uint64(0xFFFFFFFF)).astype(np.uint32), firsts


class MinHasher:
    """MinHash signatures, equal to ``datasketch.MinHash(num_perm, seed, scheme="affine32")`` fed the
    shingle hashes, for a batch of texts at a time."""

    def __init__(self, num_perm: int = 128, seed: int = 1, shingle: int = 5):
        try:
            from datasketch import MinHash
        except ImportError:
            raise missing_extra("near-duplicate detection", "data", "datasketch") from None
        self.a, self.b = MinHash(num_perm=num_perm, seed=seed, scheme="affine32").permutations
        self.num_perm, self.shingle = num_perm, shingle

    def signatures(self, texts: list[str]) -> np.ndarray:
        """uint32 array (len(texts), num_perm)."""
        hashes, firsts = shingle_hashes(texts, self.shingle)
        mixed = fmix32(hashes)
        out = np.empty((len(texts), self.num_perm), dtype=np.uint32)
        with np.errstate(over="ignore"):
            for p in range(self.num_perm):  # one permutation at a time keeps the temporaries small
                out[:, p] = np.minimum.reduceat(mixed * self.a[p] + self.b[p], firsts)
        return out


def lsh_bands(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows per band): datasketch's optimum, weighting a missed pair 9 times a false candidate
    (false candidates are cheap here: every candidate is verified against the signatures)."""
    from datasketch.lsh import _optimal_param

    return _optimal_param(threshold, num_perm, 0.1, 0.9)


def _band_hashes(signatures: np.ndarray, start: int, rows: int) -> np.ndarray:
    h = np.zeros(len(signatures), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for c in range(start, start + rows):
            h = fmix64(h * np.uint64(0x100000001B3) + signatures[:, c].astype(np.uint64))
    return h


def candidate_pairs(signatures: np.ndarray, bands: int, rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (i < j) that share at least one band, deduplicated."""
    found = []
    for band in range(bands):
        h = _band_hashes(signatures, band * rows, rows)
        order = np.argsort(h, kind="stable")
        sorted_h = h[order]
        same = sorted_h[1:] == sorted_h[:-1]  # member k+1 is in the same bucket as member k
        if not same.any():
            continue
        # Each bucket member is paired with its bucket's first member and with its predecessor: linear in
        # the bucket size (all pairs would be quadratic in a bucket of thousands of short texts).
        starts = np.flatnonzero(np.concatenate([[True], ~same]))
        leader = order[starts[np.searchsorted(starts, np.arange(len(order)), side="right") - 1]]
        members = np.flatnonzero(np.concatenate([[False], same]))
        for left in (leader[members], order[members - 1]):
            right = order[members]
            found.append(np.stack([np.minimum(left, right), np.maximum(left, right)], axis=1))
    if not found:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    pairs = np.unique(np.concatenate(found), axis=0)
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    return pairs[:, 0], pairs[:, 1]


class DuplicateIndex:
    """Streams texts in; gives each distinct text a group id, and MinHash-signs each new group.

    Memory: one 8-byte key per distinct text in a dict, plus ``num_perm`` × 4 bytes of signature per distinct
    text (512 B at 128 permutations) when near-duplicates are wanted.
    """

    def __init__(self, near: NearDuplicateConfig | None = None, chunk: int = 4096):
        self.near = near.validate() if near is not None else None
        self.hasher = MinHasher(near.num_perm, near.seed, near.shingle) if near is not None else None
        self.keys: dict[bytes, int] = {}
        self._pending: list[str] = []
        self._signed: list[np.ndarray] = []
        self.chunk = chunk

    def __len__(self) -> int:
        return len(self.keys)

    def add(self, texts: list[str]) -> np.ndarray:
        """Group ids of ``texts`` (new ids for texts not seen before)."""
        ids = np.empty(len(texts), dtype=np.int64)
        for i, text in enumerate(texts):
            key = hashlib.blake2b(text.encode(), digest_size=8).digest()
            group = self.keys.get(key)
            if group is None:
                group = self.keys[key] = len(self.keys)
                if self.hasher is not None:
                    self._pending.append(text)
            ids[i] = group
        if len(self._pending) >= self.chunk:
            self._flush()
        return ids

    def _flush(self) -> None:
        if self._pending:
            self._signed.append(self.hasher.signatures(self._pending))
            self._pending = []

    def signatures(self) -> np.ndarray:
        self._flush()
        if len(self._signed) > 1:
            self._signed = [np.concatenate(self._signed)]
        return self._signed[0] if self._signed else np.empty((0, self.hasher.num_perm), dtype=np.uint32)

    def near_pairs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(group a, group b, estimated similarity) for each pair of distinct texts at or above the threshold."""
        if self.hasher is None:
            raise ConfigError("this index was built without near-duplicate detection")
        sig = self.signatures()
        bands, rows = lsh_bands(self.near.threshold, self.near.num_perm)
        a, b = candidate_pairs(sig, bands, rows)
        similarity = np.empty(len(a), dtype=np.float32)
        for s in range(0, len(a), 1 << 16):  # verify in slices: (pairs × num_perm) temporaries stay small
            similarity[s:s + (1 << 16)] = (sig[a[s:s + (1 << 16)]] == sig[b[s:s + (1 << 16)]]).mean(axis=1)
        keep = similarity >= self.near.threshold
        return a[keep], b[keep], similarity[keep]
