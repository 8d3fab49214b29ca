"""Builds the guard's hot modules as C extensions with mypyc (as black and mypy ship).

The sources stay plain, typed Python and run as they are wherever compiling is not possible
or not wanted: ``ANNEXA_PURE_PYTHON=1`` at install time skips it, and a failed compile
leaves the pure modules in place. Everything else is configured in ``pyproject.toml``.
"""

from __future__ import annotations

import os
from pathlib import Path

from setuptools import setup

# The modules a scan spends its time in (docs/guard.md, "Compiled modules"). They must stay
# free of what mypyc rejects: attributes added to classes after their definition, and
# interpreted subclasses of their classes.
COMPILED = [
    "src/annexa/guard/detectors.py",
    "src/annexa/guard/engine.py",
    "src/annexa/guard/validators.py",
]


def _remove_in_place_builds() -> None:
    """An editable install builds the extensions beside the sources, where they would go on
    shadowing the Python of a later pure build."""
    root = Path(__file__).resolve().parent / "src"
    for path in COMPILED:
        module = Path(path).stem
        for built in (root / "annexa" / "guard").glob(f"{module}.*.so"):
            built.unlink()
    for shared in root.glob("*__mypyc.*.so"):
        shared.unlink()


def _extensions() -> list:  # type: ignore[type-arg]
    if os.environ.get("ANNEXA_PURE_PYTHON", "") not in ("", "0"):
        _remove_in_place_builds()
        return []
    try:
        from mypyc.build import mypycify
    except ImportError:  # a build without mypy (--no-build-isolation): pure Python
        return []
    # Type-check the compiled modules against the standard library only, so the build is
    # the same whatever is installed already (third-party modules are typed Any).
    options = ["--no-site-packages", "--ignore-missing-imports", "--follow-imports=silent"]
    extensions = mypycify([*options, *COMPILED], opt_level="3", debug_level="0")
    for extension in extensions:
        extension.optional = True  # no compiler: the pure modules stay in use
    return extensions


setup(ext_modules=_extensions())
