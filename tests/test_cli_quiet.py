"""`--quiet` means one summary line: no library progress bars, load reports or warnings."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import write_sentiment_csv

SRC = Path(__file__).resolve().parents[1] / "src"


def lmforge_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    return subprocess.run([sys.executable, "-m", "lmforge", *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=600)


def test_quiet_finetune_prints_one_line(tmp_path, tiny_model):
    data = write_sentiment_csv(tmp_path / "train.csv", n=60)
    rows = list(csv.reader(data.open()))
    rows[1][0] = " ".join(["good film"] * 40)  # longer than --max-length: truncated, and counted, silently
    with data.open("w", newline="") as f:
        csv.writer(f).writerows(rows)
    done = lmforge_cli("finetune", str(data), "--model", str(tiny_model), "--output", str(tmp_path / "out"),
                       "--epochs", "1", "--max-length", "24", "--quiet", cwd=tmp_path)
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert done.returncode == 0, done.stderr
    assert len(lines) == 1 and lines[0].startswith(f"saved {tmp_path / 'out'}  (dev: accuracy"), lines
    assert "samples/s" in lines[0]


def test_a_max_length_past_the_model_is_one_error_line_not_a_traceback(tmp_path, tiny_model):
    data = write_sentiment_csv(tmp_path / "train.csv", n=40)
    done = lmforge_cli("finetune", str(data), "--model", str(tiny_model), "--output", str(tmp_path / "out"),
                       "--max-length", "512", "--quiet", cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        f"error: --max-length 512 is beyond the 64 positions of the model ({tiny_model.name}); "
        "pass --max-length 64 or less"]
    assert not (tmp_path / "out" / "checkpoints").exists()  # nothing left to --resume
