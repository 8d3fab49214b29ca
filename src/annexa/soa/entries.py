"""The current Statement of Applicability: catalog controls merged with decisions and risks.

Read with Core alone (the tables, not the ORM), so that ``soa show`` never imports the
ORM; decisions are written by :mod:`annexa.soa.service`.

ISO/IEC 27001:2022 6.1.3 d (and ISO/IEC 42001:2023 6.1.3) asks for every Annex A control,
whether it is included and why, whether it is implemented, and the justification for any
exclusion. Controls chosen in risk treatment plans are included automatically; the
``RiskControl`` links are the single source of that reason.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Row, Select, func, select

from annexa.errors import InvalidInput, NotFound
from annexa.store.db import core_connection, fetch_tuples
from annexa.store.tables import risk, risk_control
from annexa.store.tables import soa_entry as decisions

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from annexa.catalog import Framework, Requirement
    from annexa.store.models import SoaEntry

DEFAULT_FRAMEWORK = "iso27001-2022"
REASONS = ("risk_treatment", "legal", "contractual", "business")
STATUSES = ("not_started", "planned", "partial", "implemented")
NOT_APPLICABLE = "not_applicable"
# What ``--status`` may filter on: excluded controls report ``not_applicable``.
REPORTED_STATUSES = (*STATUSES, NOT_APPLICABLE)
# The fields an auditor compares between two versions, in display order.
DIFF_FIELDS = ("applicable", "justification", "reasons", "status", "owner", "risks")


# --- catalog look-ups ----------------------------------------------------------------


def soa_framework(framework: str | None) -> Framework:
    """The catalog framework an SoA can be kept for; anything else names ``--framework``."""
    from annexa.catalog import SOA_FRAMEWORKS, get_framework

    wanted = (framework or DEFAULT_FRAMEWORK).strip().lower()
    if wanted not in SOA_FRAMEWORKS:
        raise InvalidInput(
            f"{framework!r} has no Statement of Applicability",
            field="--framework",
            fix=f"use one of: {', '.join(SOA_FRAMEWORKS)}",
        )
    return get_framework(wanted)


def annex_a_control(fw: Framework, ref: str) -> Requirement:
    """The Annex A control ``ref`` names (``A.5.1`` or ``5.1``); clauses are not controls."""
    cleaned = (ref or "").strip()
    found = fw.find(cleaned)
    if (found is None or found.kind != "control") and not cleaned.lower().startswith("a."):
        # In 27001 "5.1" is clause 5.1; in an SoA context the user means control A.5.1.
        found = fw.find("A." + cleaned)
    if found is None or found.kind != "control":
        raise NotFound(
            f"{fw.id} Annex A has no control {ref!r}",
            field="REF",
            fix=f"use a control ref such as A.5.1 (see `annexa catalog show {fw.id}`)",
        )
    return found


# --- reading -------------------------------------------------------------------------


def sort_risk_refs(refs: list[str]) -> None:
    """Sort R-0001 … R-9999, R-10000 in numeric order, in place.

    Two C-level sorts (by text, then stably by length) instead of a Python key function:
    with 150,000 links the key function alone cost a fifth of ``soa show``.
    """
    refs.sort()
    refs.sort(key=len)


# Joins a control's risk refs into one string: the ASCII unit separator, which no risk ref
# holds (they are generated, R-0001); the count beside each string proves it.
_SEPARATOR = "\x1f"


def linked_risks(
    session: Connection | Session, org_id: int, framework: str, refs: Iterable[str] | None = None
) -> dict[str, list[str]]:
    """Risk refs per control ref, from the controls that treatment plans link.

    With 150,000 links an ORM load (or a query per control) is what makes ``soa show``
    slow, so the database joins them into one string per control (split here, which
    makes no Python object per link until the split) and Python only sorts. The links
    are reached through this organisation's risks only; filtering on ``risk.org_id``
    alone lets SQLite walk two covering indexes (risk (org_id, ref), then risk_control
    (risk_id, framework, ref)), while also filtering ``risk_control.org_id`` makes it pick
    the org index instead and look every row up, three to four times slower.
    """
    wanted = None if refs is None else list(refs)  # read twice when a ref holds the separator
    control_column, risk_column = risk_control.c.ref, risk.c.ref
    joined = _links(
        org_id,
        framework,
        wanted,
        control_column,
        func.aggregate_strings(risk_column, _SEPARATOR),
        func.count(),
    ).group_by(control_column)
    # Fetched from the DBAPI cursor in one call: the ORM result layer and Row objects
    # would add their cost for values that are plain strings and integers on both drivers.
    grouped: dict[str, list[str]] = {}
    for control_ref, risk_refs, count in fetch_tuples(core_connection(session), joined):
        split = risk_refs.split(_SEPARATOR)
        if len(split) != count:  # a ref holding the separator (refs are generated: never)
            return _group_links(
                session, _links(org_id, framework, wanted, control_column, risk_column)
            )
        sort_risk_refs(split)
        grouped[control_ref] = split
    return grouped


def _links(org_id: int, framework: str, refs: list[str] | None, *columns: Any) -> Select[Any]:
    """``columns`` of this organisation's treatment-plan links to ``framework``'s controls
    (to the controls ``refs`` only, when given)."""
    link = risk_control
    query = (
        select(*columns)
        .join(risk, risk.c.id == link.c.risk_id)
        .where(risk.c.org_id == org_id, link.c.framework == framework)
    )
    if refs is not None:
        # For a few controls the (org_id, framework, ref) index is the selective one.
        query = query.where(link.c.org_id == org_id, link.c.ref.in_(refs))
    return query


def _group_links(session: Connection | Session, links: Select[Any]) -> dict[str, list[str]]:
    """Risk refs per control ref from ``(control ref, risk ref)`` rows, one by one."""
    grouped: dict[str, list[str]] = {}
    for control_ref, risk_ref in session.execute(links):
        grouped.setdefault(control_ref, []).append(risk_ref)
    for risk_refs in grouped.values():
        sort_risk_refs(risk_refs)
    return grouped


def ordered_reasons(reasons: Iterable[str]) -> list[str]:
    """``reasons`` without repeats, in the fixed order of :data:`REASONS`."""
    chosen = set(reasons)
    return [reason for reason in REASONS if reason in chosen]


def own_reasons(row: SoaEntry | Row[Any] | None) -> list[str]:
    """The reasons a decision records itself (risk treatment comes from the links)."""
    return [r for r in (row.reasons or []) if r != "risk_treatment"] if row else []


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None


def derive_entry(
    control: Requirement, row: SoaEntry | Row[Any] | None, risks: list[str]
) -> dict[str, Any]:
    """One control's SoA entry from its stored decision (``row``, None when undecided) and
    the refs of the risks whose treatment links it.

    The one place the SoA's derivation rules live (a linked control is applicable, for
    risk treatment; an excluded one reads ``not_applicable``). Public so that views which
    gather decisions and links in their own way (the web SoA page counts links in SQL)
    still apply exactly these rules.
    """
    applicable = row.applicable if row else None
    # ``risk_treatment`` follows the links alone, so unlinking a risk does not leave a
    # stale reason behind.
    reasons = own_reasons(row)
    if risks and applicable is None:
        # A control chosen to treat a risk is needed (6.1.3 b-c), decided or not.
        applicable = True
    if risks and applicable:
        reasons.append("risk_treatment")
    stored_status = (row.status if row else None) or "not_started"
    return {
        "ref": control.ref,
        "title": control.title,
        "group": control.group,
        "applicable": applicable,
        "reasons": ordered_reasons(reasons) if applicable else [],
        "justification": row.justification if row else None,
        "status": NOT_APPLICABLE if applicable is False else stored_status,
        "owner": row.owner if row else None,
        "risks": risks,
        "decided_by": row.decided_by if row else None,
        "decided_at": _iso(row.decided_at) if row else None,
        "notes": row.notes if row else None,
    }


def stored_decisions(
    session: Connection | Session, org_id: int, framework: str
) -> dict[str, Row[Any]]:
    """The organisation's stored decisions for ``framework`` (a framework id), by control ref:
    plain rows of ``soa_entry``, whose columns read as a :class:`SoaEntry`'s attributes.

    Controls never decided have no row. Public for the same views as :func:`derive_entry`,
    which pairs each control with its row. Rows rather than loaded objects keep ``soa
    show`` clear of the ORM.
    """
    rows = session.execute(
        select(decisions).where(decisions.c.org_id == org_id, decisions.c.framework == framework)
    )
    return {row.ref: row for row in rows}


def soa_entries(session: Connection | Session, org_id: int, framework: str) -> list[dict[str, Any]]:
    """Every Annex A control of ``framework`` with the organisation's decision, in catalog
    order. Values are JSON-native so a snapshot can be stored as is."""
    fw = soa_framework(framework)
    rows = stored_decisions(session, org_id, fw.id)
    risks = linked_risks(session, org_id, fw.id)
    return [derive_entry(c, rows.get(c.ref), risks.get(c.ref, [])) for c in fw.controls()]


def soa_entry(
    session: Connection | Session, org_id: int, framework: str, ref: str
) -> dict[str, Any]:
    fw = soa_framework(framework)
    control = annex_a_control(fw, ref)
    row = session.execute(
        select(decisions).where(
            decisions.c.org_id == org_id,
            decisions.c.framework == fw.id,
            decisions.c.ref == control.ref,
        )
    ).first()
    risks = linked_risks(session, org_id, fw.id, [control.ref]).get(control.ref, [])
    return derive_entry(control, row, risks)


def summarise(entries: Sequence[dict[str, Any]]) -> dict[str, int]:
    return {
        "controls": len(entries),
        "applicable": sum(1 for e in entries if e["applicable"] is True),
        "excluded": sum(1 for e in entries if e["applicable"] is False),
        "undecided": sum(1 for e in entries if e["applicable"] is None),
        "implemented": sum(
            1 for e in entries if e["applicable"] is True and e["status"] == "implemented"
        ),
    }


def filter_entries(
    fw: Framework,
    entries: Iterable[dict[str, Any]],
    *,
    group: str | None = None,
    status: str | None = None,
) -> list[dict[str, Any]]:
    """Entries of one theme and/or one reported status; unknown values name the option."""
    selected = list(entries)
    if group:
        groups = {
            g.id.casefold(): g.id for g in fw.groups if any(c.group == g.id for c in fw.controls())
        }
        wanted = groups.get(group.strip().casefold())
        if wanted is None:
            raise InvalidInput(
                f"{fw.id} Annex A has no theme {group!r}",
                field="--group",
                fix=f"use one of: {', '.join(groups.values())}",
            )
        selected = [e for e in selected if e["group"] == wanted]
    if status:
        wanted_status = choose(status, "--status", REPORTED_STATUSES)
        selected = [e for e in selected if e["status"] == wanted_status]
    return selected


# --- deciding ------------------------------------------------------------------------


def choose(value: str, field: str, allowed: Sequence[str]) -> str:
    """``value`` normalised (``not-started`` → ``not_started``), if ``allowed``; else bad input."""
    normalised = value.strip().lower().replace("-", "_")
    if normalised not in allowed:
        raise InvalidInput(
            f"{value!r} is not one of {', '.join(allowed)}",
            field=field,
            fix=f"use one of: {', '.join(allowed)}",
        )
    return normalised
