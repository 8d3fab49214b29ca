"""Published SoA versions: numbered, immutable snapshots, and the differences between them.

An auditor signs off one version; later decisions must never change what was signed, so
no code path here updates or deletes a :class:`SoaVersion`, and the ORM refuses to.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from annexa.errors import Conflict, InvalidInput
from annexa.soa.entries import DIFF_FIELDS, soa_entries, soa_framework, summarise
from annexa.soa.view import no_such_version
from annexa.store.models import SoaVersion, utcnow
from annexa.validation import optional_text, plain_number

CURRENT = "current"


def _refuse_change(_mapper: Any, _connection: Any, target: SoaVersion) -> None:
    raise Conflict(
        f"version {target.number} of the {target.framework} SoA is published and immutable",
        field="--version",
        fix="publish a new version instead (`annexa soa publish`)",
    )


event.listen(SoaVersion, "before_update", _refuse_change)
event.listen(SoaVersion, "before_delete", _refuse_change)


def publish(
    session: Session,
    org_id: int,
    framework: str,
    *,
    actor: str,
    note: str | None = None,
    allow_undecided: bool = False,
) -> SoaVersion:
    """Freeze the current SoA as the next numbered version (1, 2, …)."""
    fw = soa_framework(framework)
    text = optional_text(note, "--note")
    entries = soa_entries(session, org_id, fw.id)
    undecided = [e["ref"] for e in entries if e["applicable"] is None]
    if undecided and not allow_undecided:
        shown = ", ".join(undecided[:5]) + (" …" if len(undecided) > 5 else "")
        raise InvalidInput(
            f"{len(undecided)} of {len(entries)} controls are still undecided ({shown})",
            field="--allow-undecided",
            fix="decide them with `annexa soa set REF --applicable|--not-applicable`, "
            "or pass --allow-undecided to publish a draft",
        )
    last = session.scalar(
        select(func.max(SoaVersion.number)).where(
            SoaVersion.org_id == org_id, SoaVersion.framework == fw.id
        )
    )
    version = SoaVersion(
        org_id=org_id,
        framework=fw.id,
        number=(last or 0) + 1,
        published_at=utcnow(),
        published_by=actor,
        note=text,
        entries=entries,
    )
    session.add(version)
    session.flush()
    return version


def list_versions(session: Session, org_id: int, framework: str) -> list[SoaVersion]:
    fw = soa_framework(framework)
    return list(
        session.scalars(
            select(SoaVersion)
            .where(SoaVersion.org_id == org_id, SoaVersion.framework == fw.id)
            .order_by(SoaVersion.number)
        )
    )


def get_version(session: Session, org_id: int, framework: str, number: int) -> SoaVersion:
    fw = soa_framework(framework)
    version = session.scalar(
        select(SoaVersion).where(
            SoaVersion.org_id == org_id,
            SoaVersion.framework == fw.id,
            SoaVersion.number == number,
        )
    )
    if version is None:
        raise no_such_version(fw.id, number)
    return version


def version_summary(version: SoaVersion) -> dict[str, Any]:
    """A version without its entries, for listings."""
    return {
        "framework": version.framework,
        "version": version.number,
        "published_at": version.published_at.isoformat(timespec="seconds"),
        "published_by": version.published_by,
        "note": version.note,
        "summary": summarise(version.entries),
    }


def _side(value: int | str, field: str) -> int | str:
    if isinstance(value, int):
        return value
    cleaned = str(value).strip().lower()
    if cleaned == CURRENT:
        return CURRENT
    number = plain_number(cleaned)
    if number:  # versions are numbered from 1
        return number
    raise InvalidInput(
        f"{value!r} is neither a version number nor 'current'",
        field=field,
        fix="pass a published version number (see `annexa soa versions`) or current",
    )


def entries_at(
    session: Session, org_id: int, framework: str, which: int | str
) -> list[dict[str, Any]]:
    """The entries of a published version, or of the current SoA for ``current``."""
    side = _side(which, "--version")
    if side == CURRENT:
        return soa_entries(session, org_id, framework)
    return list(get_version(session, org_id, framework, int(side)).entries)


def diff(
    session: Session,
    org_id: int,
    framework: str,
    v1: int | str,
    v2: int | str,
    *,
    fields: tuple[str, str] = ("V1", "V2"),
) -> dict[str, Any]:
    """What changed between two versions (each a number or ``current``), control by control.

    ``fields`` names the two versions in errors, as the caller's users know them.
    """
    fw = soa_framework(framework)
    left_side, right_side = _side(v1, fields[0]), _side(v2, fields[1])
    left = {e["ref"]: e for e in entries_at(session, org_id, fw.id, left_side)}
    right = {e["ref"]: e for e in entries_at(session, org_id, fw.id, right_side)}
    changes = []
    for ref, after in right.items():
        before = left.get(ref)
        if before is None:
            continue
        fields = {
            name: {"from": before.get(name), "to": after.get(name)}
            for name in DIFF_FIELDS
            if before.get(name) != after.get(name)
        }
        if fields:
            changes.append({"ref": ref, "title": after["title"], "fields": fields})
    return {
        "framework": fw.id,
        "from": left_side,
        "to": right_side,
        "changes": changes,
        "added": [{"ref": r, "title": e["title"]} for r, e in right.items() if r not in left],
        "removed": [{"ref": r, "title": e["title"]} for r, e in left.items() if r not in right],
    }
