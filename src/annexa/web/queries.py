"""Read-side queries the pages need beyond the services: one page of a large list, counts.

A register may hold 50,000 risks: pages never load it whole. They count and fetch one
page in SQL, with the filters the services define (:func:`annexa.risk.register.risk_filters`),
and aggregate (heat maps, overdue lists) in the database.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from annexa.risk import get_matrix
from annexa.risk.matrix import RiskMatrix
from annexa.risk.register import date_as_text, risk_filters
from annexa.soa.entries import derive_entry, soa_framework, stored_decisions
from annexa.soa.view import soa_document
from annexa.store.models import Organisation, Risk, RiskControl

PAGE_SIZES = (25, 50, 100, 200)
DEFAULT_PAGE_SIZE = 50


@dataclass(frozen=True)
class Pager:
    number: int
    size: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.size))

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    @property
    def first(self) -> int:
        return min(self.total, self.offset + 1)

    @property
    def last(self) -> int:
        return min(self.total, self.offset + self.size)


def pager(number: Any, size: Any, total: int) -> Pager:
    """A page within range: bad or out-of-range numbers fall back to the nearest page."""
    try:
        chosen_size = int(size)
    except (TypeError, ValueError):
        chosen_size = DEFAULT_PAGE_SIZE
    if chosen_size not in PAGE_SIZES:
        chosen_size = DEFAULT_PAGE_SIZE
    try:
        wanted = int(number)
    except (TypeError, ValueError):
        wanted = 1
    pages = max(1, math.ceil(total / chosen_size))
    return Pager(min(max(1, wanted), pages), chosen_size, total)


def window(items: list[Any], number: Any, size: Any) -> tuple[list[Any], Pager]:
    """One page of an already filtered, modest list (assets, AI systems, audit …)."""
    chosen = pager(number, size, len(items))
    return items[chosen.offset : chosen.offset + chosen.size], chosen


# --- risks ---------------------------------------------------------------------------------

CURRENT_SCORE = func.coalesce(Risk.residual_score, Risk.inherent_score)
RISK_SORTS: dict[str, Any] = {
    "ref": Risk.id,  # refs are issued in id order; R-10000 sorts after R-9999
    "title": Risk.title,
    "owner": func.lower(Risk.owner),
    "inherent": Risk.inherent_score,
    "level": CURRENT_SCORE,
    "treatment": Risk.treatment,
    "status": Risk.status,
    "review_date": Risk.review_date,
}

NOT_NULL_SORTS = frozenset({"ref", "title", "status"})


@dataclass
class RiskQuery:
    """The risk list's filters, as the page's query string gives them."""

    owner: str | None = None
    level: str | None = None
    treatment: str | None = None
    status: str | None = None
    q: str | None = None
    overdue: bool = False
    sort: str = "ref"

    def params(self) -> dict[str, Any]:
        return {
            "owner": self.owner,
            "level": self.level,
            "treatment": self.treatment,
            "status": self.status,
            "q": self.q,
            "overdue": "1" if self.overdue else None,
            "sort": self.sort if self.sort != "ref" else None,
        }

    def conditions(self, org: Organisation, today: dt.date) -> list[Any]:
        conditions, _ = risk_filters(
            org.risk_matrix,
            level=self.level,
            owner=self.owner,
            status=self.status,
            treatment=self.treatment,
            overdue=True if self.overdue else None,
            today=today,
        )
        if self.q:
            needle = "%" + self.q.lower().replace("\\", "").replace("%", "").replace("_", "") + "%"
            conditions.append(
                or_(
                    func.lower(Risk.ref).like(needle),
                    func.lower(Risk.title).like(needle),
                    func.lower(func.coalesce(Risk.description, "")).like(needle),
                )
            )
        return conditions

    def order(self) -> list[Any]:
        key = self.sort.lstrip("-")
        column = RISK_SORTS.get(key, Risk.id)
        descending = self.sort.startswith("-")
        ordered = column.desc() if descending else column.asc()
        if key in NOT_NULL_SORTS:
            return [ordered] if key == "ref" else [ordered, Risk.id]
        # NULLs last either way, then a stable tie-break.
        return [column.is_(None), ordered, Risk.id]


RISK_ROW_COLUMNS = (
    Risk.ref,
    Risk.title,
    Risk.owner,
    Risk.description,
    Risk.inherent_likelihood,
    Risk.inherent_impact,
    Risk.inherent_score,
    Risk.inherent_level,
    Risk.residual_score,
    Risk.residual_level,
    Risk.treatment,
    Risk.status,
)
ROW_KEYS = (
    "ref",
    "title",
    "owner",
    "description",
    "likelihood",
    "impact",
    "inherent_score",
    "inherent_level",
    "residual_score",
    "residual_level",
    "treatment",
    "status",
    "review_date",
)


def _rows(session: Session, statement: Select[Any]) -> list[dict[str, Any]]:
    return _rows_of(session.execute(statement))


def _rows_of(found: Any) -> list[dict[str, Any]]:
    today = dt.date.today().isoformat()
    rows = []
    for values in found:
        row = dict(zip(ROW_KEYS, values, strict=True))
        row["level"] = row["residual_level"] or row["inherent_level"]
        row["review_overdue"] = bool(row["review_date"] and row["review_date"] < today)
        rows.append(row)
    return rows


def risk_page(
    session: Session, org: Organisation, wanted: RiskQuery, number: Any, size: Any
) -> tuple[list[dict[str, Any]], Pager]:
    """One page of the register, whatever its size: a count, then the page's ids sorted
    and cut in SQL (only ids go through the sort), then those rows."""
    today = dt.date.today()
    where = [Risk.org_id == org.id, *wanted.conditions(org, today)]
    total = session.scalar(select(func.count()).select_from(Risk).where(*where)) or 0
    chosen = pager(number, size, total)
    ids = list(
        session.scalars(
            select(Risk.id)
            .where(*where)
            .order_by(*wanted.order())
            .limit(chosen.size)
            .offset(chosen.offset)
        )
    )
    if not ids:
        return [], chosen
    dialect = session.get_bind().dialect.name
    statement = select(*RISK_ROW_COLUMNS, date_as_text(Risk.review_date, dialect), Risk.id).where(
        Risk.id.in_(ids)
    )
    position = {risk_id: index for index, risk_id in enumerate(ids)}
    rows = sorted(session.execute(statement), key=lambda row: position[row[-1]])
    return _rows_of([tuple(row[:-1]) for row in rows]), chosen


def risk_row(session: Session, org: Organisation, ref: str) -> dict[str, Any] | None:
    dialect = session.get_bind().dialect.name
    statement = select(*RISK_ROW_COLUMNS, date_as_text(Risk.review_date, dialect)).where(
        Risk.org_id == org.id, Risk.ref == ref
    )
    rows = _rows(session, statement)
    return rows[0] if rows else None


def heat_maps(session: Session, org: Organisation) -> dict[str, Any]:
    """Risks per likelihood × impact cell, inherent and residual: one aggregate query."""
    matrix = get_matrix(org)
    inherent: dict[tuple[int, int], int] = {}
    residual: dict[tuple[int, int], int] = {}
    rows = session.execute(
        select(
            Risk.inherent_likelihood,
            Risk.inherent_impact,
            Risk.residual_likelihood,
            Risk.residual_impact,
            func.count(),
        )
        .where(Risk.org_id == org.id)
        .group_by(
            Risk.inherent_likelihood,
            Risk.inherent_impact,
            Risk.residual_likelihood,
            Risk.residual_impact,
        )
    )
    for i_lk, i_im, r_lk, r_im, count in rows:
        if i_lk is not None and i_im is not None:
            key = (int(i_lk), int(i_im))
            inherent[key] = inherent.get(key, 0) + int(count)
        if r_lk is not None and r_im is not None:
            key = (int(r_lk), int(r_im))
            residual[key] = residual.get(key, 0) + int(count)
    return {"inherent": grid(matrix, inherent), "residual": grid(matrix, residual)}


def severity_classes(matrix: RiskMatrix) -> dict[str, str]:
    """A CSS class per level, by rank (``sev-1`` lowest … ``sev-4`` highest)."""
    ordered = sorted(matrix.levels, key=lambda band: band.min)
    top = max(1, len(ordered) - 1)
    return {
        band.name: f"sev-{1 + round(3 * index / top) if len(ordered) > 1 else 1}"
        for index, band in enumerate(ordered)
    }


def grid(matrix: RiskMatrix, counts: dict[tuple[int, int], int]) -> dict[str, Any]:
    classes = severity_classes(matrix)
    rows = []
    for likelihood in range(matrix.likelihood_size, 0, -1):
        cells = []
        for impact in range(1, matrix.impact_size + 1):
            rating = matrix.rate(likelihood, impact)
            cells.append(
                {
                    "likelihood": likelihood,
                    "impact": impact,
                    "count": counts.get((likelihood, impact), 0),
                    "level": rating.level,
                    "css": classes.get(rating.level, "sev-1"),
                }
            )
        rows.append(
            {"likelihood": likelihood, "label": matrix.likelihood[likelihood - 1], "cells": cells}
        )
    return {
        "rows": rows,
        "impacts": [
            {"value": n, "label": matrix.impact[n - 1]} for n in range(1, matrix.impact_size + 1)
        ],
        "total": sum(counts.values()),
    }


def risks_by_ref(session: Session, org: Organisation, refs: list[str]) -> list[dict[str, Any]]:
    """Ref, title, owner and review date of a few risks, most overdue first."""
    if not refs:
        return []
    dialect = session.get_bind().dialect.name
    rows = session.execute(
        select(Risk.ref, Risk.title, Risk.owner, date_as_text(Risk.review_date, dialect))
        .where(Risk.org_id == org.id, Risk.ref.in_(refs))
        .order_by(Risk.review_date, Risk.id)
    ).all()
    return [
        {"ref": ref, "title": title, "owner": owner, "review_date": review}
        for ref, title, owner, review in rows
    ]


# --- the SoA page --------------------------------------------------------------------------


def soa_page_view(
    session: Session,
    org: Organisation,
    framework: str,
    *,
    group: str | None = None,
    status: str | None = None,
) -> dict[str, Any]:
    """The current SoA as :func:`annexa.soa.soa_view` shapes it, for the page: each
    control's linked risks are counted in SQL (``risk_count``) instead of listed.

    With 50,000 risks the treatment plans link 150,000 controls; listing the refs of every
    link costs more than the rest of the page. The decision rules are the service's own
    (a control a plan links is included, for risk treatment); the control's page and the
    downloads still list every linked risk.
    """
    fw = soa_framework(framework)
    rows = stored_decisions(session, org.id, fw.id)
    counts = {
        ref: int(count)
        for ref, count in session.execute(
            select(RiskControl.ref, func.count())
            .where(RiskControl.org_id == org.id, RiskControl.framework == fw.id)
            .group_by(RiskControl.ref)
        )
    }
    entries = []
    for control in fw.controls():
        count = counts.get(control.ref, 0)
        entry = derive_entry(control, rows.get(control.ref), ["linked"] if count else [])
        entry["risks"] = []
        entry["risk_count"] = count
        entries.append(entry)
    return soa_document(fw, org, entries, group=group, status=status)
