"""The audit trail (admins and auditors): this organisation's events, newest first and
filtered; an object's history; the newest signed checkpoint; and a full verification of
the log (:func:`annexa.audit.log.verify_log`) showing it intact or naming the first bad
entry."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
from fastapi import APIRouter
from sqlalchemy import func, or_, select
from starlette.responses import Response

from annexa.errors import AnnexaError, InvalidInput
from annexa.store.models import AuditEvent
from annexa.validation import parse_datetime
from annexa.web.deps import Auditor, OrgPage
from annexa.web.export import Column, table_response
from annexa.web.queries import PAGE_SIZES, pager
from annexa.web.render import render

router = APIRouter(prefix="/o/{slug}/audit")

ACTIONS = ("create", "update", "delete")
EXPORT_LIMIT = 100_000


def _filters(page: OrgPage) -> tuple[dict[str, Any], list[Any], str | None]:
    """The filters from the query string, their SQL conditions, and an error message."""
    params = page.request.query_params
    filters = {
        "actor": (params.get("actor") or "").strip()[:200] or None,
        "action": params.get("action") if params.get("action") in ACTIONS else None,
        "type": (params.get("type") or "").strip()[:64] or None,
        "object": (params.get("object") or "").strip()[:300] or None,
        "since": (params.get("since") or "").strip()[:40] or None,
    }
    conditions: list[Any] = [AuditEvent.org_id == page.org.id]
    error = None
    if filters["actor"]:
        conditions.append(AuditEvent.actor == filters["actor"])
    if filters["action"]:
        conditions.append(AuditEvent.action == filters["action"])
    if filters["type"]:
        conditions.append(AuditEvent.object_type == filters["type"])
    if filters["object"]:
        kind, sep, ident = filters["object"].partition(":")
        if sep and kind and ident:
            conditions.append(AuditEvent.object_type == kind)
            conditions.append(or_(AuditEvent.object_id == ident, AuditEvent.object_ref == ident))
        else:
            error = "Object must be TYPE:ID, e.g. risk:R-0001."
    if filters["since"]:
        try:
            start = parse_datetime(filters["since"], "since")
        except AnnexaError as exc:
            error = exc.message
        else:
            if start is not None:
                if start.tzinfo is not None:
                    start = start.astimezone(dt.UTC).replace(tzinfo=None)
                conditions.append(AuditEvent.recorded_at >= start)
    return filters, conditions, error


def _event(body: bytes) -> dict[str, Any]:
    event = orjson.loads(bytes(body))
    event["label"] = f"{event.get('type')}:{event.get('ref') or event.get('id')}"
    return event


@router.get("")
def audit_page(page: Auditor) -> Response:
    from annexa.audit.log import latest_checkpoint, tree_head

    filters, conditions, error = _filters(page)
    params = page.request.query_params
    session = page.session
    total = session.scalar(select(func.count()).select_from(AuditEvent).where(*conditions)) or 0
    chosen = pager(params.get("page"), params.get("per"), total)
    bodies = session.scalars(
        select(AuditEvent.body)
        .where(*conditions)
        .order_by(AuditEvent.seq.desc())
        .limit(chosen.size)
        .offset(chosen.offset)
    )
    events = [_event(body) for body in bodies]
    types = sorted(
        session.scalars(
            select(AuditEvent.object_type)
            .where(AuditEvent.org_id == page.org.id)
            .group_by(AuditEvent.object_type)
        )
    )
    connection = session.connection()
    size, root = tree_head(connection)
    latest = latest_checkpoint(connection)
    signer = getattr(page.request.app.state, "signer", None)
    link = {k: v for k, v in filters.items() if v}
    if chosen.size != 50:
        link["per"] = chosen.size
    return render(
        page.request,
        "audit.html",
        {
            "page": page,
            "nav": "audit",
            "events": events,
            "pager": chosen,
            "filters": filters,
            "params": link,
            "types": types,
            "actions": ACTIONS,
            "page_sizes": PAGE_SIZES,
            "error": error,
            "tree_size": size,
            "root": root.hex(),
            "checkpoint": latest,
            "public_key": signer.verifier.encode() if signer is not None else None,
        },
        status_code=200 if error is None else 422,
    )


@router.get("/verify")
def verify(page: Auditor) -> Response:
    from annexa.audit.log import verify_log

    signer = getattr(page.request.app.state, "signer", None)
    verifier = signer.verifier if signer is not None else None
    result = verify_log(page.session.connection(), verifier)
    return render(
        page.request,
        "audit_verify.html",
        {
            "page": page,
            "nav": "audit",
            "result": result,
            "root": result.root.hex(),
            "signed": verifier is not None,
        },
    )


COLUMNS = (
    Column("Seq", lambda e: e.get("seq"), 8),
    Column("Time (UTC)", lambda e: e.get("time"), 22),
    Column("Actor", lambda e: e.get("actor"), 24),
    Column("Action", lambda e: e.get("action"), 10),
    Column("Object", lambda e: e.get("label"), 30),
    Column(
        "Changes",
        lambda e: "; ".join(
            f"{k}: {v.get('before')!r} → {v.get('after')!r}"
            for k, v in (e.get("changes") or {}).items()
        ),
        80,
    ),
    Column("Request id", lambda e: e.get("request_id"), 34),
)


@router.get("/export.{fmt}")
def export(page: Auditor, fmt: str) -> Response:
    if fmt not in ("csv", "xlsx"):
        raise InvalidInput(f"{fmt!r} is not an export format", field="format", fix="csv or xlsx")
    _, conditions, error = _filters(page)
    if error:
        raise InvalidInput(error, field="object")
    bodies = page.session.scalars(
        select(AuditEvent.body).where(*conditions).order_by(AuditEvent.seq).limit(EXPORT_LIMIT)
    )
    rows = (_event(body) for body in bodies)
    return table_response(fmt, f"audit-{page.slug}", "Audit trail", COLUMNS, rows)
