"""The direction of imports (pyproject.toml, [tool.importlinter]) holds: CI fails on a new cycle or a stage
importing upward (serving → training, metering → a stage, tasks → a stage)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_lint_imports_contracts_are_kept():
    exe = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    if not Path(exe).exists():
        pytest.fail("lint-imports is missing: pip install 'lmforge[test]' (import-linter)")
    # this checkout's sources first, whatever lmforge is installed in the environment
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    proc = subprocess.run([exe, "--no-cache"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "0 broken" in proc.stdout


def test_every_task_registers_under_its_name():
    from lmforge.tasks import Task, get_task, known_tasks
    from lmforge.errors import ConfigError

    assert "text-classification" in known_tasks()
    for name in known_tasks():
        task = get_task(name)
        assert task.name == name and isinstance(task, Task)
    with pytest.raises(ConfigError, match="lmforge knows: .*text-classification"):
        get_task("no-such-task")
