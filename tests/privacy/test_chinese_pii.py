"""Chinese personal data: the GB 11643 check of 身份证号, mainland phone numbers, UnionPay cards with Luhn,
e-mail inside Chinese sentences, Chinese names, and the bar on the generated labelled set."""

from __future__ import annotations

import json

import pytest

from lmforge.data.chinese_pii import cn_id_valid, id_shaped
from lmforge.data.pii import PiiRedactor
from lmforge.data.pii_eval import score_detector
from lmforge.data.pii_eval_zh import ID_CHECK, ID_WEIGHTS, TEMPLATES, labelled_chinese_pii_cases, resume_name_cases
from tests.conftest import shared_data


@pytest.fixture(scope="module")
def redactor():
    return PiiRedactor()


def test_id_check_character():
    assert cn_id_valid("11010519491231002X") and cn_id_valid("11010519491231002x")
    assert not cn_id_valid("110105194912310021")          # wrong check character
    assert not cn_id_valid("99010519491231002X")          # no province 99
    assert not cn_id_valid("11010519490231002X")          # 31 February... check digit aside: no such date
    assert id_shaped("110105194912310021")                # still shaped like an ID (not a bank card)
    body = "44030519910110247"
    assert cn_id_valid(body + ID_CHECK[sum(int(d) * w for d, w in zip(body, ID_WEIGHTS)) % 11])


@pytest.mark.parametrize("text,redacted", [
    ("我叫张伟，手机13812345678，身份证11010519491231002X", "我叫[PERSON]，手机[PHONE]，身份证[CN_ID]"),
    ("身份证号110105194912310021校验不对", "身份证号110105194912310021校验不对"),        # wrong checksum
    ("电话 +86 139-1234-5678 或座机010-62345678", "电话 [PHONE] 或座机[PHONE]"),
    ("卡号6222 0212 3456 7890 129请退款", "卡号6222 0212 3456 7890 129请退款"),        # fails Luhn
    ("卡号6222 0212 3456 7890 128请退款", "卡号[BANK_CARD]请退款"),
    ("邮箱zhangsan@163.com谢谢", "邮箱[EMAIL]谢谢"),                                    # no Han in the address
    ("订单号2023121500012345678已发货，合计1380元", "订单号2023121500012345678已发货，合计1380元"),
    ("流水号6532326194424148223，请保存", "流水号6532326194424148223，请保存"),          # labelled: not a card
    ("收件人：欧阳建华，王先生和李经理都在", "收件人：[PERSON]，[PERSON]先生和[PERSON]经理都在"),
    ("今天真高兴，黄金价格跌了，这位老师说马上到", "今天真高兴，黄金价格跌了，这位老师说马上到"),
])
def test_chinese_redaction(redactor, text, redacted):
    assert redactor.redact(text)[0] == redacted


def test_the_bar_on_the_generated_chinese_set(redactor):
    """The issue's bar, per kind, on the held-out templates and names (tuning used the ``dev`` split)."""
    assert not set(TEMPLATES["dev"]) & set(TEMPLATES["test"])
    scores = score_detector(redactor, labelled_chinese_pii_cases(800, seed=11, split="test"))
    for kind in ("CN_ID", "PHONE", "BANK_CARD", "EMAIL", "PERSON"):
        assert scores[kind]["true_positives"] > 30, kind
        assert scores[kind]["precision"] >= 0.95, (kind, scores[kind], scores["errors"][:5])
        assert scores[kind]["recall"] >= 0.90, (kind, scores[kind], scores["errors"][:5])


def test_names_on_resume_ner_test():
    """Real names in real CVs. Measured (bench/RESULTS.md): precision 0.87, recall 0.955; floor against
    regressions."""
    cases = resume_name_cases(shared_data("resume_ner", "test.char.bmes"))
    assert len(cases) == 477
    scores = score_detector(PiiRedactor(["PERSON"]), cases)["PERSON"]
    assert scores["recall"] >= 0.9 and scores["precision"] >= 0.8, scores


def test_prepare_redacts_chinese_text(tmp_path):
    from lmforge.api import prepare_data

    src = tmp_path / "train.jsonl"
    rows = [{"text": "我叫张伟，电话13812345678，东西很好", "label": "pos"}, {"text": "送餐很快，好吃", "label": "pos"},
            {"text": "身份证11010519491231002X的用户投诉太慢", "label": "neg"}, {"text": "太难吃了", "label": "neg"}]
    src.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    manifest = prepare_data([src], tmp_path / "out", redact_pii=True, quiet=True)
    texts = [json.loads(line)["text"] for line in (tmp_path / "out" / "train.jsonl").read_text().splitlines()]
    assert "我叫[PERSON]，电话[PHONE]，东西很好" in texts and "身份证[CN_ID]的用户投诉太慢" in texts
    assert manifest["pii_redacted"] == {"PERSON": 1, "PHONE": 1, "CN_ID": 1}
