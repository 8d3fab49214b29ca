"""The SoA as it is shown and exported: the current decisions or a published version.

Read with Core alone (see :mod:`annexa.soa.entries`), so ``soa show`` never imports the ORM.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Row, select

from annexa.errors import NotFound
from annexa.soa.entries import filter_entries, soa_entries, soa_framework, summarise
from annexa.store.tables import soa_version

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from annexa.catalog import Framework
    from annexa.orgs.lookup import OrgRecord
    from annexa.store.models import SoaVersion


def soa_view(
    db: Connection | Session,
    org: OrgRecord,
    framework: str | None,
    *,
    version: int | None = None,
    group: str | None = None,
    status: str | None = None,
) -> dict[str, Any]:
    """The SoA as ``soa show --json`` prints it and every export writes it: the current
    decisions, or a published version (``version``), optionally filtered. ``org`` may be
    the organisation's plain row (``orgs.organisation_record``)."""
    fw = soa_framework(framework)
    published = _published(db, org.id, fw.id, version) if version is not None else None
    entries = list(published.entries) if published else soa_entries(db, org.id, fw.id)
    return soa_document(fw, org, entries, published, group=group, status=status)


def soa_document(
    fw: Framework,
    org: OrgRecord,
    entries: list[dict[str, Any]],
    published: Row[Any] | SoaVersion | None = None,
    *,
    group: str | None = None,
    status: str | None = None,
) -> dict[str, Any]:
    """The SoA document around ``entries`` (filtered here): what :func:`soa_view` returns,
    and the web page's current SoA, whose entries count their risks instead."""
    entries = filter_entries(fw, entries, group=group, status=status)
    control_groups = {c.group for c in fw.controls()}
    return {
        "framework": fw.id,
        "framework_name": fw.name,
        "organisation": org.name,
        "version": published.number if published else None,
        "published_at": published.published_at.isoformat(timespec="seconds") if published else None,
        "published_by": published.published_by if published else None,
        "note": published.note if published else None,
        "filters": {"group": group, "status": status},
        "groups": {g.id: g.title for g in fw.groups if g.id in control_groups},
        "entries": entries,
        "summary": summarise(entries),
    }


def _published(db: Connection | Session, org_id: int, framework: str, number: int) -> Row[Any]:
    """A published version's row (read as a ``SoaVersion``'s attributes)."""
    found = db.execute(
        select(soa_version).where(
            soa_version.c.org_id == org_id,
            soa_version.c.framework == framework,
            soa_version.c.number == number,
        )
    ).first()
    if found is None:
        raise no_such_version(framework, number)
    return found


def no_such_version(framework: str, number: int) -> NotFound:
    return NotFound(
        f"the {framework} SoA has no published version {number}",
        field="--version",
        fix=f"see `annexa soa versions --framework {framework}`",
    )
