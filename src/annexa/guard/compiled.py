"""Whether the scanning modules run compiled by mypyc (see ``setup.py``) or as plain Python,
and whether a compiled build is older than its sources (an editable install whose Python
was edited after the build: the edits would not run until the next ``pip install -e .``)."""

from __future__ import annotations

import importlib.util
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

_HERE = Path(__file__).resolve().parent


def _origin(module: str) -> Path | None:
    spec = importlib.util.find_spec(module)
    return Path(spec.origin) if spec is not None and spec.origin else None


def compiled() -> bool:
    """True where the scanning modules are C extensions."""
    origin = _origin("annexa.guard.engine")
    return origin is not None and origin.name.endswith(tuple(EXTENSION_SUFFIXES))


def stale() -> list[str]:
    """The compiled modules (whichever ``setup.py`` builds) whose Python source beside them
    is newer than the build."""
    found = []
    for built in sorted(_HERE.iterdir()):
        if not built.name.endswith(tuple(EXTENSION_SUFFIXES)):
            continue
        name = built.name.split(".", 1)[0]
        source = _HERE / f"{name}.py"
        if source.exists() and source.stat().st_mtime > built.stat().st_mtime + 1:
            found.append(f"annexa.guard.{name}")
    return found


COMPILED = compiled()
