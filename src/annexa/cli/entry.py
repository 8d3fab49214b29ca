"""The `annexa` console script: the command line imported with the garbage collector paused.

Importing the command line (SQLAlchemy, the models, Typer) creates some hundreds of
thousands of long-lived objects and no garbage; the cyclic collector would walk them again
and again while they are being created, about a twentieth of every command's start-up.
Freezing them afterwards keeps later collections (and interpreter exit) from walking them
at all. Only the console script does this: code that imports ``annexa.cli`` as a library
keeps the collector as it was.
"""

from __future__ import annotations

import gc
from collections.abc import Callable


def load_cli() -> Callable[[list[str] | None], None]:
    """:func:`annexa.cli.main.run`, imported with the collector paused."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        from annexa.cli.main import run
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()
    return run


def main() -> None:
    load_cli()(None)
