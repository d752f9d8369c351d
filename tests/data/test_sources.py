"""Readers: formats, header detection, and every bad input giving a clear, located error."""

from __future__ import annotations

import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lmforge.data.examples import LabelSet, load_labeled_texts
from lmforge.data.sources import iter_records
from lmforge.errors import DataError
from tests.conftest import REPO, shared_data


def write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return path


@pytest.mark.parametrize("name,content", [
    ("a.csv", "text,label\nhello world,pos\n\"quoted, with comma\",neg\n"),
    ("a.tsv", "sentence\tlabel\nhello world\tpos\nquoted, with comma\tneg\n"),
    ("a.jsonl", '{"text": "hello world", "label": "pos"}\n\n{"text": "quoted, with comma", "label": "neg"}\n'),
])
def test_formats_read_the_same(tmp_path, name, content):
    data = load_labeled_texts(write(tmp_path / name, content))
    assert data.texts == ["hello world", "quoted, with comma"]
    assert data.labels == ["pos", "neg"]
    assert data.rows == [1, 2]


def test_parquet(tmp_path):
    path = tmp_path / "a.parquet"
    pq.write_table(pa.table({"review": ["good", "bad"], "sentiment": [1, 0]}), path)
    data = load_labeled_texts(path)
    assert (data.text_column, data.label_column) == ("review", "sentiment")
    assert data.labels == ["1", "0"]


def test_integer_labels_sort_numerically():
    assert LabelSet.from_labels(["10", "2", "0", "1"]).names == ["0", "1", "2", "10"]
    assert LabelSet.from_labels(["b", "a", "C"]).names == ["C", "a", "b"]


def test_missing_column_lists_the_columns(tmp_path):
    path = write(tmp_path / "a.csv", "body_text,tag\nhi,x\n")
    with pytest.raises(DataError) as e:
        load_labeled_texts(path, text_column="text")
    assert "no text column 'text'" in str(e.value) and "body_text, tag" in str(e.value)
    assert "--text-column" in str(e.value) and str(path) in str(e.value)
    with pytest.raises(DataError, match="no label column found; the columns are: body_text, tag"):
        load_labeled_texts(path, text_column="body_text")


def test_ambiguous_columns_ask_which(tmp_path):
    path = write(tmp_path / "a.csv", "text,sentence,label\na,b,c\n")
    with pytest.raises(DataError, match="several columns could hold the text: text, sentence"):
        load_labeled_texts(path)


def test_empty_file_and_header_only(tmp_path):
    with pytest.raises(DataError, match="the file is empty"):
        load_labeled_texts(write(tmp_path / "a.csv", ""))
    with pytest.raises(DataError, match="has no data rows"):
        load_labeled_texts(write(tmp_path / "b.csv", "text,label\n"))


def test_empty_text_names_row_and_line(tmp_path):
    path = write(tmp_path / "a.csv", 'text,label\nfine,pos\n"two\nlines",neg\n"  ",pos\n')
    with pytest.raises(DataError) as e:
        load_labeled_texts(path)
    assert e.value.row == 3 and e.value.line == 5 and e.value.column == "text"
    assert "row 3 (line 5), column 'text': the text is empty" in str(e.value)


def test_empty_label(tmp_path):
    with pytest.raises(DataError, match="row 2.*the label is empty"):
        load_labeled_texts(write(tmp_path / "a.jsonl", '{"text":"a","label":"x"}\n{"text":"b","label":""}\n'))


def test_unseen_dev_label_names_file_row_and_known_labels(tmp_path):
    train = load_labeled_texts(write(tmp_path / "train.csv", "text,label\na,pos\nb,neg\n"))
    dev = load_labeled_texts(write(tmp_path / "dev.csv", "text,label\nc,pos\nd,neutral\n"))
    with pytest.raises(DataError) as e:
        LabelSet.from_labels(train.labels).encode(dev)
    msg = str(e.value)
    assert "dev.csv, row 2, column 'label'" in msg and "'neutral' never occurs" in msg and "neg, pos" in msg


def test_undecodable_bytes_give_offset_line_and_encoding_hint(tmp_path):
    raw = "text,label\ncaf\u00e9 ok,pos\n".encode() + "na\u00efve,neg\n".encode("cp1252")
    path = write(tmp_path / "a.csv", raw)
    with pytest.raises(DataError) as e:
        load_labeled_texts(path)
    offset = raw.index(b"\xef")
    assert f"byte {offset} (0xef) is not valid utf-8" in str(e.value)
    assert e.value.line == 3 and "--encoding" in str(e.value)
    assert load_labeled_texts(path, encoding="cp1252").texts == ["caf\u00c3\u00a9 ok", "na\u00efve"]


def test_invalid_json_line(tmp_path):
    with pytest.raises(DataError, match=r"row 2 \(line 3\): is not valid JSON"):
        load_labeled_texts(write(tmp_path / "a.jsonl", '{"text":"a","label":"x"}\n\n{"text": oops}\n'))


def test_wrong_field_count_and_unreadable_types(tmp_path):
    with pytest.raises(DataError, match="row 2 .*has 3 fields but the header has 2"):
        load_labeled_texts(write(tmp_path / "a.csv", "text,label\na,b\nc,d,e\n"))
    with pytest.raises(DataError, match=r"is not a readable \.xlsx workbook"):
        list(iter_records(write(tmp_path / "a.xlsx", "x")))
    (tmp_path / "a.bin").write_bytes(b"PK\x03\x04\x00\x00binary")
    with pytest.raises(DataError, match=r"looks binary, not text \(file type '\.bin'\)"):
        list(iter_records(tmp_path / "a.bin"))
    with pytest.raises(DataError, match="no such file"):
        list(iter_records(tmp_path / "missing.csv"))


def test_utf8_bom_is_not_part_of_the_first_column(tmp_path):
    data = load_labeled_texts(write(tmp_path / "a.csv", "\ufefftext,label\nhi,x\n"))
    assert data.text_column == "text"


def test_banking77_embedded_newlines_are_one_record():
    data = load_labeled_texts(shared_data("banking77", "train.csv"))
    assert len(data) == 10_003
    assert sum("\n" in t for t in data.texts) == 10
    assert len(set(data.labels)) == 77


def test_sst2_and_headerless_agnews():
    sst2 = load_labeled_texts(shared_data("sst2", "test.tsv"))
    assert len(sst2) == 872 and sst2.text_column == "sentence"
    assert sorted(set(sst2.labels)) == ["0", "1"]
    agnews = load_labeled_texts(shared_data("agnews", "test.tsv"))  # no header: longer column is the text
    assert len(agnews) == 7_600 and set(agnews.labels) == {"World", "Sports", "Business", "Sci/Tech"}


def test_cli_prints_a_clear_error_and_no_traceback(tmp_path):
    path = write(tmp_path / "train.csv", "words,tag\nhi,x\n")
    proc = subprocess.run([sys.executable, "-m", "lmforge", "finetune", str(path), "--output", str(tmp_path / "o")],
                          capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: ") and "no text column found; the columns are: words, tag" in proc.stderr
