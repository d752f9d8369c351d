"""`lmforge serve --redact-pii`: personal data never reaches the request log, and with ``model`` not the model."""

from __future__ import annotations

import json

import pytest

from lmforge.inference.predictor import Predictor
from lmforge.serving.app import create_app
from lmforge.serving.settings import ServeConfig
from tests.serving.conftest import running_app

pytestmark = pytest.mark.anyio
TEXTS = ["a great film, mail jane.doe@example.com", "我叫张伟，手机13812345678，the plot was awful"]
REDACTED = ["a great film, mail [EMAIL]", "我叫[PERSON]，手机[PHONE]，the plot was awful"]


def _log(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


async def test_logs_mode_redacts_the_log_and_leaves_predictions_alone(model_dir, tmp_path):
    log = tmp_path / "requests.jsonl"
    expected = Predictor.load(model_dir).predict(TEXTS)
    app = create_app(model_dir, ServeConfig(redact_pii="logs", request_log=str(log)))
    async with running_app(app) as client:
        r = await client.post("/v1/classify", json={"texts": TEXTS})
        tei = await client.post("/predict", json={"inputs": TEXTS[0]})
        metrics = (await client.get("/metrics")).text
    assert r.status_code == 200 and tei.status_code == 200
    assert [x["label"] for x in r.json()["results"]] == [p.label for p in expected]
    entries = _log(log)
    assert entries[0]["texts"] == REDACTED and entries[0]["redacted"] and entries[0]["route"] == "/v1/classify"
    assert entries[1]["texts"] == REDACTED[:1] and entries[1]["request_id"] == tei.headers["x-request-id"]
    raw = log.read_text(encoding="utf-8")
    assert "jane.doe" not in raw and "13812345678" not in raw and "张伟" not in raw
    assert 'lmforge_pii_redacted_total{kind="EMAIL"} 2.0' in metrics


async def test_model_mode_classifies_the_redacted_text(model_dir, tmp_path):
    expected = Predictor.load(model_dir).predict(REDACTED)
    async with running_app(create_app(model_dir, ServeConfig(redact_pii="model"))) as client:
        r = await client.post("/v1/classify", json={"texts": TEXTS})
    got = r.json()["results"]
    assert [x["label"] for x in got] == [p.label for p in expected]
    assert [x["score"] for x in got] == pytest.approx([p.score for p in expected], abs=1e-5)


async def test_without_redaction_the_log_holds_the_texts(model_dir, tmp_path):
    log = tmp_path / "requests.jsonl"
    async with running_app(create_app(model_dir, ServeConfig(request_log=str(log)))) as client:
        await client.post("/v1/classify", json={"texts": TEXTS})
    assert _log(log)[0]["texts"] == TEXTS and not _log(log)[0]["redacted"]


def test_cli_flag_bare_means_logs():
    from lmforge.cli import build_parser

    parser = build_parser()
    assert parser.parse_args(["serve", "m", "--redact-pii"]).redact_pii == "logs"
    assert parser.parse_args(["serve", "m", "--redact-pii", "model"]).redact_pii == "model"
    assert parser.parse_args(["serve", "m"]).redact_pii == "off"
    with pytest.raises(Exception, match="redact_pii"):
        ServeConfig(redact_pii="everything").validate()


def test_a_taggers_entities_move_from_the_redacted_text_into_the_text_sent():
    from lmforge.serving.redaction import in_original
    from lmforge.tasks.token_classification import Entity, TaggedText

    redacted = "Ann called [PHONE] from Paris"
    tagged = TaggedText(redacted, [Entity("PER", 0, 3, "Ann", 0.9), Entity("NUM", 11, 18, "[PHONE]", 0.8),
                                   Entity("LOC", 24, 29, "Paris", 0.7)])
    original = "Ann called 415-555-0100 from Paris"
    moved = in_original(tagged, original)
    assert moved.text == original
    assert [(e.type, e.text) for e in moved.entities] == [("PER", "Ann"), ("NUM", "415-555-0100"), ("LOC", "Paris")]
    assert all(original[e.start:e.end] == e.text for e in moved.entities)
