"""The current Statement of Applicability: catalog controls merged with decisions and risks.

ISO/IEC 27001:2022 6.1.3 d (and ISO/IEC 42001:2023 6.1.3) asks for every Annex A control,
whether it is included and why, whether it is implemented, and the justification for any
exclusion. Controls chosen in risk treatment plans are included automatically; the
``RiskControl`` links are the single source of that reason.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Row, Select, func, select
from sqlalchemy.orm import Session

from annexa.errors import Conflict, InvalidInput, NotFound
from annexa.store.db import fetch_tuples
from annexa.store.models import Risk, RiskControl, SoaEntry, utcnow
from annexa.validation import optional_text

if TYPE_CHECKING:
    from annexa.catalog import Framework, Requirement

DEFAULT_FRAMEWORK = "iso27001-2022"
REASONS = ("risk_treatment", "legal", "contractual", "business")
STATUSES = ("not_started", "planned", "partial", "implemented")
NOT_APPLICABLE = "not_applicable"
# What ``--status`` may filter on: excluded controls report ``not_applicable``.
REPORTED_STATUSES = (*STATUSES, NOT_APPLICABLE)
# The fields an auditor compares between two versions, in display order.
DIFF_FIELDS = ("applicable", "justification", "reasons", "status", "owner", "risks")

_UNSET: Any = object()


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
    session: Session, org_id: int, framework: str, refs: Iterable[str] | None = None
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
    # Table columns, not mapped attributes: `soa show` then never sets up the ORM's mappings.
    control_column, risk_column = RiskControl.__table__.c.ref, Risk.__table__.c.ref
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
    for control_ref, risk_refs, count in fetch_tuples(session.connection(), joined):
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
    risk, link = Risk.__table__, RiskControl.__table__
    query = (
        select(*columns)
        .join(risk, risk.c.id == link.c.risk_id)
        .where(risk.c.org_id == org_id, link.c.framework == framework)
    )
    if refs is not None:
        # For a few controls the (org_id, framework, ref) index is the selective one.
        query = query.where(link.c.org_id == org_id, link.c.ref.in_(refs))
    return query


def _group_links(session: Session, links: Select[Any]) -> dict[str, list[str]]:
    """Risk refs per control ref from ``(control ref, risk ref)`` rows, one by one."""
    grouped: dict[str, list[str]] = {}
    for control_ref, risk_ref in session.execute(links):
        grouped.setdefault(control_ref, []).append(risk_ref)
    for risk_refs in grouped.values():
        sort_risk_refs(risk_refs)
    return grouped


def _ordered_reasons(reasons: Iterable[str]) -> list[str]:
    chosen = set(reasons)
    return [reason for reason in REASONS if reason in chosen]


def _own_reasons(row: SoaEntry | Row[Any] | None) -> list[str]:
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
    reasons = _own_reasons(row)
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
        "reasons": _ordered_reasons(reasons) if applicable else [],
        "justification": row.justification if row else None,
        "status": NOT_APPLICABLE if applicable is False else stored_status,
        "owner": row.owner if row else None,
        "risks": risks,
        "decided_by": row.decided_by if row else None,
        "decided_at": _iso(row.decided_at) if row else None,
        "notes": row.notes if row else None,
    }


def stored_decisions(session: Session, org_id: int, framework: str) -> dict[str, Row[Any]]:
    """The organisation's stored decisions for ``framework`` (a framework id), by control ref:
    plain rows of ``soa_entry``, whose columns read as a :class:`SoaEntry`'s attributes.

    Controls never decided have no row. Public for the same views as :func:`derive_entry`,
    which pairs each control with its row. Rows rather than loaded objects keep ``soa
    show`` clear of the ORM's mapping set-up.
    """
    entries = SoaEntry.__table__
    rows = session.execute(
        select(entries).where(entries.c.org_id == org_id, entries.c.framework == framework)
    )
    return {row.ref: row for row in rows}


def soa_entries(session: Session, org_id: int, framework: str) -> list[dict[str, Any]]:
    """Every Annex A control of ``framework`` with the organisation's decision, in catalog
    order. Values are JSON-native so a snapshot can be stored as is."""
    fw = soa_framework(framework)
    rows = stored_decisions(session, org_id, fw.id)
    risks = linked_risks(session, org_id, fw.id)
    return [derive_entry(c, rows.get(c.ref), risks.get(c.ref, [])) for c in fw.controls()]


def soa_entry(session: Session, org_id: int, framework: str, ref: str) -> dict[str, Any]:
    fw = soa_framework(framework)
    control = annex_a_control(fw, ref)
    row = _row(session, org_id, fw.id, control.ref)
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
        wanted_status = _choice(status, "--status", REPORTED_STATUSES)
        selected = [e for e in selected if e["status"] == wanted_status]
    return selected


# --- deciding ------------------------------------------------------------------------


def _choice(value: str, field: str, allowed: Sequence[str]) -> str:
    normalised = value.strip().lower().replace("-", "_")
    if normalised not in allowed:
        raise InvalidInput(
            f"{value!r} is not one of {', '.join(allowed)}",
            field=field,
            fix=f"use one of: {', '.join(allowed)}",
        )
    return normalised


def _row(session: Session, org_id: int, framework: str, ref: str) -> SoaEntry | None:
    return session.scalar(
        select(SoaEntry).where(
            SoaEntry.org_id == org_id, SoaEntry.framework == framework, SoaEntry.ref == ref
        )
    )


def _new_row(session: Session, org_id: int, framework: str, ref: str) -> SoaEntry:
    row = SoaEntry(
        org_id=org_id,
        framework=framework,
        ref=ref,
        applicable=None,
        reasons=[],
        status="not_started",
    )
    session.add(row)
    return row


def _name_risks(risks: list[str], limit: int = 5) -> str:
    shown = ", ".join(risks[:limit])
    more = len(risks) - limit
    return shown + (f" and {more} more" if more > 0 else "")


def set_decision(
    session: Session,
    org_id: int,
    framework: str,
    ref: str,
    *,
    applicable: bool | None = None,
    justification: str | None = None,
    reasons: Iterable[str] = (),
    status: str | None = None,
    owner: str | None = None,
    notes: str | None = None,
    actor: str,
) -> dict[str, Any]:
    """Include or exclude a control, or (``applicable=None``) update its status, owner,
    justification or notes. Returns the entry as :func:`soa_entries` shows it.

    ``None`` keeps a field as it is; an empty ``owner`` or ``notes`` clears it.
    """
    fw = soa_framework(framework)
    control = annex_a_control(fw, ref)
    text = optional_text(justification, "--justification")
    chosen_reasons = _ordered_reasons(_choice(r, "--reason", REASONS) for r in reasons)
    new_status = _choice(status, "--status", STATUSES) if status is not None else None
    new_owner = _UNSET if owner is None else optional_text(owner, "--owner", max_length=200)
    new_notes = _UNSET if notes is None else optional_text(notes, "--notes")
    if (
        applicable is None
        and text is None
        and not chosen_reasons
        and new_status is None
        and new_owner is _UNSET
        and new_notes is _UNSET
    ):
        raise InvalidInput(
            f"nothing to change for {control.ref}",
            field="REF",
            fix="pass --applicable, --not-applicable, --status, --owner, --justification "
            "or --notes",
        )

    row = _row(session, org_id, fw.id, control.ref)
    risks = linked_risks(session, org_id, fw.id, [control.ref]).get(control.ref, [])
    if "risk_treatment" in chosen_reasons and not risks:
        raise InvalidInput(
            f"no risk treatment plan links {control.ref}",
            field="--reason",
            fix="link the control from a risk's treatment plan, or give another reason",
        )
    was = row.applicable if row else None
    if was is None and risks:
        was = True  # as the view shows it: chosen by a treatment plan

    if applicable is False:
        if not text:
            raise InvalidInput(
                f"excluding {control.ref} needs a justification (ISO/IEC 27001 6.1.3 d)",
                field="--justification",
                fix=f"annexa soa set {control.ref} --not-applicable --justification "
                '"why this control is not needed"',
            )
        if risks:
            raise Conflict(
                f"{control.ref} is in the treatment plans of {_name_risks(risks)}; "
                "it cannot be excluded",
                field="--not-applicable",
                fix="remove the control from those risks' treatment plans first",
            )
        if chosen_reasons:
            raise InvalidInput(
                "reasons are reasons for including a control",
                field="--reason",
                fix="drop --reason when excluding, and explain with --justification",
            )
        if new_status is not None:
            raise InvalidInput(
                "an excluded control has no implementation status",
                field="--status",
                fix="drop --status when excluding",
            )
        row = row or _new_row(session, org_id, fw.id, control.ref)
        row.applicable = False
        row.reasons = []
        row.justification = text
    elif applicable is True:
        stored = _own_reasons(row) if row and row.applicable else []
        if chosen_reasons:
            new_reasons = _ordered_reasons([*stored, *chosen_reasons])
        elif stored or risks:
            new_reasons = stored
        elif text:
            new_reasons = ["business"]
        else:
            raise InvalidInput(
                f"including {control.ref} needs a reason: a justification, a --reason, "
                "or a risk treatment plan that links it",
                field="--justification",
                fix=f'annexa soa set {control.ref} --applicable --justification "why it is needed"',
            )
        row = row or _new_row(session, org_id, fw.id, control.ref)
        if row.applicable is False and text is None:
            row.justification = None  # it explained the exclusion, not the inclusion
        row.applicable = True
        row.reasons = new_reasons
        if text is not None:
            row.justification = text
    else:
        if was is False and new_status is not None:
            raise Conflict(
                f"{control.ref} is excluded, so it has no implementation status",
                field="--status",
                fix=f"include it first with `annexa soa set {control.ref} --applicable …`",
            )
        if chosen_reasons and was is not True:
            raise InvalidInput(
                f"{control.ref} is not included, so it has no reasons for inclusion",
                field="--reason",
                fix=f"pass --applicable too: `annexa soa set {control.ref} --applicable "
                "--reason …`",
            )
        row = row or _new_row(session, org_id, fw.id, control.ref)
        if chosen_reasons:
            row.applicable = True
            row.reasons = _ordered_reasons([*_own_reasons(row), *chosen_reasons])
        if text is not None:
            row.justification = text
    if new_status is not None:
        row.status = new_status
    if new_owner is not _UNSET:
        row.owner = new_owner
    if new_notes is not _UNSET:
        row.notes = new_notes
    row.decided_by = actor
    row.decided_at = utcnow()
    session.flush()
    return derive_entry(control, row, risks)


def set_status(
    session: Session, org_id: int, framework: str, ref: str, status: str, *, actor: str
) -> dict[str, Any]:
    """Record how far a control's implementation has got."""
    return set_decision(session, org_id, framework, ref, status=status, actor=actor)


def record_treatment_controls(
    session: Session, org_id: int, framework: str, refs: list[str], actor: str
) -> None:
    """Include the controls a risk treatment plan chose, with reason ``risk_treatment``.

    Other reasons are kept. An explicitly excluded control is refused (and nothing is
    written): the plan and the SoA would contradict each other.
    """
    fw = soa_framework(framework)
    controls: dict[str, Requirement] = {}
    for ref in refs:
        control = annex_a_control(fw, ref)
        controls[control.ref] = control
    if not controls:
        return
    rows = {
        row.ref: row
        for row in session.scalars(
            select(SoaEntry).where(
                SoaEntry.org_id == org_id,
                SoaEntry.framework == fw.id,
                SoaEntry.ref.in_(list(controls)),
            )
        )
    }
    excluded = [ref for ref in controls if ref in rows and rows[ref].applicable is False]
    if excluded:
        first = excluded[0]
        raise Conflict(
            f"{', '.join(excluded)} {'is' if len(excluded) == 1 else 'are'} excluded from the "
            f"{fw.id} Statement of Applicability "
            f"(justification: {rows[first].justification or 'none'})",
            field="--control",
            fix=f"include it first with `annexa soa set {first} --applicable …`",
        )
    now = utcnow()
    for ref in controls:
        row = rows.get(ref) or _new_row(session, org_id, fw.id, ref)
        if row.applicable and "risk_treatment" in (row.reasons or []):
            continue
        row.applicable = True
        row.reasons = _ordered_reasons([*(row.reasons or []), "risk_treatment"])
        row.decided_by = actor
        row.decided_at = now
    session.flush()
