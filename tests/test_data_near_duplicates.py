"""MinHash signatures equal datasketch's; LSH finds near-duplicates and refuses unrelated texts."""

from __future__ import annotations

import random

import numpy as np
import pytest

from lmforge.data.near_duplicates import (DuplicateIndex, MinHasher, NearDuplicateConfig, lsh_bands, normalise,
                                          shingle_hashes)
from lmforge.errors import ConfigError

TEXTS = ["the film was great", "The film was GREAT!", "a dull plot", "ab", "", "café au lait is nice today",
         "x" * 300]


def test_signatures_equal_datasketch_minhash():
    from datasketch import MinHash

    hasher = MinHasher(num_perm=64, seed=7)
    signatures = hasher.signatures(TEXTS)
    hashes, firsts = shingle_hashes(TEXTS, 5)
    ends = list(firsts[1:]) + [len(hashes)]
    for i in range(len(TEXTS)):
        reference = MinHash(num_perm=64, seed=7, scheme="affine32", hashfunc=int)
        reference.update_batch(hashes[firsts[i]:ends[i]].tolist())
        np.testing.assert_array_equal(reference.hashvalues, signatures[i])


def test_signatures_do_not_depend_on_the_batch():
    hasher = MinHasher(num_perm=32)
    together = hasher.signatures(TEXTS)
    alone = np.vstack([hasher.signatures([t]) for t in TEXTS])
    np.testing.assert_array_equal(together, alone)


def test_normalise_ignores_case_and_punctuation():
    assert normalise("The film — was GREAT!!") == "the film was great"


def _edit(text: str, rng: random.Random) -> str:
    words = text.split()
    i = rng.randrange(len(words))
    op = rng.choice(["drop", "swap", "case", "punct"])
    if op == "drop" and len(words) > 12:
        del words[i]
    elif op == "swap":
        j = min(i + 1, len(words) - 1)
        words[i], words[j] = words[j], words[i]
    elif op == "case":
        words[i] = words[i].upper()
    else:
        words[i] += ","
    return " ".join(words)


def test_near_duplicates_are_found_and_strangers_are_not():
    rng = random.Random(0)
    vocab = [f"w{i}" for i in range(3000)]
    originals = [" ".join(rng.choices(vocab, k=rng.randint(15, 30))) for _ in range(400)]
    copies = [_edit(t, rng) for t in originals[:200]]
    index = DuplicateIndex(NearDuplicateConfig(threshold=0.7))
    groups = index.add(originals + copies)
    a, b, sim = index.near_pairs()
    found = {(int(x), int(y)) for x, y in zip(a, b)}
    truth = {tuple(sorted((int(groups[i]), int(groups[400 + i])))) for i in range(200)
             if groups[i] != groups[400 + i]}
    assert len(truth & found) >= 0.95 * len(truth)
    assert len(found - truth) == 0          # random texts share almost no 5-grams
    assert (sim >= 0.7).all()


def test_exact_duplicates_share_a_group():
    index = DuplicateIndex(None)
    assert index.add(["a", "b", "a"]).tolist() == [0, 1, 0]
    with pytest.raises(ConfigError, match="without near-duplicate"):
        index.near_pairs()


def test_banding_follows_the_threshold():
    bands, rows = lsh_bands(0.8, 128)
    assert bands * rows <= 128
    assert lsh_bands(0.5, 128)[1] < rows        # a lower threshold: shorter bands, more candidates


def test_config_is_validated():
    with pytest.raises(ConfigError) as e:
        NearDuplicateConfig(threshold=1.5, num_perm=4).validate()
    assert len(e.value.problems) == 2
