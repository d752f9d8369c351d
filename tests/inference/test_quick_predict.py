"""The start-up path of `lmforge predict` gives the standard path's tokens and logits, without transformers."""

from __future__ import annotations

import numpy as np
import pytest

import lmforge
from lmforge.inference.predictor import Predictor
from lmforge.inference.quick import QuickTokenizer, quick_predictor
from tests.test_cli_startup import imported_after

TEXTS = ["the film was superb", "awful", "a really very quite dull plot and the actor was not good " * 6, "x"]


@pytest.fixture(scope="module")
def classifier(tmp_path_factory, tiny_model):
    import os

    root = tmp_path_factory.mktemp("quick")
    from tests.conftest import write_sentiment_csv

    os.environ["LMFORGE_TRACKING"] = "off"
    try:
        lmforge.finetune(write_sentiment_csv(root / "train.csv", n=60), root / "run", model=str(tiny_model),
                         epochs=1, batch_size=16, max_length=24, quiet=True, freeze_embeddings=False)
    finally:
        del os.environ["LMFORGE_TRACKING"]
    return root / "run"


def test_quick_tokenizer_gives_the_transformers_ids(classifier):
    from transformers import AutoTokenizer

    reference = AutoTokenizer.from_pretrained(classifier)
    quick = QuickTokenizer(classifier)
    for max_length in (24, 5):
        assert quick(TEXTS, truncation=True, max_length=max_length)["input_ids"] == \
            reference(TEXTS, truncation=True, max_length=max_length)["input_ids"]
    assert quick.pad_token_id == reference.pad_token_id


@pytest.mark.parametrize("few_texts,runtime", [(False, "BertRuntime"), (True, "NumpyBertRuntime")])
def test_quick_bert_runtime_gives_the_transformers_logits(classifier, few_texts, runtime):
    quick = quick_predictor(classifier, few_texts=few_texts)
    assert type(quick.backend).__name__ == runtime
    standard = Predictor.load(classifier)
    np.testing.assert_allclose(quick.logits(TEXTS), standard.logits(TEXTS), atol=1e-5)
    assert [p.label for p in quick.predict(TEXTS)] == [p.label for p in standard.predict(TEXTS)]
    assert quick.max_length == standard.max_length == 24


def test_numpy_erf_is_exact_to_float32():
    import math

    from lmforge.inference.bert_runtime import erf

    x = np.linspace(-6, 6, 2001)
    assert np.abs(erf(x) - np.array([math.erf(v) for v in x])).max() < 2e-7


def test_only_plain_bert_classifiers_take_the_bert_runtime(classifier):
    import json

    from lmforge.inference.bert_runtime import supported

    config = json.loads((classifier / "config.json").read_text())
    assert supported(config)
    for change in ({"model_type": "distilbert"}, {"position_embedding_type": "relative_key"},
                   {"problem_type": "multi_label_classification"}, {"hidden_act": "swish"}):
        assert not supported({**config, **change}), change


def test_predicting_with_onnx_imports_neither_torch_nor_transformers():
    loaded = imported_after("import lmforge.inference.quick, lmforge.inference.onnx_backend, lmforge.inference.predict")
    assert not loaded & {"torch", "transformers", "sklearn", "mlflow"}, sorted(loaded)


def test_cli_predict_of_a_few_texts_imports_neither_torch_nor_transformers(classifier):
    code = ("import contextlib, io\nfrom lmforge.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            f"    assert main(['predict', {str(classifier)!r}, 'the film was superb']) == 0")
    loaded = imported_after(code)
    assert not loaded & {"torch", "transformers", "sklearn", "mlflow"}, sorted(loaded)
