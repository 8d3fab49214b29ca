"""The built-in frameworks, validated once per content and then read back as checked.

Parsing the YAML and validating it with the pydantic schema cost more than the rest of a
small command (`status`, `soa show`): importing pydantic and building the schema alone
took a tenth of a second. A successful validation is therefore written to the user's
cache folder, as JSON named after a digest of every built-in data file (frameworks and
mappings, which are checked against the frameworks) and of the Annexa version. Any
change to a data file, an added one or an upgrade gives a new name and a new validation;
a cache file that is missing, unreadable or not what it should be is ignored and written
again. Nothing fails because the cache folder is not writable: the catalogs are then
validated on every run, as before.

``ANNEXA_CACHE_DIR`` chooses the folder (default ``$XDG_CACHE_HOME/annexa``, else
``~/.cache/annexa``); ``ANNEXA_CACHE_DIR=off`` turns the cache off.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any

import orjson

from annexa import __version__
from annexa.catalog.data import FOLDERS, data_files
from annexa.catalog.models import Framework

CACHE_FORMAT = 1


def cache_dir() -> Path | None:
    chosen = os.environ.get("ANNEXA_CACHE_DIR", "").strip()
    if chosen.lower() == "off":
        return None
    if chosen:
        return Path(chosen).expanduser()
    base = os.environ.get("XDG_CACHE_HOME", "").strip()
    return (Path(base) if base else Path.home() / ".cache") / "annexa"


def data_digest() -> str:
    """A digest of every built-in data file (name and content) and of this version."""
    digest = hashlib.sha256(f"annexa {__version__} catalog cache {CACHE_FORMAT}\n".encode())
    for folder in FOLDERS:
        for name, text in data_files(folder):
            content = text.encode()
            digest.update(f"{name} {len(content)}\n".encode())
            digest.update(content)
    return digest.hexdigest()


def builtin_framework_views() -> dict[str, Framework]:
    """The built-in frameworks by id: from the cache when it holds this content's
    validated result, else validated now (and the result cached)."""
    folder = cache_dir()
    digest = data_digest()
    path = folder / f"catalogs-{digest[:32]}.json" if folder else None
    if path is not None:
        cached = _read(path, digest)
        if cached is not None:
            return cached
    frameworks = _validated()
    if path is not None:
        _write(path, digest, frameworks)
    return frameworks


def _validated() -> dict[str, Framework]:
    from annexa.catalog.loader import builtin_frameworks, builtin_mappings

    docs = builtin_frameworks()
    builtin_mappings()  # the mapping files are checked against the frameworks too
    return {fid: Framework.from_doc(doc, builtin=True) for fid, doc in docs.items()}


def _read(path: Path, digest: str) -> dict[str, Framework] | None:
    try:
        data = orjson.loads(path.read_bytes())
        if data.get("digest") != digest:
            return None
        return {item["id"]: Framework.from_dict(item) for item in data["frameworks"]}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None  # absent or damaged: validate again


def _write(path: Path, digest: str, frameworks: dict[str, Framework]) -> None:
    document: dict[str, Any] = {
        "digest": digest,
        "frameworks": [framework.to_dict() for framework in frameworks.values()],
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written beside the target and renamed over it: a reader sees the old file or
        # the whole new one, never half of it.
        handle, temporary = tempfile.mkstemp(prefix=".catalogs-", dir=path.parent)
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(orjson.dumps(document))
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError:
        pass  # a read-only home: validate on every run instead
