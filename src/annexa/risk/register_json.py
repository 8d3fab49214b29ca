"""The risk register as one JSON document built by the database itself.

`risk list --json` on a register of 50,000 risks spends most of its time turning rows into
Python objects and those back into JSON. SQLite (json_object) and PostgreSQL
(json_build_object) can write the document directly, in C, from the same filters. The
result is the same document that :func:`annexa.risk.service.list_risks` returns, which a
test checks on both backends.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import String, Text, and_, case, cast, func, literal, literal_column, select, true
from sqlalchemy.orm import Session, aliased

from annexa.risk.service import risk_filters
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
) -> str:
    """``{"risks": [...]}`` as JSON text, with the filters of ``list_risks``."""
    today = today or dt.date.today()
    conditions, wanted_status = risk_filters(
        org,
        level=level,
        owner=owner,
        status=status,
        treatment=treatment,
        overdue=overdue,
        today=today,
    )
    dialect = session.get_bind().dialect.name
    build = _Postgres() if dialect == "postgresql" else _Sqlite()

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
            build.object(
                "approver",
                RiskAcceptance.approver,
                "accepted_on",
                build.day(RiskAcceptance.accepted_on),
                "expires_on",
                build.day(RiskAcceptance.expires_on),
                "expired",
                build.boolean(RiskAcceptance.expires_on < today),
                "rationale",
                RiskAcceptance.rationale,
            )
        )
        .where(RiskAcceptance.id == latest_acceptance)
        .correlate(Risk)
        .scalar_subquery()
    )
    assets = build.array_of(
        select(Asset.name)
        .join(RiskAsset, RiskAsset.asset_id == Asset.id)
        .where(RiskAsset.risk_id == Risk.id)
        .order_by(Asset.name)
        .correlate(Risk)
    )
    controls = build.array_of(
        select((RiskControl.framework + ":" + RiskControl.ref).label("control"))
        .where(RiskControl.risk_id == Risk.id)
        .order_by(RiskControl.id)
        .correlate(Risk)
    )
    document = build.object(
        "ref",
        Risk.ref,
        "title",
        Risk.title,
        "description",
        Risk.description,
        "framework",
        Risk.framework,
        "threat_id",
        Risk.threat_id,
        "threat",
        Risk.threat,
        "vulnerability",
        Risk.vulnerability,
        "owner",
        Risk.owner,
        "assets",
        assets,
        "inherent",
        build.object(
            "likelihood",
            Risk.inherent_likelihood,
            "impact",
            Risk.inherent_impact,
            "score",
            Risk.inherent_score,
            "level",
            Risk.inherent_level,
        ),
        "residual",
        build.object(
            "likelihood",
            Risk.residual_likelihood,
            "impact",
            Risk.residual_impact,
            "score",
            Risk.residual_score,
            "level",
            Risk.residual_level,
        ),
        "treatment",
        Risk.treatment,
        "treatment_plan",
        Risk.treatment_plan,
        "controls",
        controls,
        "status",
        Risk.status,
        "due_date",
        build.day(Risk.due_date),
        "review_date",
        build.day(Risk.review_date),
        "review_overdue",
        build.boolean(and_(Risk.review_date.is_not(None), Risk.review_date < today)),
        "acceptance",
        build.nested(case((Risk.status == "accepted", acceptance))),
    )
    statement = (
        select(build.text(document)).where(Risk.org_id == org.id, *conditions).order_by(Risk.id)
    )
    # One small JSON text per risk, joined here: aggregating in the database would make
    # SQLite parse every document a second time.
    texts = session.connection().execute(statement).scalars()
    return '{"risks":[' + ",".join(texts) + "]}"


class _Sqlite:
    # SQLite passes JSON between its json functions as text tagged with a subtype; a value
    # that travels through a subquery or CASE loses the tag, so json() re-tags it.
    def object(self, *pairs: Any) -> Any:
        return func.json_object(*pairs)

    def nested(self, value: Any) -> Any:
        return func.json(value)

    def array_of(self, query: Any) -> Any:
        inner = query.subquery()
        column = next(iter(inner.c))
        return func.json(select(func.json_group_array(column)).scalar_subquery())

    def boolean(self, condition: Any) -> Any:
        return func.json(case((condition, literal("true")), else_=literal("false")))

    def day(self, column: Any) -> Any:
        return cast(column, String)

    def text(self, document: Any) -> Any:
        return document


class _Postgres:
    def object(self, *pairs: Any) -> Any:
        return func.json_build_object(*pairs)

    def nested(self, value: Any) -> Any:
        return value

    def array_of(self, query: Any) -> Any:
        inner = query.subquery()
        column = next(iter(inner.c))
        return func.coalesce(
            select(func.json_agg(column)).scalar_subquery(), literal_column("'[]'::json")
        )

    def boolean(self, condition: Any) -> Any:
        return case((condition, true()), else_=False)

    def day(self, column: Any) -> Any:
        return func.to_char(column, "YYYY-MM-DD")

    def text(self, document: Any) -> Any:
        # As text: psycopg would otherwise parse each document into Python objects.
        return cast(document, Text)
