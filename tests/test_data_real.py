"""`data inspect` and `data prepare` on every dataset in ../shared/data: the counts match its README."""

from __future__ import annotations

import json

import pytest

from lmforge.data.conll import iter_conll_sentences
from lmforge.data.inspect import InspectConfig, inspect_files
from lmforge.data.prepare import PrepareConfig, prepare_data
from tests.conftest import shared_data

FAST = InspectConfig(tokens=False, pii=False, near=False)


def test_sst2_duplicates_and_overlap_match_the_readme():
    files = [shared_data("sst2", f"{s}.tsv") for s in ("train", "dev", "test")]
    summary = inspect_files(files, config=FAST, quiet=True)
    train, dev, test = summary["files"]
    assert (train["rows"], dev["rows"], test["rows"]) == (60614, 6735, 872)
    assert train["label_distribution"] == {"1": 33828, "0": 26786}
    assert test["label_distribution"] == {"1": 444, "0": 428}
    assert train["exact_duplicate_rows"] == 293                        # "train has 293 repeated sentences"
    overlap = {(o["a"].split("/")[-1], o["b"].split("/")[-1]): o["exact_texts"] for o in summary["overlap"]}
    assert overlap == {("train.tsv", "dev.tsv"): 75, ("train.tsv", "test.tsv"): 0, ("dev.tsv", "test.tsv"): 0}
    assert train["issues"]["whitespace"] == 60614                      # every sentence ends with a space


def test_sst2_prepare_removes_duplicates_and_leaked_train_rows(tmp_path):
    files = [shared_data("sst2", f"{s}.tsv") for s in ("train", "dev", "test")]
    m = prepare_data(files, tmp_path / "sst2", PrepareConfig(near_check=False, remove_leaked=True), quiet=True,
                     report=False)
    assert m["leakage"]["dev"]["exact"] == 75 and m["leakage"]["test"]["exact"] == 0
    assert m["leakage"]["train_rows_removed"]["exact"] == 75
    # Of train's 293 repeats, 3 carry the other label (kept, reported as conflicts): 290 go, and 3 in dev.
    assert m["conflicts"]["texts"] == 3
    assert m["removed_by_reason"] == {"exact_duplicate": 290 + 3, "leaked_exact": 75}
    assert m["outputs"]["train"]["rows"] == 60614 - 290 - 75
    assert m["outputs"]["test"]["rows"] == 872
    assert m["changes_by_step"] == {"whitespace": 60614 + 6735 + 872}
    assert m["counts"]["rows_in"] == m["counts"]["rows_out"] + m["counts"]["removed"]


def test_agnews_duplicates_overlap_and_crawl_debris():
    files = [shared_data("agnews", f"{s}.tsv") for s in ("dev", "test")]
    summary = inspect_files(files, config=InspectConfig(tokens=False, pii=False, near=False), quiet=True)
    dev, test = summary["files"]
    assert (dev["rows"], test["rows"]) == (10001, 7600)
    assert (dev["text_column"], dev["label_column"]) == ("column_1", "column_2")      # no header
    assert test["label_distribution"] == {"Business": 1900, "Sci/Tech": 1900, "Sports": 1900, "World": 1900}
    assert (dev["exact_duplicate_rows"], test["exact_duplicate_rows"]) == (13, 6)
    assert summary["overlap"][0]["exact_texts"] == 8
    # README: broken entities in about 2,300 dev / 1,870 test rows, backslashes in about 1,000 / 770
    assert 2300 <= dev["issues"]["html_entity"] <= 2800 and 1870 <= test["issues"]["html_entity"] <= 2300
    assert 900 <= dev["issues"]["backslash"] <= 1100 and 700 <= test["issues"]["backslash"] <= 850


def test_banking77_embedded_newlines_are_one_row_each(tmp_path):
    train, test = shared_data("banking77", "train.csv"), shared_data("banking77", "test.csv")
    m = prepare_data([train, test], tmp_path / "b77", PrepareConfig(near_check=False), quiet=True, report=False)
    assert [i["rows"] for i in m["inputs"]] == [10003, 3080]
    # README: no duplicate text in either split, byte for byte. Once trailing spaces are trimmed, 4 train texts
    # and 1 test text repeat another ("Where can I withdraw money from? " / "… from?"): cleaning finds them.
    assert m["removed_by_reason"] == {"exact_duplicate": 5}
    raw = inspect_files([train, test], config=FAST, quiet=True)
    assert [f["exact_duplicate_rows"] for f in raw["files"]] == [0, 0] and raw["overlap"][0]["exact_texts"] == 0
    # after cleaning (whitespace trimmed, Unicode normalised) 7 test texts equal a train text (observed)
    assert m["leakage"]["test"]["exact"] == 7
    changes = [json.loads(line) for line in (tmp_path / "b77" / "changes.jsonl").open()]
    newline_rows = [c for c in changes if "\n" in c["before"]]
    assert len([c for c in newline_rows if c["file"] == str(train)]) == 10   # README: 10 rows in train, 3 in test
    assert len([c for c in newline_rows if c["file"] == str(test)]) == 3
    assert all("\n" not in c["after"] and "whitespace" in c["steps"] for c in newline_rows)
    labels = m["outputs"]["test"]["label_distribution"]
    # 40 per intent in the raw test split; the one test text that repeats another after trimming is removed
    assert len(labels) == 77 and set(labels.values()) <= {39, 40} and sum(labels.values()) >= 3079
    assert "Refund_not_showing_up" in labels and "reverted_card_payment?" in labels


def test_conll2003_docstart_lines_are_not_sentences():
    path = shared_data("conll2003", "train.txt")
    sentences = list(iter_conll_sentences(path))
    assert len(sentences) == 14041 and max(s.document for s in sentences) == 946
    assert sum(len(s.tokens) for s in sentences) == 203621
    assert sum(t == "B-PER" for s in sentences for t in s.tags) == 6600
    summary = inspect_files([path], config=FAST, quiet=True)
    assert summary["files"][0]["rows"] == 14041
    assert summary["files"][0]["text_column"] == "text"
    assert all(not e["text"].startswith("-DOCSTART-") for found in summary["files"][0]["examples"].values()
               for e in found)


@pytest.mark.e2e
def test_inspect_with_the_bundled_tokenizer_writes_the_report(tmp_path):
    path = shared_data("banking77", "test.csv")
    summary = inspect_files([path], tmp_path / "inspect", InspectConfig(max_length=32), quiet=True)
    tokens = summary["files"][0]["token_length"]
    assert 0 < tokens["p50"] < tokens["max"] and tokens["over_max_length"] > 0
    assert sum(tokens["bins"].values()) == 3080
    assert summary["files"][0]["near_duplicate_pairs"] >= 0
    written = {p.name for p in (tmp_path / "inspect").iterdir()}
    assert {"report.html", "summary.json", "figures.json", "token_length.png", "label_distribution.png"} <= written
