"""The risk register as one JSON document, read from the documents the database keeps.

Each risk row carries its register document without the closing brace (``risk.listing``,
rendered by triggers whenever the risk, its links or a linked asset's name change). A
listing appends the two fields that depend on the day, the review being overdue and the
acceptance in force, and joins the rows: on a register of 50,000 risks that is a fifth of
the time of building the documents on every call. The result is the document that
:func:`annexa.risk.register.list_risks` returns, which tests check on both backends after
every kind of write.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import Connection, Text, and_, case, cast, func, literal, select

from annexa.risk.register import date_as_text, list_risks, risk_filters
from annexa.store.db import core_connection, fetch_tuples
from annexa.store.tables import organisation, risk, risk_acceptance

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

# Risks per piece of output: pieces of ~600 KB reuse the same memory, where one document
# of 32 MB cost as much in fresh pages as in copying.
PIECE = 1024


def register_json(
    db: Connection | Session,
    org_id: int,
    *,
    level: str | None = None,
    owner: str | None = None,
    status: str | None = None,
    treatment: str | None = None,
    overdue: bool | None = None,
    today: dt.date | None = None,
) -> Iterator[bytes]:
    """``{"risks": [...]}`` as UTF-8 JSON and a newline, with the filters of ``list_risks``,
    in pieces to write one after the other (``b"".join`` makes the document).

    The register is read before this returns; the pieces are encoded as they are taken.
    Built on the tables alone: with :func:`annexa.orgs.organisation_id` and a Core
    connection, a command that lists the register never imports the ORM.
    """
    connection = core_connection(db)
    today = today or dt.date.today()
    filters: dict[str, Any] = {
        "level": level,
        "owner": owner,
        "status": status,
        "treatment": treatment,
        "overdue": overdue,
    }
    risk_matrix = None
    if level is not None:  # the level names come from the organisation's matrix
        risk_matrix = connection.execute(
            select(organisation.c.risk_matrix).where(organisation.c.id == org_id)
        ).scalar()
    conditions, wanted_status = risk_filters(risk_matrix, today=today, **filters)
    dialect = connection.dialect.name

    risks = risk.c
    acceptances = risk_acceptance.c
    later = risk_acceptance.alias().c
    latest_acceptance = (
        select(later.id)
        .where(later.risk_id == risks.id)
        .order_by(later.id.desc())
        .limit(1)
        .correlate(risk)
        .scalar_subquery()
    )
    if wanted_status == "expired":
        conditions.append(
            select(acceptances.expires_on)
            .where(acceptances.id == latest_acceptance)
            .correlate(risk)
            .scalar_subquery()
            < today
        )
    acceptance = (
        select(
            _object(
                dialect,
                {
                    "approver": acceptances.approver,
                    "accepted_on": date_as_text(acceptances.accepted_on, dialect),
                    "expires_on": date_as_text(acceptances.expires_on, dialect),
                    "expired": _Raw(_boolean(acceptances.expires_on < today)),
                    "rationale": acceptances.rationale,
                },
            )
        )
        .where(acceptances.id == latest_acceptance)
        .correlate(risk)
        .scalar_subquery()
    )
    # Only an acceptance that still covers the current rating is shown.
    accepted = case((risks.status == "accepted", func.coalesce(acceptance, "null")), else_="null")
    overdue_review = _boolean(and_(risks.review_date.is_not(None), risks.review_date < today))
    document = (
        risks.listing + ',"review_overdue":' + overdue_review + ',"acceptance":' + accepted + "}"
    )
    statement = select(document).where(risks.org_id == org_id, *conditions).order_by(risks.id)
    # Fetched from the DBAPI cursor in one call: SQLAlchemy's row-by-row iteration was a
    # tenth of the command for values that are plain text.
    documents = [row[0] for row in fetch_tuples(connection, statement)]
    if None in documents:
        # A row the triggers never rendered (written with them disabled): build it all here.
        org = connection.execute(select(organisation).where(organisation.c.id == org_id)).first()
        listed = list_risks(connection, org, today=today, **filters) if org else []
        return iter([orjson.dumps({"risks": listed}, option=orjson.OPT_APPEND_NEWLINE)])
    return _pieces(documents)


def _pieces(documents: list[str]) -> Iterator[bytes]:
    yield b'{"risks":['
    for start in range(0, len(documents), PIECE):
        separator = "," if start else ""
        yield (separator + ",".join(documents[start : start + PIECE])).encode()
    yield b"]}\n"


class _Raw:
    """An SQL expression whose text is already JSON (``true``, ``false``)."""

    def __init__(self, expression: Any) -> None:
        self.expression = expression


def _object(dialect: str, fields: dict[str, Any]) -> Any:
    """A compact JSON object as text, members in the order given."""
    if dialect == "sqlite":
        # json() marks raw text as JSON, or json_object would quote it as a string.
        values = [func.json(v.expression) if isinstance(v, _Raw) else v for v in fields.values()]
        return func.json_object(
            *[part for pair in zip(fields, values, strict=True) for part in pair]
        )
    # PostgreSQL's json_build_object writes " : " and ", " between members.
    text: Any = literal("{")
    for number, (key, value) in enumerate(fields.items()):
        text = text + ("," if number else "") + orjson.dumps(key).decode() + ":"
        if isinstance(value, _Raw):
            text = text + value.expression
        else:
            text = text + func.coalesce(cast(func.to_json(value), Text), "null")
    return text + "}"


def _boolean(condition: Any) -> Any:
    return case((condition, literal("true")), else_=literal("false"))
