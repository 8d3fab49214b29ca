"""Creating, listing and loading organisations (the tenants every record belongs to)."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from annexa.errors import Conflict, InvalidInput
from annexa.orgs.lookup import find_organisation
from annexa.store.models import Organisation
from annexa.validation import optional_text, require_text, slugify


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
    return find_organisation(session, wanted, Organisation)[0]
