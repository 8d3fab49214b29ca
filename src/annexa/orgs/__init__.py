"""Organisations: the tenants every record belongs to.

Names are imported on first use: the lookups a read-only report needs never load the ORM.
"""

from __future__ import annotations

import importlib
from typing import Any

_HOMES = {
    "OrgRecord": "annexa.orgs.lookup",
    "find_organisation": "annexa.orgs.lookup",
    "organisation_id": "annexa.orgs.lookup",
    "organisation_record": "annexa.orgs.lookup",
    "create_organisation": "annexa.orgs.service",
    "list_organisations": "annexa.orgs.service",
    "resolve_organisation": "annexa.orgs.service",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'annexa.orgs' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
