"""`data prepare`: every row accounted for, each decision (duplicates, conflicts, leakage, split) as documented,
and the output directory is what `finetune` reads."""

from __future__ import annotations

import csv
import json
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lmforge.cli import main
from lmforge.data import decisions
from lmforge.data.prepare import PrepareConfig, prepare_data
from lmforge.errors import ConfigError, DataError


def write_csv(path: Path, rows: list[tuple[str, str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["text", "label"])
        w.writerows(rows)
    return path


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


MESSY = [
    ("a lovely film with a great cast", "pos"),          # row 1
    ("a lovely film with a great cast", "pos"),          # 2: exact duplicate of 1
    ("A lovely film, with a great cast!", "pos"),        # 3: near duplicate of 1
    ("   ", "neg"),                                      # 4: empty
    ("a dull and boring plot", ""),                      # 5: no label
    ("mail jane.doe@example.com &lt;b&gt;now&lt;/b&gt;", "neg"),  # 6: PII + HTML
    ("the same words twice", "pos"),                     # 7: conflicting labels 7/8/9
    ("the same words twice", "neg"),
    ("the same words twice", "neg"),
    ("an awful mess of a movie", "neg"),
    ("it #39;s quite good really", "pos"),
    ("poor acting and a weak script", "neg"),
]


def test_prepare_messy_file_accounts_for_every_row(tmp_path):
    src = write_csv(tmp_path / "raw.csv", MESSY)
    cfg = PrepareConfig(dedup="near", redact_pii=True, conflicts="majority", split="0.5,0.5", seed=1)
    m = prepare_data([src], tmp_path / "out", cfg, quiet=True)
    out = tmp_path / "out"
    removed = read_jsonl(out / "removed.jsonl")
    reasons = {r["row"]: r["reason"] for r in removed}
    assert reasons == {2: "exact_duplicate", 3: "near_duplicate", 4: "empty_text", 5: "missing_label",
                       7: "conflicting_label_minority", 9: "exact_duplicate"}   # 9 repeats 8 once 7 is gone
    assert all(r["file"] == str(src) for r in removed)
    by_row = {r["row"]: r for r in removed}
    assert by_row[2]["duplicate_of"] == {"file": str(src), "row": 1}
    assert by_row[3]["duplicate_of"] == {"file": str(src), "row": 1}
    kept = read_jsonl(out / "train.jsonl") + read_jsonl(out / "dev.jsonl")
    assert len(kept) + len(removed) == len(MESSY) == m["counts"]["rows_in"]
    texts = {r["text"] for r in kept}
    assert "mail [EMAIL] now" in texts and "it's quite good really" in texts
    assert [r["label"] for r in kept if r["text"] == "the same words twice"] == ["neg"]
    changes = {c["row"]: c for c in read_jsonl(out / "changes.jsonl")}
    assert changes[6]["steps"] == ["html_entity", "html_tag", "whitespace", "pii:EMAIL"]
    assert changes[6]["before"] == MESSY[5][0]
    assert m["pii_redacted"] == {"EMAIL": 1}
    assert m["conflicts"] == {"texts": 1, "rows": 3, "removed": 1}
    assert m["inputs"][0]["sha256"] and m["outputs"]["train"]["sha256"]
    assert json.loads((out / "manifest.json").read_text())["counts"] == m["counts"]
    assert (out / "report.html").read_text().count("<img") >= 2
    assert set(json.loads((out / "figures.json").read_text())) >= {"label_distribution", "char_length"}


def test_split_files_keep_roles_and_leakage_is_removed_from_train_on_request(tmp_path):
    train = write_csv(tmp_path / "train.csv", [("shared sentence about a film", "pos"), ("only in train", "neg"),
                                               ("a nearly shared sentence about films", "pos")])
    test = write_csv(tmp_path / "test.csv", [("shared sentence about a film", "pos"),
                                             ("a nearly shared sentence about films!", "pos"), ("only in test", "neg")])
    m = prepare_data([train, test], tmp_path / "report-only", PrepareConfig(near_threshold=0.7), quiet=True)
    assert set(m["outputs"]) == {"train", "test"} and m["outputs"]["train"]["rows"] == 3
    assert m["leakage"]["test"] == {"exact": 1, "near": 2}
    m = prepare_data([train, test], tmp_path / "removed", PrepareConfig(near_threshold=0.7, remove_leaked=True),
                     quiet=True)
    assert m["outputs"]["train"]["rows"] == 1 and m["outputs"]["test"]["rows"] == 3
    removed = read_jsonl(tmp_path / "removed" / "removed.jsonl")
    assert sorted(r["reason"] for r in removed) == ["leaked_exact", "leaked_near"]
    assert {r["duplicate_of"]["file"] for r in removed} == {str(test)}


def test_stratified_split_has_exact_shares(tmp_path):
    rows = [(f"text number {i} about {'cats' if i % 4 else 'dogs'}", "a" if i % 4 else "b") for i in range(400)]
    m = prepare_data([write_csv(tmp_path / "all.csv", rows)], tmp_path / "out",
                     PrepareConfig(split="0.8,0.1,0.1", stratify=True, near_check=False), quiet=True)
    assert {k: v["rows"] for k, v in m["outputs"].items()} == {"train": 320, "dev": 40, "test": 40}
    assert m["outputs"]["dev"]["label_distribution"] == {"a": 30, "b": 10}


def test_conflict_resolution_modes():
    state = decisions.RowState(groups=np.array([0, 0, 0, 1, 1, 2]), labels=np.array([0, 1, 1, 0, 1, 0]),
                               scopes=np.zeros(6, dtype=np.int64))
    report = decisions.resolve_conflicts(state, "majority")
    assert report == {"texts": 2, "rows": 5, "removed": 3}      # group 1 is a tie: both rows go
    assert state.reason.tolist() == [3, 0, 0, 3, 3, 0]
    state = decisions.RowState(groups=np.array([0, 0, 1]), labels=np.array([0, 1, 0]), scopes=np.zeros(3, int))
    decisions.resolve_conflicts(state, "drop")
    assert state.reason.tolist() == [4, 4, 0]


def test_near_duplicates_do_not_chain():
    # 0 ~ 1 and 1 ~ 2 but 0 !~ 2: 1 goes as a copy of 0; 2 stays, it resembles no kept text
    assert decisions.near_clusters(4, np.array([0, 1]), np.array([1, 2])).tolist() == [0, 0, 2, 3]
    # 2 resembles both 0 and 1 (which is kept): it joins the earliest kept one
    assert decisions.near_clusters(3, np.array([2, 1]), np.array([0, 2])).tolist() == [0, 1, 0]


def test_bad_settings_are_reported_together(tmp_path):
    with pytest.raises(ConfigError) as e:
        PrepareConfig(dedup="fuzzy", split="0.5,0.6", conflicts="vote").validate()
    assert len(e.value.problems) == 3
    src = write_csv(tmp_path / "a.csv", MESSY)
    prepare_data([src], tmp_path / "out", quiet=True)
    with pytest.raises(DataError, match="not empty"):
        prepare_data([src], tmp_path / "out", quiet=True)


ROWS = st.lists(st.tuples(st.sampled_from(["good film", "good film!", "bad film", "", "  ", "meh",
                                           "the plot was good film", "a@b.com is mine"]),
                          st.sampled_from(["pos", "neg", ""])), min_size=1, max_size=30)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(train=ROWS, test=ROWS, dedup=st.sampled_from(["exact", "near", "none"]),
       conflicts=st.sampled_from(["keep", "majority", "drop"]), pooled=st.booleans(), leaked=st.booleans(),
       pii=st.booleans())
def test_no_row_is_lost_silently(train, test, dedup, conflicts, pooled, leaked, pii):
    """rows in = rows out + rows in removed.jsonl, and each input row is removed at most once."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        files = [write_csv(tmp / "train.csv", train), write_csv(tmp / "test.csv", test)]
        cfg = PrepareConfig(dedup=dedup, conflicts=conflicts, split="0.6,0.2,0.2" if pooled else None,
                            remove_leaked=leaked, redact_pii=pii, near_threshold=0.6)
        m = prepare_data(files, tmp / "out", cfg, quiet=True, report=False)
        out_rows = sum(len(read_jsonl(tmp / "out" / f"{s}.jsonl")) for s in ("train", "dev", "test"))
        removed = read_jsonl(tmp / "out" / "removed.jsonl")
        assert out_rows + len(removed) == len(train) + len(test) == m["counts"]["rows_in"]
        assert m["counts"]["removed"] == len(removed)
        assert max(Counter((r["file"], r["row"]) for r in removed).values(), default=1) == 1


def test_finetune_reads_the_prepared_directory(tmp_path, tiny_model):
    import lmforge
    from tests.conftest import write_sentiment_csv

    src = write_sentiment_csv(tmp_path / "raw.csv", n=60)
    assert main(["data", "prepare", str(src), "--output", str(tmp_path / "prepared"), "--split", "0.8,0.2",
                 "--quiet"]) == 0
    run = lmforge.finetune(tmp_path / "prepared", tmp_path / "model", model=str(tiny_model), epochs=1,
                           batch_size=16, max_length=32, quiet=True)
    inputs = run.manifest["inputs"]
    assert inputs["train"]["path"] == str(tmp_path / "prepared" / "train.jsonl")
    assert inputs["dev"]["path"] == str(tmp_path / "prepared" / "dev.jsonl")     # not held out of train
    prepared = json.loads((tmp_path / "prepared" / "manifest.json").read_text())["outputs"]
    assert inputs["train"]["rows"] == prepared["train"]["rows"] and inputs["train"]["sha256"] == prepared["train"]["sha256"]


def test_cli_prints_and_fails_cleanly(tmp_path, capsys):
    src = write_csv(tmp_path / "raw.csv", MESSY)
    assert main(["data", "prepare", str(src), "-o", str(tmp_path / "out"), "--dedup", "near", "--redact-pii",
                 "-q"]) == 0
    printed = capsys.readouterr().out
    assert "12 rows in" in printed and "removed.jsonl" in printed
    assert main(["data", "prepare", str(src), "-o", str(tmp_path / "out"), "-q"]) == 2
    assert "not empty" in capsys.readouterr().err
    assert main(["data", "inspect", str(src), "-o", str(tmp_path / "inspect"), "--no-tokens", "-q"]) == 0
    printed = capsys.readouterr().out
    assert "12 rows" in printed and "exact duplicate rows 3" in printed and "conflicting labels 1" in printed
    assert (tmp_path / "inspect" / "report.html").exists()
