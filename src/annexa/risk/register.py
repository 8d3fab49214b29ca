"""Reading the risk register: filters, and the register as plain dicts, fast at any size.

Kept apart from :mod:`annexa.risk.service` so that listing a register of 50,000 risks
imports only SQLAlchemy Core and the tables, not the ORM, the catalogs, the audit log and
pydantic.
"""

from __future__ import annotations

import datetime as dt
import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, String, cast, func, or_, select

from annexa.store.alongside import fetched_alongside
from annexa.store.db import core_connection, fetch_tuples
from annexa.store.tables import asset, risk, risk_acceptance, risk_asset, risk_control
from annexa.validation import choice, require_text

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from annexa.orgs.lookup import OrgRecord

DEFAULT_FRAMEWORK = "iso27001-2022"
TREATMENTS: tuple[str, ...] = ("modify", "retain", "avoid", "share")
STATUSES: tuple[str, ...] = ("identified", "assessed", "treated", "accepted")
# "expired" is not stored: it is an accepted risk whose acceptance has lapsed.
STATUS_FILTERS: tuple[str, ...] = (*STATUSES, "expired")

_COLUMNS = (
    risk.c.id,
    risk.c.ref,
    risk.c.title,
    risk.c.description,
    risk.c.threat_id,
    risk.c.threat,
    risk.c.vulnerability,
    risk.c.owner,
    risk.c.framework,
    risk.c.inherent_likelihood,
    risk.c.inherent_impact,
    risk.c.inherent_score,
    risk.c.inherent_level,
    risk.c.residual_likelihood,
    risk.c.residual_impact,
    risk.c.residual_score,
    risk.c.residual_level,
    risk.c.treatment,
    risk.c.treatment_plan,
    risk.c.status,
)


def date_as_text(column: Any, dialect: str) -> Any:
    """A date column as ISO text, whatever the session's DateStyle.

    Dates travel as text because parsing 100,000 dates only to format them again would
    cost more than the rest of a large listing.
    """
    if dialect == "postgresql":
        return func.to_char(column, "YYYY-MM-DD")
    return cast(column, String)  # SQLite already stores ISO text


@contextmanager
def _gc_paused() -> Iterator[None]:
    # Building hundreds of thousands of small containers triggers the cyclic collector
    # over and over although none of them can form a cycle; pausing it saves a quarter.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def collect(
    db: Connection | Session, org_id: int, conditions: Sequence[Any], today: dt.date
) -> list[dict[str, Any]]:
    """Risk dicts from four column queries, however many risks there are.

    ORM loading of 50,000 risks with their links takes seconds; plain rows grouped in
    Python take a fraction of that on SQLite and PostgreSQL alike.
    """
    with _gc_paused():
        return _collect_rows(db, org_id, conditions, today)


def _collect_rows(
    db: Connection | Session, org_id: int, conditions: Sequence[Any], today: dt.date
) -> list[dict[str, Any]]:
    # Core execution on the session's connection: the ORM result layer would wrap every
    # row again for nothing, which costs a third of the time on a large register.
    connection = core_connection(db)
    where = [risk.c.org_id == org_id, *conditions]
    dialect = connection.dialect.name
    columns = (
        *_COLUMNS,
        date_as_text(risk.c.due_date, dialect),
        date_as_text(risk.c.review_date, dialect),
    )
    narrowed = bool(conditions)
    chosen_ids = select(risk.c.id).where(*where)

    control_query = select(
        risk_control.c.risk_id, risk_control.c.framework + ":" + risk_control.c.ref
    ).where(risk_control.c.org_id == org_id)
    asset_query = (
        select(risk_asset.c.risk_id, asset.c.name)
        .join(asset, asset.c.id == risk_asset.c.asset_id)
        .where(asset.c.org_id == org_id)
    )
    acceptance_query = select(
        risk_acceptance.c.risk_id,
        risk_acceptance.c.approver,
        date_as_text(risk_acceptance.c.accepted_on, dialect),
        date_as_text(risk_acceptance.c.expires_on, dialect),
        risk_acceptance.c.rationale,
    ).where(risk_acceptance.c.org_id == org_id)
    if narrowed:
        control_query = control_query.where(risk_control.c.risk_id.in_(chosen_ids))
        asset_query = asset_query.where(risk_asset.c.risk_id.in_(chosen_ids))
        acceptance_query = acceptance_query.where(risk_acceptance.c.risk_id.in_(chosen_ids))
    link_queries = (
        control_query.order_by(risk_control.c.id),
        asset_query,
        acceptance_query.order_by(risk_acceptance.c.id),
    )
    # On PostgreSQL the links come over a second connection with the same snapshot while
    # this one fetches the risks: the server's time and the conversion of rows overlap.
    with fetched_alongside(connection, link_queries) as fetch_links:
        rows = fetch_tuples(connection, select(*columns).where(*where).order_by(risk.c.id))
        if not rows:
            return []
        control_rows, asset_rows, acceptance_rows = fetch_links()

    controls: dict[int, list[str]] = {}
    for risk_id, key in control_rows:
        controls.setdefault(risk_id, []).append(key)
    assets: dict[int, list[str]] = {}
    for risk_id, name in asset_rows:
        assets.setdefault(risk_id, []).append(name)
    for names in assets.values():
        if len(names) > 1:
            names.sort()
    today_text = today.isoformat()
    acceptances: dict[int, dict[str, Any]] = {}
    for risk_id, approver, accepted_on, expires_on, rationale in acceptance_rows:
        acceptances[risk_id] = {  # ordered by id: the latest wins
            "approver": approver,
            "accepted_on": accepted_on,
            "expires_on": expires_on,
            "expired": expires_on < today_text,  # ISO dates compare as text
            "rationale": rationale,
        }

    result = []
    for row in rows:
        (
            risk_id,
            ref,
            title,
            description,
            threat_id,
            threat,
            vulnerability,
            owner,
            framework,
            i_lk,
            i_im,
            i_score,
            i_level,
            r_lk,
            r_im,
            r_score,
            r_level,
            treatment,
            treatment_plan,
            status,
            due_date,
            review_date,
        ) = row
        result.append(
            {
                "ref": ref,
                "title": title,
                "description": description,
                "framework": framework,
                "threat_id": threat_id,
                "threat": threat,
                "vulnerability": vulnerability,
                "owner": owner,
                "assets": assets.get(risk_id) or [],
                "inherent": {
                    "likelihood": i_lk,
                    "impact": i_im,
                    "score": i_score,
                    "level": i_level,
                },
                "residual": {
                    "likelihood": r_lk,
                    "impact": r_im,
                    "score": r_score,
                    "level": r_level,
                },
                "treatment": treatment,
                "treatment_plan": treatment_plan,
                "controls": controls.get(risk_id) or [],
                "status": status,
                "due_date": due_date,
                "review_date": review_date,
                "review_overdue": review_date is not None and review_date < today_text,
                # Only an acceptance that still covers the current rating is shown.
                "acceptance": acceptances.get(risk_id) if status == "accepted" else None,
            }
        )
    return result


def list_risks(
    db: Connection | Session,
    org: OrgRecord,
    *,
    level: str | None = None,
    owner: str | None = None,
    status: str | None = None,
    treatment: str | None = None,
    overdue: bool | None = None,
    today: dt.date | None = None,
) -> list[dict[str, Any]]:
    """The register as dicts, filtered; ``level`` is the current (residual, else inherent)."""
    today = today or dt.date.today()
    conditions, wanted_status = risk_filters(
        org.risk_matrix,
        level=level,
        owner=owner,
        status=status,
        treatment=treatment,
        overdue=overdue,
        today=today,
    )
    risks = collect(db, org.id, conditions, today)
    if wanted_status == "expired":
        risks = [r for r in risks if r["acceptance"] and r["acceptance"]["expired"]]
    return risks


def risk_filters(
    risk_matrix: dict[str, Any] | None,
    *,
    level: str | None = None,
    owner: str | None = None,
    status: str | None = None,
    treatment: str | None = None,
    overdue: bool | None = None,
    today: dt.date,
) -> tuple[list[Any], str | None]:
    """SQL conditions for the list filters, and the status asked for (``expired`` included).

    ``risk_matrix`` is the organisation's stored matrix (for the level names). The conditions
    name table columns, so they serve ORM queries and plain SQL ones alike."""
    columns = risk.c
    conditions: list[Any] = []
    if level is not None:
        from annexa.risk.matrix import matrix_of  # pydantic: only when filtering by level

        name = matrix_of(risk_matrix).level_name(level, "--level")
        conditions.append(func.coalesce(columns.residual_level, columns.inherent_level) == name)
    if owner is not None:
        conditions.append(func.lower(columns.owner) == require_text(owner, "--owner").lower())
    wanted_status = None
    if status is not None:
        wanted_status = choice(status, "--status", STATUS_FILTERS)
        stored = "accepted" if wanted_status == "expired" else wanted_status
        conditions.append(columns.status == stored)
    if treatment is not None:
        wanted = choice(treatment, "--treatment", (*TREATMENTS, "none"))
        conditions.append(
            columns.treatment.is_(None) if wanted == "none" else columns.treatment == wanted
        )
    if overdue is True:
        conditions.append(columns.review_date < today)
    elif overdue is False:
        conditions.append(or_(columns.review_date.is_(None), columns.review_date >= today))
    return conditions, wanted_status


def current_level(risk: dict[str, Any]) -> str | None:
    return risk["residual"]["level"] or risk["inherent"]["level"]
