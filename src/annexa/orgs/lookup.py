"""Finding the organisation a command works on: the rules of every ``--org``.

Built on the table alone, so that read-only reports (``risk list --json``, ``soa show``,
``status``) find it without importing the ORM (see :mod:`annexa.store.tables`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeAlias

from sqlalchemy import Connection, Row, func, or_, select

from annexa.errors import InvalidInput, NotFound
from annexa.store.tables import organisation
from annexa.validation import plain_number

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from annexa.store.models import Organisation

# An organisation as a loaded object or as its plain row (``organisation_record``): what
# read-only reports take, since they read its columns only.
OrgRecord: TypeAlias = "Organisation | Row[Any]"


def organisation_id(db: Connection | Session, wanted: str | None) -> int:
    """The id of the organisation ``wanted`` names (see :func:`find_organisation`)."""
    return find_organisation(db, wanted, organisation.c.id).id


def organisation_record(db: Connection | Session, wanted: str | None) -> Row[Any]:
    """The row of the organisation ``wanted`` names: its columns as attributes (``.id``,
    ``.name``, ``.risk_matrix``, …) like an ``Organisation``, for read-only reports."""
    return find_organisation(db, wanted, organisation)


def find_organisation(db: Connection | Session, wanted: str | None, what: Any) -> Row[Any]:
    """The row of ``select(what)`` for the organisation ``wanted`` names (slug, name or id),
    or for the only one when it names none: the rules of every ``--org``, in one query."""
    if wanted:
        number = plain_number(wanted)
        found = db.execute(
            select(what).where(
                organisation.c.id == number
                if number is not None
                else or_(organisation.c.slug == wanted, organisation.c.name == wanted)
            )
        ).first()
        if found is None:
            raise NotFound(
                f"no organisation {wanted!r}",
                field="--org",
                fix="see `annexa org list` for the organisations in this database",
            )
        return found
    rows = db.execute(select(what).limit(2)).all()
    if not rows:
        raise NotFound(
            "this database has no organisation yet",
            field="--org",
            fix="run `annexa org add NAME` or `annexa demo`",
        )
    if len(rows) > 1:
        count = db.execute(select(func.count()).select_from(organisation)).scalar_one()
        raise InvalidInput(
            f"this database holds {count} organisations",
            field="--org",
            fix="pass --org SLUG (see `annexa org list`)",
        )
    return rows[0]
