from __future__ import annotations

from typing import Any

from sqlalchemy import Row, func, or_, select
from sqlalchemy.orm import Session

from annexa.errors import Conflict, InvalidInput, NotFound
from annexa.store.models import Organisation
from annexa.validation import optional_text, plain_number, require_text, slugify

# An organisation as a loaded object or as its plain row (``organisation_record``): what
# read-only reports take, since they read its columns only.
OrgRecord = Organisation | Row[Any]


def create_organisation(
    session: Session,
    name: str,
    *,
    slug: str | None = None,
    sector: str | None = None,
    headcount: int | None = None,
    scope_statement: str | None = None,
) -> Organisation:
    name = require_text(name, "name")
    slug = slugify(slug or name)
    clash = session.scalar(
        select(Organisation).where(or_(Organisation.name == name, Organisation.slug == slug))
    )
    if clash is not None:
        raise Conflict(
            f"an organisation called {clash.name!r} (slug {clash.slug!r}) already exists",
            field="name",
            fix="choose another name, or pass --org to work on the existing one",
        )
    if headcount is not None and headcount < 1:
        raise InvalidInput("must be at least 1", field="headcount", fix="pass a positive number")
    org = Organisation(
        name=name,
        slug=slug,
        sector=optional_text(sector, "sector", max_length=100),
        headcount=headcount,
        scope_statement=optional_text(scope_statement, "scope_statement"),
    )
    session.add(org)
    session.flush()
    return org


def list_organisations(session: Session) -> list[Organisation]:
    return list(session.scalars(select(Organisation).order_by(Organisation.name)))


def resolve_organisation(session: Session, wanted: str | None) -> Organisation:
    """The organisation named by slug, name or id; without one, the only one there is."""
    return _find(session, wanted, Organisation)[0]


def organisation_id(session: Session, wanted: str | None) -> int:
    """The id of the organisation :func:`resolve_organisation` finds, read from the table
    alone: a read built on SQL expressions (the risk register document) then never sets up
    the ORM's mappings, a twentieth of a second on each command that can do without them."""
    return _find(session, wanted, Organisation.__table__.c.id).id


def organisation_record(session: Session, wanted: str | None) -> Row[Any]:
    """The row of the organisation :func:`resolve_organisation` finds: its columns as
    attributes (``.id``, ``.name``, ``.risk_matrix``, …) like an :class:`Organisation`, for
    read-only reports that never set up the ORM (see :func:`organisation_id`)."""
    return _find(session, wanted, Organisation.__table__)


def _find(session: Session, wanted: str | None, what: Any) -> Row[Any]:
    """The row of ``select(what)`` for the organisation ``wanted`` names (slug, name or id),
    or for the only one when it names none: the rules of every ``--org``, in one query."""
    table = Organisation.__table__
    if wanted:
        number = plain_number(wanted)
        found = session.execute(
            select(what).where(
                table.c.id == number
                if number is not None
                else or_(table.c.slug == wanted, table.c.name == wanted)
            )
        ).first()
        if found is None:
            raise _no_such_organisation(wanted)
        return found
    rows = session.execute(select(what).limit(2)).all()
    if not rows:
        raise NotFound(
            "this database has no organisation yet",
            field="--org",
            fix="run `annexa org add NAME` or `annexa demo`",
        )
    if len(rows) > 1:
        count = session.execute(select(func.count()).select_from(table)).scalar_one()
        raise InvalidInput(
            f"this database holds {count} organisations",
            field="--org",
            fix="pass --org SLUG (see `annexa org list`)",
        )
    return rows[0]


def _no_such_organisation(wanted: str | None) -> NotFound:
    return NotFound(
        f"no organisation {wanted!r}",
        field="--org",
        fix="see `annexa org list` for the organisations in this database",
    )
