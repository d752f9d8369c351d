"""Constrained (Viterbi) tag decoding against per-word argmax, on one trained tagger's logits.

Both decoders read the same logits (one forward pass per file), so the difference is the decoder alone:

    PYTHONPATH=src python bench/ner_decoding.py MODEL_DIR dev.txt [test.txt ...]

prints, per file, strict (seqeval, the file's scheme) and conlleval-compatible entity F1 for argmax and for
:func:`lmforge.tasks.token_classification.decode_tags`, and how many sentences argmax left invalid.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from lmforge.inference.predictor import Predictor
from lmforge.tasks.token_classification import decode_tags, entity_scores, first_subtokens


def word_logits(predictor: Predictor, sentences: list[list[str]]) -> list[np.ndarray]:
    """(words, tags) logits at each word's first sub-token (words cut by max_length are dropped)."""
    encoding = predictor.task.tokenize(predictor.tokenizer, sentences, predictor.max_length)
    out = []
    for i, row in enumerate(predictor.logits(sentences)):
        first = first_subtokens(encoding.word_ids(i))
        out.append(np.asarray(row)[[first[w] for w in sorted(first)]])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()
    predictor = Predictor.load(args.model)
    labels = predictor.labels
    for path in args.files:
        data = predictor.task.read(path)
        logits = word_logits(predictor, data.tokens)
        gold = [tags[:len(x)] for tags, x in zip(data.tags, logits)]  # cut words scored as cut, in both arms
        argmax = [[labels[i] for i in x.argmax(-1)] for x in logits]
        viterbi = [[labels[i] for i in decode_tags(x, labels)] for x in logits]
        changed = sum(a != v for a, v in zip(argmax, viterbi))
        row = {"file": path, "sentences": len(gold), "sentences_changed": changed}
        for name, pred in (("argmax", argmax), ("viterbi", viterbi)):
            scores = entity_scores(gold, pred)
            row[name] = {k: round(v, 4) for k, v in scores.items()}
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
