"""Organisations (tenants): creating them and choosing which one a command works on."""

from annexa.orgs.service import (
    create_organisation,
    list_organisations,
    organisation_id,
    organisation_record,
    resolve_organisation,
)

__all__ = [
    "create_organisation",
    "list_organisations",
    "organisation_id",
    "organisation_record",
    "resolve_organisation",
]
