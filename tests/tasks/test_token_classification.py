"""Token classification: reading CoNLL and BMES files, sub-word alignment, span decoding, strict vs conlleval
scores, and the life cycle on a tiny model: finetune → evaluate → predict (character offsets) → reload in
plain transformers → serve /v1/tag → ONNX export with the same predictions."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from lmforge.errors import DataError
from lmforge.tasks import get_task
from lmforge.tasks.token_classification import IGNORE, decode_tags, entity_scores, read_tagged, spans_of

TASK = get_task("token-classification")
# word → tag: a toy tagger's whole world. "actor" after "the" is a two-word PER entity.
OBJ, PER = {"film", "movie", "plot", "story"}, {"actor"}
FILLER = "good great fine lovely bad awful poor dull boring scene is was not very and but it this that".split()


def toy_sentences(n: int, seed: int) -> list[tuple[list[str], list[str]]]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        words = [rng.choice(FILLER + sorted(OBJ) + ["the actor", "actor"]) for _ in range(rng.randint(3, 8))]
        words = " ".join(words).split()
        tags, previous = [], None
        for w in words:
            if w in OBJ:
                tags.append("B-OBJ")
            elif w == "the":
                tags.append("B-PER")  # only ever before "actor" here
            elif w == "actor":
                tags.append("I-PER" if previous == "the" else "B-PER")
            else:
                tags.append("O")
            previous = w
        out.append((words, tags))
    return out


def write_conll(path, sentences, docstart=True):
    lines = ["-DOCSTART- -X- -X- O", ""] if docstart else []
    for words, tags in sentences:
        lines += [f"{w} X X {t}" for w, t in zip(words, tags)] + [""]
    path.write_text("\n".join(lines).rstrip("\n"))  # CoNLL-2003 ends without a newline
    return path


def test_reads_conll_with_docstart_and_bmes_files(tmp_path):
    conll = read_tagged(write_conll(tmp_path / "a.txt", [(["EU", "rejects", "German"], ["B-ORG", "O", "B-MISC"]),
                                                          (["Peter", "Blackburn"], ["B-PER", "I-PER"])]))
    assert conll.tokens == [["EU", "rejects", "German"], ["Peter", "Blackburn"]]
    assert conll.rows == [3, 7] and conll.describe()["scheme"] == "IOB2"
    assert conll.describe()["label_distribution"] == {"MISC": 1, "ORG": 1, "PER": 1}
    bmes = tmp_path / "train.char.bmes"
    bmes.write_text("高 B-NAME\n勇 E-NAME\n： O\n\n中 B-CONT\n国 M-CONT\n籍 E-CONT\n人 S-RACE\n")
    data = read_tagged(bmes)
    assert data.tokens[1] == ["中", "国", "籍", "人"] and data.describe()["scheme"] == "IOBES"
    assert [s[0] for s in spans_of(data.tags[1])] == ["CONT", "RACE"]
    assert TASK.label_space(data)[0] == "O"
    bad = tmp_path / "bad.bio"
    bad.write_text("word X-PER\n")
    with pytest.raises(DataError, match="'X-PER' is not a tag"):
        read_tagged(bad)


def test_labels_sit_on_the_first_sub_token_only(tiny_model):
    from lmforge.models.pretrained import load_tokenizer
    from lmforge.tasks.token_classification import TaggedSentences

    tokenizer = load_tokenizer(tiny_model)
    data = TaggedSentences([["the", "xyz", "film"]], [["O", "B-PER", "B-OBJ"]], [1])
    labels = ["O", "B-OBJ", "B-PER"]
    ids, targets, _ = TASK.encode_examples(tokenizer, data, labels, 32)
    pieces = tokenizer.convert_ids_to_tokens(ids[0])
    assert pieces == ["[CLS]", "the", "x", "##y", "##z", "film", "[SEP]"]
    assert targets[0] == [IGNORE, 0, 2, IGNORE, IGNORE, 1, IGNORE]
    batch = TASK.collate(ids, targets, [0], tokenizer.pad_token_id)
    assert batch["labels"].shape == batch["input_ids"].shape


def test_span_decoding_and_strict_against_conlleval_scores():
    assert spans_of(["B-PER", "I-PER", "O", "S-LOC", "B-ORG", "E-ORG"]) == [("PER", 0, 2), ("LOC", 3, 4),
                                                                            ("ORG", 4, 6)]
    assert spans_of(["I-PER", "I-LOC"]) == [("PER", 0, 1), ("LOC", 1, 2)]
    gold, pred = [["B-PER", "I-PER", "O"]], [["I-PER", "I-PER", "O"]]
    scores = entity_scores(gold, pred)
    assert scores["f1"] == 0.0 and scores["conlleval_f1"] == 1.0  # strict IOB2 refuses an entity opened by I-


def brute_force_best(logits, labels, valid):
    from itertools import product

    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    paths = [p for p in product(range(len(labels)), repeat=len(logits)) if valid([labels[i] for i in p])]
    return list(max(paths, key=lambda p: sum(log_probs[i, t] for i, t in enumerate(p))))


def test_viterbi_decoding_keeps_only_valid_sequences_and_finds_the_best():
    iob2, iobes = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"], ["O", "B-X", "I-X", "E-X", "S-X", "B-Y", "M-Y", "E-Y"]
    # argmax would read I-PER I-PER: strict IOB2 drops that entity; the decoder opens it with B-PER
    logits = np.log(np.array([[0.1, 0.4, 0.5, 0, 0], [0.1, 0.1, 0.8, 0, 0], [0.9, 0.1, 0, 0, 0]]) + 1e-6)
    assert [iob2[i] for i in decode_tags(logits, iob2)] == ["B-PER", "I-PER", "O"]

    def valid_iob2(tags):
        return all(not t.startswith("I-") or (p[:1] in "BI" and p[2:] == t[2:] and p != "O")
                   for p, t in zip(["O"] + tags, tags))

    def valid_iobes(tags):
        tags = [t.replace("M-", "I-") for t in tags]
        for p, t in zip(["O"] + tags, tags + ["O"]):
            opened, continues = p[:2] in ("B-", "I-"), t[:2] in ("I-", "E-")
            if (opened or continues) and not (opened and continues and t[2:] == p[2:]):
                return False
        return True

    rng = np.random.default_rng(0)
    for labels, valid in ((iob2, valid_iob2), (iobes, valid_iobes)):
        for _ in range(25):
            logits = rng.normal(size=(4, len(labels))) * 3
            path = decode_tags(logits, labels)
            assert valid([labels[i] for i in path])
            assert path == brute_force_best(logits, labels, valid)
    assert decode_tags(np.zeros((0, 5)), iob2) == []
    # transition scores add to the path's: a strong O → O preference turns a weak B-PER I-PER into O O
    weak = np.log(np.array([[0.4, 0.6, 0, 0, 0], [0.45, 0, 0.55, 0, 0]]) + 1e-6)
    assert [iob2[i] for i in decode_tags(weak, iob2)] == ["B-PER", "I-PER"]
    prefer_o = np.full((5, 5), -2.0)
    prefer_o[0, 0] = 0.0
    assert [iob2[i] for i in decode_tags(weak, iob2, prefer_o)] == ["O", "O"]


@pytest.fixture(scope="module")
def tagger(tmp_path_factory, tiny_model):
    import lmforge

    root = tmp_path_factory.mktemp("ner")
    train = write_conll(root / "train.txt", toy_sentences(240, 0))
    dev = write_conll(root / "dev.txt", toy_sentences(60, 1), docstart=False)
    test = write_conll(root / "test.txt", toy_sentences(60, 2))
    result = lmforge.finetune(train, root / "model", dev, task="token-classification", model=str(tiny_model),
                              epochs=8, batch_size=16, lr=5e-3, head_lr=5e-3, max_length=32, freeze_embeddings=False,
                              patience=0, quiet=True)
    return root, result, test


def test_finetune_evaluate_predict_and_reload_in_transformers(tagger):
    import lmforge
    from transformers import AutoModelForTokenClassification

    from lmforge.inference.predictor import Predictor

    root, result, test = tagger
    manifest = json.loads((result.output / "manifest.json").read_text())
    assert manifest["task"] == "token-classification" and manifest["labels"][0] == "O"
    assert manifest["adaptive"]["freeze_layers"]["value"] == 0  # the task's recipe fills what was left unset
    assert result.metrics["f1"] >= 0.9, manifest["metrics"]["history"]

    metrics = lmforge.evaluate(result.output, test)
    assert metrics["f1"] >= 0.9 and metrics["scheme"] == "IOB2" and set(metrics["per_type"]) == {"OBJ", "PER"}
    assert (root / "model" / "eval" / "test" / "report.html").exists()

    text = "the actor was  great and a lovely film"  # two spaces: offsets are into the text as sent
    [tagged] = lmforge.predict(result.output, [text])
    assert {(e.type, e.text) for e in tagged.entities} == {("PER", "the actor"), ("OBJ", "film")}
    for e in tagged.entities:
        assert text[e.start:e.end] == e.text and 0 < e.score <= 1

    predictor = Predictor.load(result.output)
    plain = AutoModelForTokenClassification.from_pretrained(result.output).eval()
    batch = predictor.tokenizer(["a lovely film", "the actor"], padding=True, return_tensors="pt")
    import torch

    with torch.no_grad():
        reference = plain(**batch).logits.numpy()
    ours = predictor.logits(["a lovely film", "the actor"])
    for i, row in enumerate(ours):
        np.testing.assert_allclose(row, reference[i, :len(row)], atol=1e-5)

    out = root / "predictions.jsonl"
    assert lmforge.predict(result.output, input=test, output=out) == 60
    first = json.loads(out.read_text().splitlines()[0])
    assert {"row", "text", "entities"} <= set(first)


def test_a_text_longer_than_max_length_is_tagged_to_its_end(tagger):
    import re

    import lmforge
    from lmforge.models.pretrained import load_tokenizer
    from lmforge.tasks.token_classification import Entity, TaggedText, word_windows

    assert word_windows([1] * 10, 4) == [(0, 4), (2, 6), (4, 8), (6, 10)]  # each starts halfway into the last
    assert word_windows([5, 1, 1], 3) == [(0, 1), (1, 3)]  # a word over the budget is a window of its own
    _, result, _ = tagger
    text = " and ".join(["the actor was great and a lovely film"] * 8)  # ~70 tokens; the model reads 32

    def rule(piece: str) -> TaggedText:  # a tagger that needs no context: the join must give its answer
        return TaggedText(piece, [Entity("PER" if m[0] == "the actor" else "OBJ", m.start(), m.end(), m[0], 1.0)
                                  for m in re.finditer("the actor|film", piece)])

    tokenizer = load_tokenizer(result.output)
    pieces, join = TASK.windows(tokenizer, [text, "a short film"], 32)
    assert len(pieces) > 3 and pieces[-1] == "a short film"
    assert all(len(tokenizer(p)["input_ids"]) <= 32 for p in pieces)
    assert join([rule(p) for p in pieces]) == [rule(text), rule("a short film")]  # every entity, none twice

    [tagged] = lmforge.predict(result.output, [text])  # the model itself, read in windows
    assert tagged.entities[-1].text == "film" and tagged.entities[-1].end == len(text)
    assert all(text[e.start:e.end] == e.text for e in tagged.entities)
    assert all(a.end <= b.start for a, b in zip(tagged.entities, tagged.entities[1:]))
    [tagged_words] = lmforge.predict(result.output, [text.split()])  # offsets into " ".join(words)
    assert tagged_words.to_dict()["entities"] == tagged.to_dict()["entities"]


@pytest.mark.anyio
async def test_serve_tag_route(tagger):
    import lmforge
    from lmforge.serving.app import create_app
    from tests.serving.conftest import running_app

    _, result, _ = tagger
    async with running_app(create_app(result.output)) as client:
        r = await client.post("/v1/tag", json={"texts": ["the actor and a film", "it was very good"]})
        assert r.status_code == 200, r.text
        body = r.json()
        first = body["results"][0]["entities"]
        assert ("OBJ", "film") in {(e["type"], e["text"]) for e in first}
        assert first == lmforge.predict(result.output, ["the actor and a film"])[0].to_dict()["entities"]
        assert body["results"][1]["entities"] == []
        long = " and ".join(["the actor was great and a lovely film"] * 8)  # past the model's 32 tokens: windows
        r = await client.post("/v1/tag", json={"texts": [long]})
        assert r.json()["results"][0]["entities"] == lmforge.predict(result.output, [long])[0].to_dict()["entities"]
        assert r.json()["results"][0]["entities"][-1]["end"] == len(long)
        card = (await client.get("/v1/model")).json()
        assert card["task"] == "token-classification"
        assert (await client.post("/v1/classify", json={"texts": ["x"]})).status_code == 404


@pytest.mark.anyio
async def test_tag_route_with_model_redaction_answers_in_the_text_sent(tagger):
    from lmforge.serving.app import create_app
    from lmforge.serving.settings import ServeConfig
    from tests.serving.conftest import running_app

    _, result, _ = tagger
    text = "the actor wrote to john.smith@example.com and 415-555-0100 about the film"
    async with running_app(create_app(result.output, ServeConfig(redact_pii="model"))) as client:
        r = await client.post("/v1/tag", json={"texts": [text]})  # the model reads "[EMAIL]", "[PHONE]"
    assert r.status_code == 200, r.text
    entities = r.json()["results"][0]["entities"]
    assert entities and all(text[e["start"]:e["end"]] == e["text"] for e in entities)
    assert ("OBJ", "film") in {(e["type"], e["text"]) for e in entities}


@pytest.fixture
def anyio_backend():
    return "asyncio"


def test_onnx_export_keeps_the_predictions(tagger):
    import lmforge

    root, result, test = tagger
    onnx = lmforge.api.compress(result.output, root / "onnx", to="onnx", eval=str(test), speed_texts=16,
                            timing_rounds=1, quiet=True)
    compression = onnx.manifest["compression"]
    assert compression["parity_max_abs_logit_diff"] < 1e-4
    assert onnx.manifest["task"] == "token-classification"
    texts = ["the actor and the film", "a dull story"]
    spans = lambda predictions: [[(e.type, e.start, e.end) for e in p.entities] for p in predictions]  # noqa: E731
    assert spans(lmforge.predict(root / "onnx", texts)) == spans(lmforge.predict(result.output, texts))


def test_epochs_see_about_as_many_sentences_as_conll_two_epochs():
    from lmforge.config import FinetuneConfig
    from lmforge.tasks.token_classification import TaggedSentences
    from lmforge.training.finetune import choose_settings

    def chosen(n, **given):
        data = TaggedSentences(tokens=[["a"]] * n, tags=[["O"]] * n, rows=list(range(n)))
        given = {"max_length": 128, **given}  # the length rule needs a tokenizer (tests/training/test_quality.py)
        cfg, decisions = choose_settings(FinetuneConfig(task="token-classification", **given), TASK, None, data, None)
        return cfg.epochs, decisions["epochs"]["reason"]

    assert chosen(14_041)[0] == 2  # CoNLL-2003: its measured recipe, unchanged
    assert chosen(3_821)[0] == 8  # Resume NER
    assert chosen(100)[0] == 8 and chosen(9_000)[0] == 4
    assert chosen(3_821, epochs=3) == (3, "given by the user")
