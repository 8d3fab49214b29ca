"""Recording SoA decisions: applicability, reasons, justification, status and owner.

Every change goes through the ORM (and so into the audit log); the SoA is read by
:mod:`annexa.soa.entries`. Controls chosen in risk treatment plans are included
automatically; the ``RiskControl`` links are the single source of that reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from annexa.errors import Conflict, InvalidInput
from annexa.soa.entries import (
    REASONS,
    STATUSES,
    annex_a_control,
    choose,
    derive_entry,
    linked_risks,
    ordered_reasons,
    own_reasons,
    soa_framework,
)
from annexa.store.models import SoaEntry, utcnow
from annexa.validation import optional_text

if TYPE_CHECKING:
    from annexa.catalog import Requirement

_UNSET: Any = object()


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
    chosen_reasons = ordered_reasons(choose(r, "--reason", REASONS) for r in reasons)
    new_status = choose(status, "--status", STATUSES) if status is not None else None
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
        stored = own_reasons(row) if row and row.applicable else []
        if chosen_reasons:
            new_reasons = ordered_reasons([*stored, *chosen_reasons])
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
            row.reasons = ordered_reasons([*own_reasons(row), *chosen_reasons])
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
        row.reasons = ordered_reasons([*(row.reasons or []), "risk_treatment"])
        row.decided_by = actor
        row.decided_at = now
    session.flush()
