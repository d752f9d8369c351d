"""Every published layout reads as it is, trains and evaluates: headerless .txt, JSON documents with splits,
label folders, label-suffix line files, Excel workbooks; and their errors say where and what to do."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

import lmforge
from lmforge.data.examples import load_labeled_texts
from lmforge.data.sources import choose_split, iter_records, list_splits
from lmforge.errors import DataError

POS, NEG = ["good", "great", "lovely", "superb", "fine"], ["bad", "awful", "poor", "dull", "boring"]
FILLERS = ["the", "film", "movie", "plot", "actor", "was", "really", "quite", "story", "scene"]
FAST = dict(epochs=2, batch_size=16, max_length=32, lr=5e-3, quiet=True, freeze_embeddings=False, patience=0)


@pytest.fixture(autouse=True)
def no_tracking(monkeypatch):
    monkeypatch.setenv("LMFORGE_TRACKING", "off")  # tracking has its own tests; here it would only cost time


def toy_rows(n: int, seed: int = 0) -> list[tuple[str, str]]:
    """(text, label) pairs of the toy sentiment task ('1' positive, '0' negative)."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        label = "1" if i % 2 == 0 else "0"
        words = rng.sample(FILLERS, rng.randint(2, 5)) + [rng.choice(POS if label == "1" else NEG)]
        rng.shuffle(words)
        rows.append((" ".join(words), label))
    return rows


def train_and_evaluate(tiny_model: Path, train: Path, out: Path, eval_split: str | None = None, **kwargs) -> dict:
    result = lmforge.finetune(train, out, model=str(tiny_model), **{**FAST, **kwargs})
    metrics = lmforge.evaluate(out, train, out / "eval", split=eval_split)
    assert metrics["examples"] > 0
    return {"train": result, "eval": metrics}


# --- headerless delimited text, whatever its extension ----------------------------------------------------

def test_headerless_tab_separated_txt_is_two_columns_and_trains(tmp_path, tiny_model):
    path = tmp_path / "amazon_cells_labelled.txt"  # the UCI sentiment-sentences layout
    path.write_text("".join(f"{t}\t{y}\n" for t, y in toy_rows(120)))
    data = load_labeled_texts(path)
    assert (data.text_column, data.label_column) == ("column_1", "column_2")
    assert len(data) == 120 and set(data.labels) == {"0", "1"}
    train_and_evaluate(tiny_model, path, tmp_path / "run")


def test_headerless_file_of_unknown_extension_is_sniffed(tmp_path):
    path = tmp_path / "sentences.data"
    path.write_text("".join(f"{t},{y}\n" for t, y in toy_rows(10)))
    data = load_labeled_texts(path)
    assert len(data) == 10 and data.texts[0] == toy_rows(10)[0][0]


def test_header_is_told_from_data_by_the_rows_below(tmp_path):
    with_header = tmp_path / "a.txt"
    with_header.write_text("phrase\tscore\n" + "".join(f"{t}\t{y}\n" for t, y in toy_rows(6)))
    assert load_labeled_texts(with_header, text_column="phrase", label_column="score").texts[0] == toy_rows(6)[0][0]
    # a short first row that looks like names, but its label recurs below: data
    no_header = tmp_path / "b.txt"
    no_header.write_text("a great film\tpos\nthe plot was dull\tneg\nlovely acting\tpos\nan awful scene\tneg\n")
    assert load_labeled_texts(no_header).texts[0] == "a great film"


def test_one_column_txt_does_not_suggest_a_label_column(tmp_path):
    path = tmp_path / "texts.txt"
    path.write_text("a good film\nthe plot was dull\n")
    with pytest.raises(DataError) as e:
        load_labeled_texts(path)
    message = str(e.value)
    assert "read as one column" in message and "no tab on any" in message
    assert "--label-column" not in message and "text<TAB>label" in message
    with pytest.raises(DataError, match="read as one column"):  # naming a label column cannot help either
        load_labeled_texts(path, label_column="label")


def test_a_txt_line_without_its_tab_is_named(tmp_path):
    path = tmp_path / "labelled.txt"
    lines = [f"{t}\t{y}\n" for t, y in toy_rows(20)]
    lines[6] = "a line without its label\n"
    path.write_text("".join(lines))
    with pytest.raises(DataError) as e:
        load_labeled_texts(path)
    assert "row 7" in str(e.value) and "1 fields but the first row has 2" in str(e.value)


# --- JSON documents with split keys --------------------------------------------------------------------------

def write_split_document(path: Path, objects: bool = False) -> Path:
    def rows(n, seed):
        return [{"text": t, "label": y} if objects else [t, y] for t, y in toy_rows(n, seed)]
    path.write_text(json.dumps({"train": rows(120, 0), "val": rows(20, 1), "test": rows(30, 2),
                                "oos_train": [["what is the weather", "oos"]]}, indent=1))
    return path


@pytest.mark.parametrize("objects", [False, True], ids=["pairs", "objects"])
def test_json_document_with_splits_trains_on_train_devs_on_val_and_evaluates_test(tmp_path, tiny_model, objects):
    path = write_split_document(tmp_path / "data_full.json", objects)
    assert list_splits(path) == ["oos_train", "test", "train", "val"]
    assert choose_split(path, None, "dev") == "val" and choose_split(path, None, "test") == "test"
    run = train_and_evaluate(tiny_model, path, tmp_path / "run")
    inputs = run["train"].manifest["inputs"]
    assert inputs["train"]["split"] == "train" and inputs["train"]["rows"] == 120
    assert inputs["dev"]["split"] == "val" and inputs["dev"]["rows"] == 20 and inputs["dev_split"] is None
    assert run["eval"]["examples"] == 30  # the test split


def test_json_split_option_and_located_errors(tmp_path, tiny_model):
    path = write_split_document(tmp_path / "data.json")
    assert len(load_labeled_texts(path, split="test")) == 30
    with pytest.raises(DataError, match="no split 'tset'; its splits are: oos_train, test, train, val"):
        load_labeled_texts(path, split="tset")
    with pytest.raises(DataError, match="holds several splits"):
        list(iter_records(path))
    doc = json.loads(path.read_text())
    doc["train"][3][0] = "   "
    path.write_text(json.dumps(doc, indent=1))
    with pytest.raises(DataError) as e:
        load_labeled_texts(path)
    text = path.read_text().splitlines()
    line = next(i for i, s in enumerate(text, 1) if s.strip() == '"   ",')
    assert f"[split train], row 4 (line {line - 1})" in str(e.value) and "the text is empty" in str(e.value)
    path.write_text('{"train": [["a", "1"],, ]}')
    with pytest.raises(DataError, match="is not valid JSON .* line 1"):
        load_labeled_texts(path)


def test_json_file_holding_json_lines_is_read_as_json_lines(tmp_path):
    path = tmp_path / "train.json"
    path.write_text("".join(json.dumps({"sentence": t, "label": int(y)}) + "\n" for t, y in toy_rows(8)))
    assert load_labeled_texts(path).labels[:2] == ["1", "0"]


# --- one text per file in label folders ----------------------------------------------------------------------

def write_label_folders(root: Path, splits: dict[str, int]) -> Path:
    for split, n in splits.items():
        for i, (text, label) in enumerate(toy_rows(n, seed=len(split))):
            folder = root / split / ("pos" if label == "1" else "neg")
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{i}_{7 if label == '1' else 2}.txt").write_text(text + "\n")
    (root / "train" / "unsup").mkdir(parents=True, exist_ok=True)  # aclImdb's unlabelled reviews: skipped
    (root / "train" / "unsup" / "0_0.txt").write_text("an unlabelled review")
    (root / "train" / "urls_pos.txt").write_text("http://example.com\n")  # loose files beside the labels
    return root


def test_label_folders_with_splits_train_and_evaluate(tmp_path, tiny_model):
    root = write_label_folders(tmp_path / "aclImdb", {"train": 120, "test": 30})
    assert list_splits(root) == ["test", "train"]
    data = load_labeled_texts(root)
    assert len(data) == 120 and set(data.labels) == {"neg", "pos"} and data.split == "train"
    run = train_and_evaluate(tiny_model, root, tmp_path / "run")
    assert run["train"].manifest["inputs"]["dev_split"]["rows"]  # no dev folder: held out of train
    assert run["eval"]["examples"] == 30
    # the split folder itself is a source too
    assert len(load_labeled_texts(root / "train")) == 120


def test_an_empty_review_file_is_named(tmp_path):
    root = write_label_folders(tmp_path / "reviews", {"train": 10})
    bad = sorted((root / "train" / "neg").iterdir())[2]
    bad.write_text("\n")
    with pytest.raises(DataError) as e:
        load_labeled_texts(root / "train")
    assert str(bad) in str(e.value) and "the text is empty" in str(e.value)


def test_a_directory_in_no_known_layout_says_which_are(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="folder of label folders"):
        load_labeled_texts(tmp_path / "empty")


# --- line files whose suffix is the label ---------------------------------------------------------------------

def test_label_suffix_line_files_train_and_evaluate(tmp_path, tiny_model):
    root = tmp_path / "rt-polaritydata"
    root.mkdir()
    rows = toy_rows(120)
    for label, suffix in (("1", "pos"), ("0", "neg")):
        (root / f"rt-polarity.{suffix}").write_text("".join(t + "\n" for t, y in rows if y == label),
                                                    encoding="cp1252")
    data = load_labeled_texts(root)
    assert len(data) == 120 and set(data.labels) == {"neg", "pos"}
    train_and_evaluate(tiny_model, root, tmp_path / "run")
    (root / "rt-polarity.neg").write_bytes(b"good\ncaf\xe9 scene\n")  # Latin-1, as the published files are
    with pytest.raises(DataError) as e:
        load_labeled_texts(root)
    assert "rt-polarity.neg" in str(e.value) and "line 2" in str(e.value) and "--encoding" in str(e.value)
    assert len(load_labeled_texts(root, encoding="cp1252")) == 62


def test_label_suffix_files_with_stems_as_splits(tmp_path):
    for split, n in (("train", 20), ("test", 10)):
        rows = toy_rows(n)
        for label, suffix in (("1", "pos"), ("0", "neg")):
            (tmp_path / f"{split}.{suffix}").write_text("".join(t + "\n" for t, y in rows if y == label))
    assert list_splits(tmp_path) == ["test", "train"]
    assert len(load_labeled_texts(tmp_path, role="test")) == 10


# --- Excel ---------------------------------------------------------------------------------------------------

def test_xlsx_with_sheets_as_splits_trains_and_evaluates(tmp_path, tiny_model):
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheets = {"train": toy_rows(120), "test": toy_rows(30, seed=5)}
    for i, (name, rows) in enumerate(sheets.items()):
        sheet = book.active if i == 0 else book.create_sheet()
        sheet.title = name
        sheet.append(["Utterance", "Sentiment"])
        for text, label in rows:
            sheet.append([text, int(label)])  # a number in Excel: read back as "1", not "1.0"
    path = tmp_path / "labels.xlsx"
    book.save(path)
    data = load_labeled_texts(path)
    assert data.split == "train" and (data.text_column, data.label_column) == ("Utterance", "Sentiment")
    assert set(data.labels) == {"0", "1"}
    run = train_and_evaluate(tiny_model, path, tmp_path / "run")
    assert run["eval"]["examples"] == 30
    book["train"]["A5"] = None  # an empty text, reported with its Excel row
    book.save(path)
    with pytest.raises(DataError, match=r"\[split train\], row 4 \(line 5\), column 'Utterance': the text is empty"):
        load_labeled_texts(path)


def test_xls_is_refused_with_what_to_do(tmp_path):
    path = tmp_path / "old.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0" + bytes(100))
    with pytest.raises(DataError, match="save it as .xlsx"):
        load_labeled_texts(path)


def test_split_on_a_single_split_file_is_refused(tmp_path, sentiment_csv):
    with pytest.raises(DataError, match="has no splits"):
        list(iter_records(sentiment_csv, split="train"))
