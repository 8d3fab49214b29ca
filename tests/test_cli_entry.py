"""The console script: the command line imported with the garbage collector paused."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_console_script_is_the_entry_module() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["scripts"]["annexa"] == "annexa.cli.entry:main"


def test_loading_the_cli_freezes_its_objects_and_restores_the_collector() -> None:
    probe = (
        "import gc\n"
        "from annexa.cli.entry import load_cli\n"
        "run = load_cli()\n"
        # everything the import made is frozen (tens of thousands of objects), nothing left
        "frozen = gc.get_freeze_count() > 50_000 and len(gc.get_objects()) < 1_000\n"
        "print(gc.isenabled(), frozen, run.__module__)\n"
        "gc.disable()\n"
        "load_cli()\n"
        "print(gc.isenabled())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert done.stdout.split() == ["True", "True", "annexa.cli.main", "False"]


def test_the_console_script_runs_a_command(tmp_path: Path) -> None:
    probe = "import sys; from annexa.cli.entry import main; sys.argv[1:] = ['--version']; main()"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()
