"""Token classification (named entities): a tag per word, predictions as entity spans with character offsets.

Data: column files, one token per line and a blank line between sentences, the tag in the last column —
CoNLL-2003 (``-DOCSTART-`` lines skipped) and BIO / IOB2, BIOES and BMES tag files (Resume NER); or JSONL
with ``tokens`` and ``tags`` lists. The tag scheme is detected from the tags (any ``E-``/``S-``/``M-``:
IOBES, with BMES's ``M-`` read as ``I-``; else IOB2).

Training labels sit on the first sub-token of each word and ``-100`` everywhere else (``word_ids()``), so
the loss, the dev scores and the predictions all look at one position per word. Tags are decoded per
sentence by Viterbi over those positions' log-probabilities, allowing only the scheme's transitions (no
``I-PER`` after ``O`` or ``B-LOC``; in IOBES every ``B-`` closes with ``E-``): what a CRF's decoder enforces,
without training one. Evaluation reports
entity-level precision / recall / F1 per type with ``seqeval`` in strict mode for the detected scheme, and
the conlleval-compatible score (seqeval's default mode) beside it.

    >>> task = get_task("token-classification")
    >>> data = task.read("conll2003/train.txt")            # TaggedSentences: tokens, tags, rows
    >>> task.postprocess(logits, labels, inputs=["EU rejects German call"], tokenizer=tok, max_length=128)
    [TaggedText(text='EU rejects German call', entities=[Entity(type='ORG', start=0, end=2, text='EU', ...)])]
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from lmforge.config import new_head_recipe
from lmforge.data.batching import pad_batch
from lmforge.errors import DataError
from lmforge.files import sha256_file
from lmforge.tasks.registry import register_task
from lmforge.tasks.text_classification import softmax

IGNORE = -100  # the target of sub-tokens after a word's first, and of special tokens: no loss, no score
WINDOW_MARGIN = 4  # tokens a window keeps spare: its text re-tokenized alone may take a few more
PREFIXES = ("B", "I", "E", "S", "M")
TABULAR = (".jsonl",)


@dataclass
class TaggedSentences:
    """Sentences as words with a tag per word, the source line of each sentence, as read from one file."""

    tokens: list[list[str]]
    tags: list[list[str]]
    rows: list[int]
    path: Path | None = None
    sha256: str = ""
    text_column: str = "tokens"
    label_column: str = "tags"

    def __len__(self) -> int:
        return len(self.tokens)

    @property
    def inputs(self) -> list[list[str]]:
        return self.tokens

    @property
    def texts(self) -> list[str]:
        """Each sentence as one string, words joined by spaces (benchmarks, baselines, parity samples)."""
        return [" ".join(words) for words in self.tokens]

    @property
    def labels(self) -> list[str]:
        """One key per sentence for a stratified dev split: its most frequent entity type, or ``O``."""
        keys = []
        for tags in self.tags:
            types = Counter(tag_type(t) for t in tags if t != "O")
            keys.append(types.most_common(1)[0][0] if types else "O")
        return keys

    def subset(self, indices: Sequence[int]) -> TaggedSentences:
        return TaggedSentences([self.tokens[i] for i in indices], [self.tags[i] for i in indices],
                               [self.rows[i] for i in indices], self.path, self.sha256)

    def describe(self) -> dict:
        entities = Counter(e[0] for tags in self.tags for e in spans_of(tags))
        return {"path": str(self.path) if self.path else None, "sha256": self.sha256, "rows": len(self),
                "text_column": self.text_column, "label_column": self.label_column,
                "tokens": sum(map(len, self.tokens)), "scheme": scheme_of(self.tags),
                "label_distribution": dict(sorted(entities.items()))}


@dataclass(frozen=True)
class Entity:
    type: str
    start: int   # character offsets into the text: text[start:end] is the entity
    end: int
    text: str
    score: float


@dataclass(frozen=True)
class TaggedText:
    text: str
    entities: list[Entity] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"text": self.text, "entities": [{**asdict(e), "score": round(e.score, 6)} for e in self.entities]}

    def line(self) -> str:
        return " ".join(f"[{e.text}]{e.type}" for e in self.entities) or "(no entities)"


# --- tags and spans ---------------------------------------------------------------------------------------

def tag_type(tag: str) -> str:
    return tag[2:] if len(tag) > 2 and tag[1] == "-" else tag


def tag_prefix(tag: str) -> str:
    return tag[0] if tag != "O" else "O"


def scheme_of(tag_lists: Sequence[Sequence[str]]) -> str:
    """IOBES when any tag starts with E-, S- or M- (BMES read as IOBES), else IOB2."""
    for tags in tag_lists:
        if any(t[:2] in ("E-", "S-", "M-") for t in tags):
            return "IOBES"
    return "IOB2"


def as_iob_scheme(tags: Sequence[str]) -> list[str]:
    """BMES's ``M-`` is IOBES's ``I-``; other tags are kept."""
    return ["I-" + t[2:] if t.startswith("M-") else t for t in tags]


def spans_of(tags: Sequence[str]) -> list[tuple[str, int, int]]:
    """(type, first word, last word + 1) of each entity, read leniently: B-/S- or a change of type starts
    one, E-/S- ends one, O ends one (how predictions are decoded; evaluation uses seqeval's own rules)."""
    spans, current = [], None  # current: [type, start]
    for i, tag in enumerate(tags):
        prefix, kind = tag_prefix(tag), tag_type(tag)
        if prefix == "O":
            if current:
                spans.append((current[0], current[1], i))
            current = None
            continue
        if current is None or prefix in ("B", "S") or kind != current[0]:
            if current:
                spans.append((current[0], current[1], i))
            current = [kind, i]
        if prefix in ("E", "S"):
            spans.append((current[0], current[1], i + 1))
            current = None
    if current:
        spans.append((current[0], current[1], len(tags)))
    return spans


@lru_cache(maxsize=64)
def transition_rules(labels: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which tag may open a sentence, follow each tag, and close a sentence, under the labels' scheme:
    (start (C,), follows (C, C), end (C,)) booleans. IOB2: ``I-X`` only after ``B-X``/``I-X``. IOBES (BMES's
    ``M-`` as ``I-``): ``I-X``/``E-X`` only after ``B-X``/``I-X``, which nothing else may follow."""
    prefixes = ["I" if tag_prefix(t) == "M" else tag_prefix(t) for t in labels]
    kinds = [tag_type(t) for t in labels]
    iobes = any(p in ("E", "S") for p in prefixes) or any(tag_prefix(t) == "M" for t in labels)
    continues = np.array([p == "I" or (iobes and p == "E") for p in prefixes])
    opened = np.array([p in ("B", "I") for p in prefixes])  # an entity still open after this tag
    same = np.array([[a == b for b in kinds] for a in kinds])
    follows = np.where(continues[None, :], opened[:, None] & same, ~opened[:, None] if iobes else True)
    end = ~opened if iobes else np.ones(len(labels), dtype=bool)
    return ~continues, follows, end


def decode_tags(scores: np.ndarray, labels: Sequence[str], transitions: np.ndarray | None = None) -> list[int]:
    """The best valid tag sequence (ids) for one sentence's (words, tags) logits: Viterbi over log-softmax
    scores with the scheme's forbidden transitions (:func:`transition_rules`) scored out, plus
    ``transitions[previous, tag]`` where given."""
    scores = np.asarray(scores, dtype=np.float64)
    if len(scores) == 0:
        return []
    log_probs = scores - scores.max(-1, keepdims=True)
    log_probs -= np.log(np.exp(log_probs).sum(-1, keepdims=True))
    start, follows, end = transition_rules(tuple(labels))
    forbidden = -1e9  # finite: a label set whose rules no path satisfies still decodes (to the least bad)
    step = np.where(follows, 0.0 if transitions is None else transitions, forbidden)
    best = log_probs[0] + np.where(start, 0.0, forbidden)
    back = np.empty((len(scores) - 1, len(labels)), dtype=np.int64)
    for i in range(1, len(scores)):
        candidates = best[:, None] + step             # (previous tag, tag)
        back[i - 1] = candidates.argmax(0)
        best = candidates[back[i - 1], np.arange(len(labels))] + log_probs[i]
    path = [int((best + np.where(end, 0.0, forbidden)).argmax())]
    for pointers in back[::-1]:
        path.append(int(pointers[path[-1]]))
    return path[::-1]


def check_tag(tag: str, path: Path, line: int) -> str:
    if tag == "O" or (len(tag) > 2 and tag[1] == "-" and tag[0] in PREFIXES):
        return tag
    raise DataError(f"'{tag}' is not a tag lmforge can read", path=path, line=line,
                    hint="tags are O or B-/I-/E-/S-/M- followed by a type (BIO, BIOES or BMES)")


# --- reading ----------------------------------------------------------------------------------------------

def read_tagged(path: str | Path, encoding: str = "utf-8") -> TaggedSentences:
    """A column file (CoNLL, BIO/BIOES/BMES) or a JSONL file of ``tokens``/``tags`` lists."""
    path = Path(path)
    tokens, tags, rows = [], [], []
    for line, words, word_tags in _sentences(path, encoding):
        if word_tags is None:
            raise DataError("has no tags", path=path, line=line,
                            hint="give every token a tag (last column), or pass plain texts to predict")
        tokens.append(words)
        tags.append([check_tag(t, path, line) for t in word_tags])
        rows.append(line)
    if not tokens:
        raise DataError("holds no sentences", path=path, hint="one token and its tag per line, a blank line "
                                                              "between sentences")
    return TaggedSentences(tokens, tags, rows, path, sha256_file(path))


def looks_tagged(path: Path, encoding: str = "utf-8") -> bool:
    from lmforge.data.conll import looks_like_conll

    return path.suffix.lower() not in (".csv", ".tsv", ".parquet") + TABULAR and looks_like_conll(path, encoding)


def _sentences(path: Path, encoding: str) -> Iterator[tuple[int, list[str], list[str] | None]]:
    if path.suffix.lower() in TABULAR:
        from lmforge.data.decoding import decoded_lines

        for line_no, raw in enumerate(decoded_lines(path, encoding), start=1):
            if not raw.strip():
                continue
            try:
                record = json.loads(raw)
            except json.JSONDecodeError as e:
                raise DataError(f"is not valid JSON ({e.msg})", path=path, line=line_no) from None
            words, tags = record.get("tokens"), record.get("tags", record.get("ner_tags"))
            if not isinstance(words, list) or not words:
                raise DataError("needs a non-empty 'tokens' list", path=path, line=line_no)
            if tags is not None and len(tags) != len(words):
                raise DataError(f"has {len(words)} tokens but {len(tags)} tags", path=path, line=line_no)
            yield line_no, [str(w) for w in words], None if tags is None else [str(t) for t in tags]
        return
    from lmforge.data.conll import iter_conll_sentences

    for sentence in iter_conll_sentences(path, encoding):
        yield sentence.line, sentence.tokens, sentence.tags


# --- the task ---------------------------------------------------------------------------------------------

@register_task
class TokenClassification:
    name = "token-classification"
    problem_type = None  # transformers' problem_type names sequence-level problems only
    peft_task_type = "TOKEN_CLS"
    primary_metric = "f1"
    serving_route = "/v1/tag"
    response_schema = "TagResponse"
    # CoNLL-2003, first epoch, 500 validation sentences: entity F1 0.887 at the shared 5e-5 (one layer frozen),
    # 0.921 with these (bench/RESULTS.md "Token classification")
    recipe = new_head_recipe("token classification", "CoNLL-2003 dev F1 0.92 vs 0.89 after one epoch at 5e-5")
    # epochs: enough to see ~28,000 sentences, CoNLL-2003's measured 2 epochs of 14,041 (Resume NER's 3,821
    # sentences: dev F1 0.894 at 2 epochs, 0.915 at 8; bench/RESULTS.md "Chinese"). All of them run: with the
    # Viterbi decoder, Resume's dev F1 went 0.913, 0.913, 0.910 after epochs 2-4 (where patience 2 stopped
    # it) and peaked at 0.920 in epoch 5 (RESULTS "Viterbi decoding, every epoch, every word").
    examples_to_see = 28_000
    # max_length covers the longest training sentence: a word past the cut gets no tag, so its entities are
    # lost (Resume NER: 47 of its 3,821 training sentences are over 128 tokens)
    tags_every_token = True

    # --- data -------------------------------------------------------------------------------------------
    def read(self, path, *, text_column=None, label_column=None, encoding="utf-8") -> TaggedSentences:
        return read_tagged(path, encoding)

    def inputs(self, data: TaggedSentences) -> list[list[str]]:
        return data.tokens

    def read_stream(self, path, *, text_column=None, label_column=None, encoding="utf-8", need_label=True):
        """Rows of (line, words, tags) from a tagged file; for predict, plain texts from any text file too."""
        path = Path(path)
        if need_label or looks_tagged(path, encoding) or path.suffix.lower() in TABULAR:
            rows = ((line, words, tags) for line, words, tags in _sentences(path, encoding))
            return "tokens", "tags", rows
        from lmforge.data.examples import iter_texts

        return iter_texts(path, text_column, None, encoding, need_label=False)

    def label_space(self, train: TaggedSentences) -> list[str]:
        tags = {t for sentence in train.tags for t in sentence}
        names = sorted(tags - {"O"}, key=lambda t: (tag_type(t), PREFIXES.index(t[0])))
        if not names:
            raise DataError("has no entity tags (every tag is O); a tagger needs at least one entity type",
                            path=train.path)
        return ["O", *names]

    def targets(self, data: TaggedSentences, labels: list[str]) -> list[list[int]]:
        index = {name: i for i, name in enumerate(labels)}
        out = []
        for tags, row in zip(data.tags, data.rows):
            for tag in tags:
                if tag not in index:
                    raise DataError(f"tag '{tag}' never occurs in the training data (known: {', '.join(labels[:20])})",
                                    path=data.path, line=row, hint="tag the data like the training set")
            out.append([index[t] for t in tags])
        return out

    # --- model ------------------------------------------------------------------------------------------
    def build_model(self, model_dir: Path, labels: list[str]):
        from transformers import AutoModelForTokenClassification

        from lmforge.models.pretrained import quiet_transformers

        with quiet_transformers():
            model, info = AutoModelForTokenClassification.from_pretrained(
                model_dir, output_loading_info=True, ignore_mismatched_sizes=True, num_labels=len(labels),
                id2label=dict(enumerate(labels)), label2id={name: i for i, name in enumerate(labels)})
        return model, sorted(info["missing_keys"])

    def load_model(self, model_dir: Path):
        from transformers import AutoModelForTokenClassification

        from lmforge.models.pretrained import quiet_transformers

        with quiet_transformers():
            return AutoModelForTokenClassification.from_pretrained(model_dir)

    def tokenize(self, tokenizer, inputs: Sequence, max_length: int, offsets: bool = False):
        """The tokenizer's encoding of raw texts (str) or of pre-split words (lists), with word ids."""
        inputs = list(inputs)
        words = bool(inputs) and not isinstance(inputs[0], str)
        return tokenizer(inputs, is_split_into_words=words, truncation=True, max_length=max_length,
                         return_offsets_mapping=offsets and not words)

    def encode(self, tokenizer, inputs: Sequence, max_length: int) -> tuple[list[list[int]], int]:
        ids = self.tokenize(tokenizer, inputs, max_length)["input_ids"]
        return ids, sum(1 for x in ids if len(x) == max_length)

    def encode_examples(self, tokenizer, data: TaggedSentences, labels: list[str], max_length: int):
        """Token ids and sub-token targets: each word's tag on its first sub-token, IGNORE elsewhere."""
        encoding = self.tokenize(tokenizer, data.tokens, max_length)
        word_targets = self.targets(data, labels)
        aligned = []
        for i, tags in enumerate(word_targets):
            row, previous = [], None
            for word in encoding.word_ids(i):
                row.append(tags[word] if word is not None and word != previous else IGNORE)
                previous = word
            aligned.append(row)
        ids = encoding["input_ids"]
        return ids, aligned, sum(1 for x in ids if len(x) == max_length)

    def collate(self, encoded, targets, indices, pad_id: int) -> dict:
        import torch

        batch = pad_batch([encoded[i] for i in indices], pad_id)
        labels = torch.full(batch["input_ids"].shape, IGNORE, dtype=torch.long)  # (B, T)
        for row, i in enumerate(indices):
            labels[row, :len(targets[i])] = torch.as_tensor(targets[i], dtype=torch.long)
        return {**batch, "labels": labels}

    def loss(self, module, batch: dict):
        """Mean cross-entropy over the labelled sub-tokens of the batch, times the batch size: the loop divides
        by the number of sentences, so this trains on the per-token mean (as transformers' heads do)."""
        import torch.nn.functional as F

        labels = batch.pop("labels")                     # (B, T)
        logits = module(**batch).logits.float()          # (B, T, C)
        mean = F.cross_entropy(logits.flatten(0, 1), labels.flatten(), ignore_index=IGNORE)
        return mean * labels.shape[0]

    def dev_scores(self, logits, targets, labels) -> dict[str, float]:
        gold, pred = word_tags_from_aligned(logits, targets, labels)
        scores = entity_scores(gold, pred)
        token = [g == p for gs, ps in zip(gold, pred) for g, p in zip(gs, ps)]
        return {"f1": scores["f1"], "precision": scores["precision"], "recall": scores["recall"],
                "token_accuracy": float(np.mean(token)) if token else 0.0}

    def scoring_targets(self, data: TaggedSentences, labels: list[str], tokenizer, max_length: int):
        """Tag ids on the first sub-token of each word (IGNORE elsewhere), as ``score`` reads them."""
        return self.encode_examples(tokenizer, data, labels, max_length)[1]

    def score(self, logits, targets) -> float:
        """Token accuracy on the labelled positions (compress's guard compares it with the parent's)."""
        hits = total = 0
        for row, target in zip(logits, targets):
            target = np.asarray(target)
            mask = target != IGNORE
            hits += int((row[:len(target)].argmax(-1)[mask] == target[mask]).sum())
            total += int(mask.sum())
        return hits / max(total, 1)

    def agreement(self, logits, reference) -> float:
        same = [np.mean(a.argmax(-1) == b.argmax(-1)) for a, b in zip(logits, reference)]
        return float(np.mean(same)) if same else 1.0

    # --- outputs ----------------------------------------------------------------------------------------
    def postprocess(self, logits, labels, inputs=None, tokenizer=None, max_length=512) -> list[TaggedText]:
        if inputs is None or tokenizer is None:
            raise TypeError("token classification needs the inputs and the tokenizer to place entities")
        encoding = self.tokenize(tokenizer, inputs, max_length, offsets=True)
        out = []
        for i, (item, row) in enumerate(zip(inputs, logits)):
            probs = softmax(row)                                      # (T, C)
            text, word_spans = _text_and_word_spans(item, encoding, i)
            first = first_subtokens(encoding.word_ids(i))
            tags, scores = ["O"] * len(word_spans), [1.0] * len(word_spans)
            words = sorted(first)  # words cut off by truncation stay O
            positions = [first[w] for w in words]
            for word, position, best in zip(words, positions, decode_tags(row[positions], labels)):
                tags[word], scores[word] = labels[best], float(probs[position, best])
            entities = []
            for kind, a, b in spans_of(tags):
                start, end = word_spans[a][0], word_spans[b - 1][1]
                entities.append(Entity(kind, start, end, text[start:end], float(np.mean(scores[a:b]))))
            out.append(TaggedText(text, entities))
        return out

    def windows(self, tokenizer, inputs: Sequence, max_length: int):
        """``(pieces, join)``: each input longer than ``max_length`` tokens replaced by overlapping windows of
        whole words that fit, and the function that joins the pieces' :class:`TaggedText` back into one per
        input, each entity taken from the window it sits deepest in. Inputs that fit are their own piece."""
        from lmforge.models.pretrained import quiet_transformers

        inputs = list(inputs)
        if not inputs:
            return [], lambda tagged: tagged
        words = not isinstance(inputs[0], str)
        with quiet_transformers():  # no "sequence longer than the model" warning: that is what windows are for
            encoding = tokenizer(inputs, is_split_into_words=words, return_offsets_mapping=not words)
        pieces: list = []
        plans = []  # per input: its text and [(piece index, character shift, owned [start, end))]
        for i, item in enumerate(inputs):
            text, spans = _text_and_word_spans(item, encoding, i)
            word_ids = encoding.word_ids(i)
            if len(word_ids) <= max_length or len(spans) < 2:
                plans.append((text, [(len(pieces), 0, 0, len(text) + 1)]))
                pieces.append(item)
                continue
            counts = Counter(w for w in word_ids if w is not None)
            budget = max(max_length - sum(w is None for w in word_ids) - WINDOW_MARGIN, 1)
            ranges = word_windows([counts[w] for w in range(len(spans))], budget)
            # a window owns the words from the middle of its overlap with the one before to the middle of the next
            cuts = [0] + [spans[(start + end) // 2][0] for (_, end), (start, _) in zip(ranges, ranges[1:])]
            owned = list(zip(cuts, cuts[1:] + [len(text) + 1]))
            plan = []
            for (a, b), (own_start, own_end) in zip(ranges, owned):
                shift = spans[a][0]
                plan.append((len(pieces), shift, own_start, own_end))
                pieces.append(item[a:b] if words else text[shift:spans[b - 1][1]])
            plans.append((text, plan))

        def join(tagged: list[TaggedText]) -> list[TaggedText]:
            out = []
            for text, plan in plans:
                found = sorted((Entity(e.type, e.start + shift, e.end + shift, e.text, e.score)
                                for piece, shift, own_start, own_end in plan for e in tagged[piece].entities
                                if own_start <= e.start + shift < own_end), key=lambda e: e.start)
                kept: list[Entity] = []
                for e in found:  # windows that disagree across a cut: the earlier-starting entity wins
                    if not kept or e.start >= kept[-1].end:
                        kept.append(e)
                out.append(TaggedText(text, kept))
            return out

        return pieces, join

    def results(self, logits, labels, inputs=None, tokenizer=None, max_length=512) -> list[dict]:
        return [{"entities": p.to_dict()["entities"]} for p in self.postprocess(logits, labels, inputs, tokenizer,
                                                                               max_length)]

    def prediction_row(self, prediction: TaggedText) -> dict:
        return prediction.to_dict()

    def prediction_columns(self, labels: list[str]) -> list[str]:
        return ["entities"]

    def prediction_cells(self, prediction: TaggedText) -> list[str]:
        return [json.dumps(prediction.to_dict()["entities"], ensure_ascii=False)]

    def evaluation(self, labels: list[str], top_errors: int = 25, tokenizer=None, max_length: int = 512
                   ) -> TaggingEvaluation:
        return TaggingEvaluation(labels, self, tokenizer, max_length)

    def onnx_outputs(self) -> dict[str, dict[int, str]]:
        return {"logits": {0: "batch", 1: "sequence"}}

    def baseline(self, output: Path, manifest: dict, train, dev) -> None:
        return None  # no classical baseline for tagging yet


def word_windows(token_counts: Sequence[int], budget: int) -> list[tuple[int, int]]:
    """Word ranges ``[a, b)`` covering all words, each of at most ``budget`` tokens (a longer word alone),
    each starting halfway through the one before, so every word away from the text's ends sits in the
    middle half of some window."""
    ranges, a, n = [], 0, len(token_counts)
    while True:
        b, used = a, 0
        while b < n and (b == a or used + token_counts[b] <= budget):
            used += token_counts[b]
            b += 1
        ranges.append((a, b))
        if b == n:
            return ranges
        a = max(a + 1, (a + b) // 2)


def first_subtokens(word_ids: Sequence[int | None]) -> dict[int, int]:
    """word index → the position of its first sub-token (words cut off by truncation are absent)."""
    first: dict[int, int] = {}
    for position, word in enumerate(word_ids):
        if word is not None and word not in first:
            first[word] = position
    return first


def _text_and_word_spans(item, encoding, i: int) -> tuple[str, list[tuple[int, int]]]:
    """The text entities are cut from, and each word's (start, end) in it."""
    if not isinstance(item, str):  # pre-split words: the text is the words joined by single spaces
        spans, position = [], 0
        for word in item:
            spans.append((position, position + len(word)))
            position += len(word) + 1
        return " ".join(item), spans
    word_ids, offsets = encoding.word_ids(i), encoding["offset_mapping"][i]
    spans: dict[int, list[int]] = {}
    for word, (start, end) in zip(word_ids, offsets):
        if word is not None:
            span = spans.setdefault(word, [start, end])
            span[0], span[1] = min(span[0], start), max(span[1], end)
    return item, [tuple(spans[w]) for w in sorted(spans)]


def word_tags_from_aligned(logits, targets, labels) -> tuple[list[list[str]], list[list[str]]]:
    """Gold and predicted tags per word, read at the labelled (first sub-token) positions."""
    gold, pred = [], []
    for row, target in zip(logits, targets):
        target = np.asarray(target)
        positions = np.flatnonzero(target != IGNORE)
        gold.append([labels[t] for t in target[positions]])
        pred.append([labels[p] for p in decode_tags(np.asarray(row)[positions], labels)])
    return gold, pred


def entity_scores(gold: list[list[str]], pred: list[list[str]]) -> dict:
    """Entity-level micro P/R/F1 (strict, for the detected scheme) and the conlleval-compatible F1."""
    from seqeval.metrics import f1_score, precision_score, recall_score
    from seqeval.scheme import IOB2, IOBES

    gold, pred = [as_iob_scheme(g) for g in gold], [as_iob_scheme(p) for p in pred]
    scheme = IOBES if scheme_of(gold) == "IOBES" else IOB2
    strict = {"mode": "strict", "scheme": scheme, "zero_division": 0}
    return {"precision": float(precision_score(gold, pred, **strict)),
            "recall": float(recall_score(gold, pred, **strict)),
            "f1": float(f1_score(gold, pred, **strict)),
            "conlleval_f1": float(f1_score(gold, pred, zero_division=0))}


class TaggingEvaluation:
    """What ``lmforge evaluate`` accumulates for a tagger: gold and predicted tags per word."""

    summary_keys = ("f1", "precision", "recall", "conlleval_f1", "examples")

    def __init__(self, labels: list[str], task: TokenClassification, tokenizer=None, max_length: int = 512):
        self.labels, self.task = labels, task
        self.gold: list[list[str]] = []
        self.pred: list[list[str]] = []
        self.tokenizer, self.max_length = tokenizer, max_length

    def __len__(self) -> int:
        return len(self.gold)

    def check(self, chunk, path: Path, column: str | None) -> None:
        for row, words, tags in chunk:
            if tags is None:
                raise DataError("has no tags", path=path, line=row, hint="evaluate on a tagged file")
            for tag in tags:
                check_tag(tag, path, row)

    def add(self, chunk, logits) -> list[dict]:
        encoding = self.task.tokenize(self.tokenizer, [words for _, words, _ in chunk], self.max_length)
        records = []
        for i, ((row, words, tags), out) in enumerate(zip(chunk, logits)):
            predicted = ["O"] * len(words)
            first = first_subtokens(encoding.word_ids(i))
            kept = sorted(first)
            for word, best in zip(kept, decode_tags(np.asarray(out)[[first[w] for w in kept]], self.labels)):
                predicted[word] = self.labels[best]
            self.gold.append(list(tags))
            self.pred.append(predicted)
            records.append({"row": row, "tokens": words, "gold": tags, "predicted": predicted})
        return records

    def finish(self) -> dict:
        from seqeval.metrics import classification_report
        from seqeval.scheme import IOB2, IOBES

        gold = [as_iob_scheme(g) for g in self.gold]
        pred = [as_iob_scheme(p) for p in self.pred]
        scheme_name = scheme_of(gold)
        scheme = IOBES if scheme_name == "IOBES" else IOB2
        per_type = classification_report(gold, pred, mode="strict", scheme=scheme, output_dict=True, zero_division=0)
        conlleval = classification_report(gold, pred, output_dict=True, zero_division=0)
        clean = lambda d: {k: {m: float(v) if m != "support" else int(v) for m, v in s.items()}  # noqa: E731
                           for k, s in d.items()}
        per_type, conlleval = clean(per_type), clean(conlleval)
        types = {k: v for k, v in per_type.items() if not k.endswith(" avg")}
        token = [g == p for gs, ps in zip(self.gold, self.pred) for g, p in zip(gs, ps)]
        micro = per_type.get("micro avg", {"precision": 0.0, "recall": 0.0, "f1-score": 0.0})
        return {
            "examples": len(self.gold), "tokens": len(token), "scheme": scheme_name, "mode": "strict",
            "f1": micro["f1-score"], "precision": micro["precision"], "recall": micro["recall"],
            "macro_f1": per_type.get("macro avg", {}).get("f1-score", 0.0),
            "conlleval_f1": conlleval.get("micro avg", {}).get("f1-score", 0.0),
            "conlleval_precision": conlleval.get("micro avg", {}).get("precision", 0.0),
            "conlleval_recall": conlleval.get("micro avg", {}).get("recall", 0.0),
            "token_accuracy": float(np.mean(token)) if token else 0.0,
            "per_type": types, "averages": {k: v for k, v in per_type.items() if k.endswith(" avg")},
        }

    def write(self, metrics: dict, output: Path, title: str) -> list[Path]:
        import html

        from lmforge.html_report import STYLE, table

        (output / "metrics.json").write_text(json.dumps(metrics, indent=2, ensure_ascii=False) + "\n")
        rows = [[name, f"{m['precision']:.4f}", f"{m['recall']:.4f}", f"{m['f1-score']:.4f}", m["support"]]
                for name, m in {**metrics["per_type"], **metrics["averages"]}.items()]
        cards = [("entity F1 (strict)", f"{metrics['f1']:.4f}"), ("conlleval F1", f"{metrics['conlleval_f1']:.4f}"),
                 ("precision", f"{metrics['precision']:.4f}"), ("recall", f"{metrics['recall']:.4f}"),
                 ("sentences", f"{metrics['examples']:,}")]
        page = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
                f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>",
                f"<p class='muted'>model: {html.escape(str(metrics.get('model', '')))}<br>data: "
                f"{html.escape(str(metrics.get('data', '')))}<br>scheme {metrics['scheme']}, seqeval strict mode; "
                "conlleval F1: seqeval's default (conlleval-compatible) mode</p><div class='cards'>",
                *(f"<div class='card'>{html.escape(n)}<b>{v}</b></div>" for n, v in cards), "</div>",
                "<h2>Per entity type</h2>", table(["type", "precision", "recall", "F1", "support"], rows),
                "</body></html>"]
        (output / "report.html").write_text("\n".join(page))
        return [output / "report.html", output / "metrics.json"]
