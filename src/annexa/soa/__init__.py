"""The Statement of Applicability (ISO/IEC 27001:2022 6.1.3 d, ISO/IEC 42001:2023 6.1.3).

Names are imported on first use: showing the SoA (:mod:`annexa.soa.view`) never loads the
ORM that recording decisions and publishing versions need.
"""

from __future__ import annotations

from annexa.lazy import lazy_exports

_HOMES = {
    "DEFAULT_FRAMEWORK": "annexa.soa.entries",
    "REASONS": "annexa.soa.entries",
    "STATUSES": "annexa.soa.entries",
    "linked_risks": "annexa.soa.entries",
    "soa_entries": "annexa.soa.entries",
    "soa_entry": "annexa.soa.entries",
    "summarise": "annexa.soa.entries",
    "FORMATS": "annexa.soa.export",
    "export": "annexa.soa.export",
    "record_treatment_controls": "annexa.soa.service",
    "set_decision": "annexa.soa.service",
    "set_status": "annexa.soa.service",
    "diff": "annexa.soa.versions",
    "entries_at": "annexa.soa.versions",
    "get_version": "annexa.soa.versions",
    "list_versions": "annexa.soa.versions",
    "publish": "annexa.soa.versions",
    "version_summary": "annexa.soa.versions",
    "soa_view": "annexa.soa.view",
}

__all__ = sorted(_HOMES)

__getattr__, __dir__ = lazy_exports(__name__, _HOMES)
