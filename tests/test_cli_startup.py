"""The CLI starts fast because it imports a stage's heavy libraries only when that stage runs.

Timings belong to bench/startup.py (they depend on the machine); what is tested here is deterministic:
which modules a start-up imports, and that the command table agrees with what the modules register.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lmforge.cli import COMMAND_MODULES, COMMANDS

SRC = Path(__file__).resolve().parents[1] / "src"
HEAVY = ("torch", "transformers", "sklearn", "mlflow", "pandas", "scipy", "accelerate", "onnxruntime", "peft")


def imported_after(code: str) -> set[str]:
    """Top-level packages imported by a fresh interpreter running ``code``."""
    probe = (f"import sys\n{code}\nimport json\n"
             "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))")
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_import_lmforge_and_its_cli_imports_no_heavy_library():
    loaded = imported_after("import lmforge, lmforge.cli")
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


@pytest.mark.parametrize("argv", [[], *([name] for name in COMMANDS), ["data", "inspect"], ["data", "prepare"]],
                         ids=lambda a: " ".join(a) or "(none)")
def test_help_of_every_command_imports_no_heavy_library(argv):
    code = ("import contextlib, io\nfrom lmforge.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
            f"    main({[*argv, '--help']!r})")
    loaded = imported_after(code)
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_the_command_table_is_what_the_modules_register():
    registered = {}
    for module in COMMAND_MODULES:
        sub = argparse.ArgumentParser().add_subparsers()
        importlib.import_module(module).register(sub)
        registered.update({a.dest: (module, a.help) for a in sub._choices_actions})
    assert registered == COMMANDS


def test_a_command_runs_with_its_own_flags_and_help_lists_them_all(capsys):
    from lmforge.cli import build_parser

    args = build_parser(["runs", "--limit", "3"]).parse_args(["runs", "--limit", "3"])
    assert args.limit == 3 and args.func.__module__ == "lmforge.tracking.cli"
    with pytest.raises(SystemExit):
        build_parser(["--help"]).parse_args(["--help"])
    listed = capsys.readouterr().out
    assert all(f"    {name} " in listed for name in COMMANDS)
    full = build_parser()  # no argv: every module registered (what documentation tools see)
    sub = next(a for a in full._actions if isinstance(a, argparse._SubParsersAction))
    assert set(COMMANDS) <= set(sub.choices)
