"""`lmforge predict`: predict for texts given on the command line or a whole file (streamed, order kept).
Each output row holds what the artifact's task predicts (for a classifier: label, score and every class's)."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from itertools import islice
from pathlib import Path

from lmforge.data.sources import choose_split
from lmforge.errors import DataError
from lmforge.inference.predictor import Predictor

CHUNK_ROWS = 4096
OUTPUT_FORMATS = (".jsonl", ".csv")


def predict_texts(model_dir: str | Path, texts: Sequence[str], backend: str = "auto") -> list:
    return Predictor.load(model_dir, backend=backend).predict(texts)


def predict_file(model_dir: str | Path, input: str | Path, output: str | Path, *, text_column: str | None = None,
                 encoding: str = "utf-8", backend: str = "auto", predictor: Predictor | None = None,
                 split: str | None = None) -> int:
    """Predict every row of ``input`` into ``output`` (.jsonl or .csv), in input order. Returns rows written.
    ``split``: the split of a multi-split source (default: the one named test)."""
    output = Path(output)
    if output.suffix.lower() not in OUTPUT_FORMATS:
        raise DataError(f"cannot write '{output.suffix}' files", path=output,
                        hint=f"name the output with one of {', '.join(OUTPUT_FORMATS)}")
    predictor = predictor or Predictor.load(model_dir, backend=backend)
    task = predictor.task
    split = choose_split(input, split, "test", encoding)
    _, _, rows = task.read_stream(input, text_column=text_column, label_column=None, encoding=encoding,
                                  need_label=False, **({"split": split} if split else {}))
    written = 0
    with open(output, "w", newline="", encoding="utf-8") as f:
        writer = None
        if output.suffix.lower() == ".csv":
            writer = csv.writer(f)
        while chunk := list(islice(rows, CHUNK_ROWS)):
            pair = isinstance(chunk[0][1], tuple)  # a sentence-pair task: one column per text
            if writer is not None and not written:
                writer.writerow(["row", *(("text_a", "text_b") if pair else ("text",)),
                                 *task.prediction_columns(predictor.labels)])
            for (row, text, _), p in zip(chunk, predictor.predict([text for _, text, _ in chunk])):
                if writer is not None:
                    writer.writerow([row, *(text if pair else (text,)), *task.prediction_cells(p)])
                else:
                    f.write(json.dumps({"row": row, "text": text, **task.prediction_row(p)}, ensure_ascii=False) + "\n")
                written += 1
    return written
