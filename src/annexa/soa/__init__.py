"""The Statement of Applicability (ISO/IEC 27001:2022 6.1.3 d, ISO/IEC 42001:2023 6.1.3)."""

from annexa.soa.export import FORMATS, export
from annexa.soa.service import (
    DEFAULT_FRAMEWORK,
    REASONS,
    STATUSES,
    linked_risks,
    record_treatment_controls,
    set_decision,
    set_status,
    soa_entries,
    soa_entry,
    summarise,
)
from annexa.soa.versions import (
    diff,
    entries_at,
    get_version,
    list_versions,
    publish,
    soa_view,
    version_summary,
)

__all__ = [
    "DEFAULT_FRAMEWORK",
    "FORMATS",
    "REASONS",
    "STATUSES",
    "diff",
    "entries_at",
    "export",
    "get_version",
    "linked_risks",
    "list_versions",
    "publish",
    "record_treatment_controls",
    "set_decision",
    "set_status",
    "soa_entries",
    "soa_entry",
    "soa_view",
    "summarise",
    "version_summary",
]
