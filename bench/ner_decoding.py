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
    parser.add_argument("--prior", help="training file: also decode with λ · log p(tag | previous tag) from its "
                        "tag bigrams added to the transitions (an experiment, λ below)")
    parser.add_argument("--weights", default="0.25,0.5,1", help="the λ values tried with --prior")
    args = parser.parse_args()
    predictor = Predictor.load(args.model)
    labels = predictor.labels
    priors = {}
    if args.prior:
        bigrams = np.ones((len(labels), len(labels)))  # add-one smoothing
        index = {tag: i for i, tag in enumerate(labels)}
        for tags in predictor.task.read(args.prior).tags:
            for a, b in zip(tags, tags[1:]):
                bigrams[index[a], index[b]] += 1
        log_prior = np.log(bigrams / bigrams.sum(1, keepdims=True))
        priors = {f"viterbi+prior{w}": float(w) * log_prior for w in args.weights.split(",")}
    for path in args.files:
        data = predictor.task.read(path)
        logits = word_logits(predictor, data.tokens)
        gold = [tags[:len(x)] for tags, x in zip(data.tags, logits)]  # cut words scored as cut, in both arms
        argmax = [[labels[i] for i in x.argmax(-1)] for x in logits]
        viterbi = [[labels[i] for i in decode_tags(x, labels)] for x in logits]
        changed = sum(a != v for a, v in zip(argmax, viterbi))
        row = {"file": path, "sentences": len(gold), "sentences_changed": changed}
        decoded = {"argmax": argmax, "viterbi": viterbi}
        for name, prior in priors.items():
            decoded[name] = [[labels[i] for i in decode_tags(x, labels, prior)] for x in logits]
        for name, pred in decoded.items():
            scores = entity_scores(gold, pred)
            row[name] = {k: round(v, 4) for k, v in scores.items()}
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
