"""Packages whose names are imported on first use.

A package that re-exports its modules' names eagerly makes every importer pay for all of
them: ``annexa.risk`` would load the catalogs, the audit log and pydantic for a command
that only lists the register, ``annexa.soa`` the ORM for one that only shows the SoA.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any


def lazy_exports(
    package: str, homes: dict[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A package's ``__getattr__`` and ``__dir__`` for ``homes`` (name -> home module): a
    name is imported from its home when first asked for, then kept in the package."""

    def __getattr__(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(home), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(homes)

    return __getattr__, __dir__
