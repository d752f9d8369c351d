"""The TF-IDF + logistic-regression classifier as a first-class artifact (no pickles).

A baseline directory holds::

    manifest.json        kind "tfidf-classifier", labels, features, dev metrics, calibration, cost
    vocabulary.json      the n-grams, in feature order
    tfidf.safetensors    idf (F,), coef (K, F), intercept (K,) as float32 arrays

It plugs into the same :class:`~lmforge.inference.predictor.Predictor` as a transformer: its "tokenizer"
maps a text to the ids of the n-grams it contains (id 0 is a sentinel every text carries, so none is
empty) and its backend turns a padded batch of such ids into logits — so ``evaluate``, ``predict``,
``serve`` (batching included) and ``cost`` need nothing special.

Features are chosen from the data: character 1–3-grams when most texts are written without spaces
(Chinese, Japanese, Thai: words are not delimited, so word n-grams see whole clauses), word 1–2-grams
otherwise.

    >>> model = TfidfClassifier.fit(texts, labels, label_order, choose_features(texts)[0])
    >>> model.save("runs/intent/baseline"); Predictor.load("runs/intent/baseline").predict(["hi"])
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

KIND = "tfidf-classifier"
WEIGHTS, VOCABULARY = "tfidf.safetensors", "vocabulary.json"
MAX_FEATURES = 200_000
C = 4.0


@dataclass(frozen=True)
class FeatureSpec:
    analyzer: str           # "word" or "char"
    ngram_range: tuple[int, int]
    sublinear_tf: bool = True
    lowercase: bool = True

    def describe(self) -> str:
        unit = "character" if self.analyzer == "char" else "word"
        return f"{unit} {self.ngram_range[0]}-{self.ngram_range[1]} grams, sublinear tf"

    def vectorizer(self, **kwargs):
        from sklearn.feature_extraction.text import TfidfVectorizer

        return TfidfVectorizer(analyzer=self.analyzer, ngram_range=tuple(self.ngram_range),
                               sublinear_tf=self.sublinear_tf, lowercase=self.lowercase, **kwargs)


WORD = FeatureSpec("word", (1, 2))
CHAR = FeatureSpec("char", (1, 3))


def join_pair(first: str, second: str) -> str:
    """The one text a sentence-pair baseline reads: a bag of n-grams of both."""
    return f"{first} \t {second}"


class TfidfTokenizer:
    """Text → ids of its n-grams in the vocabulary (+1; id 0 is the sentinel). Tokenizer-shaped for Predictor."""

    pad_token_id = 0

    def __init__(self, spec: FeatureSpec, vocabulary: list[str]):
        self.spec = spec
        self.index = {gram: i + 1 for i, gram in enumerate(vocabulary)}
        self.analyze = spec.vectorizer().build_analyzer()

    def __call__(self, texts, text_pairs=None, truncation: bool = False, max_length: int | None = None, **_) -> dict:
        """With ``text_pairs`` (a sentence-pair baseline), each pair is read as its two texts joined, as trained."""
        if text_pairs is not None:
            texts = [join_pair(a, b) for a, b in zip(texts, text_pairs)]
        index, analyze = self.index, self.analyze
        ids = [[0] + [i for i in map(index.get, analyze(t)) if i is not None] for t in texts]
        return {"input_ids": ids}


class TfidfClassifier:
    """idf-weighted, L2-normalised n-gram counts times a linear layer: logits (B, K)."""

    def __init__(self, spec: FeatureSpec, vocabulary: list[str], idf: np.ndarray, coef: np.ndarray,
                 intercept: np.ndarray, labels: list[str]):
        self.spec, self.vocabulary, self.labels = spec, vocabulary, labels
        self.idf = np.concatenate([[0.0], idf]).astype(np.float32)          # (F+1,), sentinel weight 0
        self.coef = np.concatenate([np.zeros((len(labels), 1)), coef], axis=1).astype(np.float32)  # (K, F+1)
        self.intercept = intercept.astype(np.float32)                         # (K,)
        self.tokenizer = TfidfTokenizer(spec, vocabulary)

    @classmethod
    def fit(cls, texts: list[str], labels: list[str], label_order: list[str], spec: FeatureSpec) -> TfidfClassifier:
        from sklearn.linear_model import LogisticRegression

        vectorizer = spec.vectorizer(max_features=MAX_FEATURES)
        x = vectorizer.fit_transform(texts)
        clf = LogisticRegression(C=C, max_iter=1000).fit(x, labels)
        vocabulary = [None] * len(vectorizer.vocabulary_)
        for gram, i in vectorizer.vocabulary_.items():
            vocabulary[i] = gram
        coef, intercept = clf.coef_, clf.intercept_
        if coef.shape[0] == 1:  # binary: sigmoid(z) == softmax([-z/2, z/2])
            coef, intercept = np.vstack([-coef / 2, coef / 2]), np.array([-intercept[0] / 2, intercept[0] / 2])
        row = {str(c): i for i, c in enumerate(clf.classes_)}
        missing = [name for name in label_order if name not in row]
        k = np.array([row.get(name, 0) for name in label_order])
        coef, intercept = coef[k], intercept[k].copy()
        for j, name in enumerate(label_order):  # a class absent from train: never predicted
            if name in missing:
                coef[j], intercept[j] = 0.0, -1e4
        return cls(spec, vocabulary, vectorizer.idf_, coef, intercept, list(label_order))

    def logits_from_ids(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        """(B, T) n-gram ids (padded, masked) → (B, K) logits."""
        from scipy.sparse import csr_matrix

        b, t = input_ids.shape
        rows = np.repeat(np.arange(b), t)[attention_mask.reshape(-1) > 0]
        cols = input_ids.reshape(-1)[attention_mask.reshape(-1) > 0]
        counts = csr_matrix((np.ones(len(cols), np.float32), (rows, cols)), shape=(b, len(self.idf)))
        counts.sum_duplicates()
        if self.spec.sublinear_tf:
            counts.data = 1.0 + np.log(counts.data)
        x = counts.multiply(self.idf[None, :]).tocsr()
        norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1))).reshape(-1)
        x = csr_matrix(x.multiply(1.0 / np.maximum(norms, 1e-12)[:, None]))
        return np.asarray(x @ self.coef.T, dtype=np.float32) + self.intercept[None, :]

    def logits(self, texts: list[str]) -> np.ndarray:
        ids = self.tokenizer(texts)["input_ids"]
        width = max((len(x) for x in ids), default=1)
        input_ids = np.zeros((len(ids), width), dtype=np.int64)    # (B, T), 0-padded
        mask = np.zeros((len(ids), width), dtype=np.int64)
        for i, x in enumerate(ids):
            input_ids[i, :len(x)], mask[i, :len(x)] = x, 1
        return self.logits_from_ids(input_ids, mask)

    def save(self, directory: str | Path, manifest: dict) -> Path:
        from safetensors.numpy import save_file

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        save_file({"idf": self.idf[1:], "coef": np.ascontiguousarray(self.coef[:, 1:]), "intercept": self.intercept},
                  str(directory / WEIGHTS))
        (directory / VOCABULARY).write_text(json.dumps(self.vocabulary, ensure_ascii=False))
        spec = {**asdict(self.spec), "ngram_range": list(self.spec.ngram_range)}
        # manifest.json written here, not through lmforge.artifacts: models sit below the artifact layer
        body = {"kind": KIND, "task": "text-classification", "labels": self.labels, "features": spec, **manifest}
        tmp = directory / ".manifest.json.tmp"
        tmp.write_text(json.dumps(body, indent=2, default=str, ensure_ascii=False) + "\n")
        os.replace(tmp, directory / "manifest.json")
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> TfidfClassifier:
        from safetensors.numpy import load_file

        directory = Path(directory)
        manifest = json.loads((directory / "manifest.json").read_text())
        f = manifest["features"]
        spec = FeatureSpec(f["analyzer"], tuple(f["ngram_range"]), f.get("sublinear_tf", True), f.get("lowercase", True))
        arrays = load_file(str(directory / WEIGHTS))
        vocabulary = json.loads((directory / VOCABULARY).read_text())
        return cls(spec, vocabulary, arrays["idf"], arrays["coef"], arrays["intercept"], manifest["labels"])


def is_tfidf_artifact(directory: Path) -> bool:
    return (directory / WEIGHTS).exists() and (directory / VOCABULARY).exists()
