"""Organisations: the tenants every record belongs to.

Names are imported on first use: the lookups a read-only report needs never load the ORM.
"""

from __future__ import annotations

from annexa.lazy import lazy_exports

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

__getattr__, __dir__ = lazy_exports(__name__, _HOMES)
