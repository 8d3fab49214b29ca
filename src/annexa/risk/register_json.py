"""The risk register as one JSON document, built by SQLite itself where that is faster.

`risk list --json` on a register of 50,000 risks spends most of its time turning rows into
Python objects and those back into JSON. SQLite's json_object writes each risk's document
in C from the same filters, about a third faster; with the SQLite that Annexa ships
(sqlean.py, 3.45 or later) the asset and control arrays are aggregated in order without a
subquery per risk, another quarter off. PostgreSQL's JSON functions (json_build_object,
row_to_json, with per-risk subqueries or grouped joins) were measured slower than four bulk
queries grouped in Python, so there the Python-built list is encoded instead. Either way
the result is the document that :func:`annexa.risk.register.list_risks` returns, which a
test checks on both backends.
"""

from __future__ import annotations

import datetime as dt
from itertools import chain
from operator import itemgetter
from typing import Any

import orjson
from sqlalchemy import and_, case, func, literal, select
from sqlalchemy.orm import Session, aliased

from annexa.risk.register import date_as_text, list_risks, risk_filters
from annexa.store.db import fetch_tuples
from annexa.store.models import Asset, Organisation, Risk, RiskAcceptance, RiskAsset, RiskControl


def register_json(
    session: Session,
    org: Organisation,
    *,
    level: str | None = None,
    owner: str | None = None,
    status: str | None = None,
    treatment: str | None = None,
    overdue: bool | None = None,
    today: dt.date | None = None,
) -> bytes:
    """``{"risks": [...]}`` as UTF-8 JSON and a newline, with the filters of ``list_risks``."""
    today = today or dt.date.today()
    filters: dict[str, Any] = {
        "level": level,
        "owner": owner,
        "status": status,
        "treatment": treatment,
        "overdue": overdue,
    }
    if session.get_bind().dialect.name != "sqlite":
        risks = list_risks(session, org, today=today, **filters)
        return orjson.dumps({"risks": risks}, option=orjson.OPT_APPEND_NEWLINE)
    conditions, wanted_status = risk_filters(org, today=today, **filters)

    later = aliased(RiskAcceptance)
    latest_acceptance = (
        select(later.id)
        .where(later.risk_id == Risk.id)
        .order_by(later.id.desc())
        .limit(1)
        .correlate(Risk)
        .scalar_subquery()
    )
    if wanted_status == "expired":
        conditions.append(
            select(RiskAcceptance.expires_on)
            .where(RiskAcceptance.id == latest_acceptance)
            .correlate(Risk)
            .scalar_subquery()
            < today
        )
    acceptance = (
        select(
            _object(
                {
                    "approver": RiskAcceptance.approver,
                    "accepted_on": date_as_text(RiskAcceptance.accepted_on, "sqlite"),
                    "expires_on": date_as_text(RiskAcceptance.expires_on, "sqlite"),
                    "expired": _boolean(RiskAcceptance.expires_on < today),
                    "rationale": RiskAcceptance.rationale,
                }
            )
        )
        .where(RiskAcceptance.id == latest_acceptance)
        .correlate(Risk)
        .scalar_subquery()
    )
    # ORDER BY inside the aggregate (SQLite 3.44+): no subquery per risk to sort first,
    # and the array keeps its JSON type through the scalar subquery (3.45+).
    assets = (
        select(func.json_group_array(Asset.name).aggregate_order_by(Asset.name))
        .join(RiskAsset, RiskAsset.asset_id == Asset.id)
        .where(RiskAsset.risk_id == Risk.id)
        .correlate(Risk)
        .scalar_subquery()
    )
    controls = (
        select(
            func.json_group_array(RiskControl.framework + ":" + RiskControl.ref).aggregate_order_by(
                RiskControl.id
            )
        )
        .where(RiskControl.risk_id == Risk.id)
        .correlate(Risk)
        .scalar_subquery()
    )
    document = _object(
        {
            "ref": Risk.ref,
            "title": Risk.title,
            "description": Risk.description,
            "framework": Risk.framework,
            "threat_id": Risk.threat_id,
            "threat": Risk.threat,
            "vulnerability": Risk.vulnerability,
            "owner": Risk.owner,
            "assets": assets,
            "inherent": _object(
                {
                    "likelihood": Risk.inherent_likelihood,
                    "impact": Risk.inherent_impact,
                    "score": Risk.inherent_score,
                    "level": Risk.inherent_level,
                }
            ),
            "residual": _object(
                {
                    "likelihood": Risk.residual_likelihood,
                    "impact": Risk.residual_impact,
                    "score": Risk.residual_score,
                    "level": Risk.residual_level,
                }
            ),
            "treatment": Risk.treatment,
            "treatment_plan": Risk.treatment_plan,
            "controls": controls,
            "status": Risk.status,
            "due_date": date_as_text(Risk.due_date, "sqlite"),
            "review_date": date_as_text(Risk.review_date, "sqlite"),
            "review_overdue": _boolean(
                and_(Risk.review_date.is_not(None), Risk.review_date < today)
            ),
            "acceptance": _nested(case((Risk.status == "accepted", acceptance))),
        }
    )
    statement = select(document).where(Risk.org_id == org.id, *conditions).order_by(Risk.id)
    # One small JSON text per risk, joined here: aggregating in the database would make
    # SQLite parse every document a second time.
    # Fetched from the DBAPI cursor in one call: SQLAlchemy's row-by-row iteration was a
    # tenth of the command for values that are plain text.
    rows = fetch_tuples(session.connection(), statement)
    return ('{"risks":[' + ",".join(map(itemgetter(0), rows)) + "]}\n").encode()


# SQLite passes JSON between its json functions as text tagged with a subtype; a value that
# travels through a subquery or CASE loses the tag, so json() tags it again.
def _object(fields: dict[str, Any]) -> Any:
    return func.json_object(*chain.from_iterable(fields.items()))


def _nested(value: Any) -> Any:
    return func.json(value)


def _boolean(condition: Any) -> Any:
    return func.json(case((condition, literal("true")), else_=literal("false")))
