"""The built-in data files: one listing for the loader that validates them and for the
cache whose name is a digest of them (which must not import the YAML reader)."""

from __future__ import annotations

from importlib import resources

DATA_PACKAGE = "annexa.catalog"
FOLDERS = ("frameworks", "mappings")


def data_files(folder: str) -> list[tuple[str, str]]:
    """``("<folder>/<file name>", text)`` of each YAML file in ``data/<folder>``, by name."""
    root = resources.files(DATA_PACKAGE).joinpath("data", folder)
    files = [entry for entry in root.iterdir() if entry.name.endswith((".yaml", ".yml"))]
    return [
        (f"{folder}/{entry.name}", entry.read_text(encoding="utf-8"))
        for entry in sorted(files, key=lambda e: e.name)
    ]
