"""Directories as labelled data: one folder per label, or one line file per label.

    aclImdb/train/pos/0_9.txt, aclImdb/train/neg/1_1.txt …   one text per file, the folder is the label
    aclImdb/  (train/ and test/ each holding label folders)     the same, with splits: --split train
    rt-polaritydata/rt-polarity.pos, rt-polarity.neg          one text per line, the suffix is the label
    data/train.pos, train.neg, test.pos, test.neg             the same, with splits (the stem): --split test

Label folders named ``unsup``, ``unlabeled`` or ``unlabelled`` (aclImdb's 50,000 unlabelled reviews) hold
no labels and are skipped; so are hidden files and the loose files beside the label folders (aclImdb's
``urls_pos.txt``, ``labeledBow.feat``). Every record carries the file it came from, so an error names it.

    >>> folder_layout(Path("aclImdb"))
    FolderLayout(kind='label-folders', splits=['test', 'train'])
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from lmforge.data.records import Record
from lmforge.errors import DataError

UNLABELLED = {"unsup", "unlabeled", "unlabelled"}
# Suffixes that name a data format, never a label.
FORMAT_SUFFIXES = {".csv", ".tsv", ".tab", ".jsonl", ".ndjson", ".json", ".parquet", ".pq", ".txt", ".conll",
                   ".xlsx", ".xlsm", ".xls", ".md", ".html", ".zip", ".gz", ".tar", ".py", ".sh"}


@dataclass(frozen=True)
class FolderLayout:
    kind: str                                   # "label-folders" or "label-files"
    splits: list[str] = field(default_factory=list)  # [] when the directory is one split


def _visible(path: Path) -> bool:
    return not path.name.startswith((".", "_"))


def _label_dirs(directory: Path) -> list[Path]:
    """Sub-folders of ``directory`` that each directly hold text files (and no folders): labels."""
    dirs = [d for d in sorted(directory.iterdir()) if d.is_dir() and _visible(d) and d.name.lower() not in UNLABELLED]
    if not dirs:
        return []
    for d in dirs:
        entries = [e for e in d.iterdir() if _visible(e)]
        if not entries or any(e.is_dir() for e in entries):
            return []
    return dirs


def _label_files(directory: Path) -> dict[str, list[Path]]:
    """Line files grouped by stem, when a stem has two or more label suffixes (``x.pos``, ``x.neg``)."""
    groups: dict[str, list[Path]] = {}
    for f in sorted(directory.iterdir()):
        if f.is_file() and _visible(f) and f.suffix and f.suffix.lower() not in FORMAT_SUFFIXES:
            groups.setdefault(f.stem, []).append(f)
    return {stem: files for stem, files in groups.items() if len(files) >= 2}


def folder_layout(directory: Path) -> FolderLayout | None:
    """How ``directory`` holds labelled texts, or None when it is none of the layouts above."""
    if _label_dirs(directory):
        return FolderLayout("label-folders")
    splits = [d.name for d in sorted(directory.iterdir()) if d.is_dir() and _visible(d) and _label_dirs(d)]
    if splits:
        return FolderLayout("label-folders", splits)
    groups = _label_files(directory)
    if groups:
        return FolderLayout("label-files", sorted(groups) if len(groups) > 1 else [])
    return None


def _read_whole(path: Path, encoding: str) -> str:
    from lmforge.data.decoding import decoded_lines

    return "".join(decoded_lines(path, encoding)).strip()


def iter_folder_records(directory: Path, encoding: str, split: str | None):
    """Records ``{"text", "label"}`` of a directory in one of the layouts (of ``split`` when it has splits)."""
    layout = folder_layout(directory)
    if layout is None:
        raise DataError("is a directory without labelled data", path=directory, hint=DIRECTORY_HINT)
    if layout.splits and split not in layout.splits:
        raise DataError(f"has no split '{split}'; its splits are: {', '.join(layout.splits)}", path=directory,
                        hint="pass --split with one of those names")

    def label_folders() -> Iterator[Record]:
        root = directory / split if layout.splits else directory
        row = 0
        for label_dir in _label_dirs(root):
            for f in sorted(e for e in label_dir.iterdir() if e.is_file() and _visible(e)):
                row += 1
                yield Record(row, 1, {"text": _read_whole(f, encoding), "label": label_dir.name}, origin=f)

    def label_files() -> Iterator[Record]:
        groups = _label_files(directory)
        files = groups[split] if layout.splits else next(iter(groups.values()))
        row = 0
        for f in files:
            label = f.suffix[1:]
            for line_no, line in enumerate(decoded_lines(f, encoding), start=1):
                if line.strip():
                    row += 1
                    yield Record(row, line_no, {"text": line.rstrip("\r\n"), "label": label}, origin=f)

    from lmforge.data.decoding import decoded_lines

    return label_folders() if layout.kind == "label-folders" else label_files()


DIRECTORY_HINT = ("pass a data file; or a folder of label folders holding one text per file (DIR/pos/*.txt, "
                  "DIR/neg/*.txt, or DIR/train/pos/*.txt with --split); or a folder of line files whose "
                  "suffix is the label (x.pos, x.neg); or a `lmforge data prepare` output")
