"""Risk assessment and treatment (ISO/IEC 27001:2022 6.1.2, 6.1.3, 8.2, 8.3).

A risk moves identified → assessed → treated or accepted. The status is derived from the
assessment, the treatment and any acceptance, and stored so lists can filter on it. When
a treatment links controls, the Statement of Applicability is told, so inclusions in the
SoA follow from the risk treatment plan (6.1.3 c-d).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from annexa.audit import record_event
from annexa.catalog import SOA_FRAMEWORKS, Framework, get_framework
from annexa.errors import AnnexaError, Conflict, InvalidInput, NotFound
from annexa.risk.matrix import RiskMatrix, matrix_of, parse_matrix
from annexa.risk.register import (  # noqa: F401  (part of this module's interface)
    DEFAULT_FRAMEWORK,
    STATUS_FILTERS,
    STATUSES,
    TREATMENTS,
    collect,
    current_level,
    date_as_text,
    list_risks,
    risk_filters,
)
from annexa.risk.threats import get_threat
from annexa.soa.service import record_treatment_controls
from annexa.store.models import Asset, Organisation, Risk, RiskAcceptance, RiskControl
from annexa.validation import choice, optional_text, parse_date, require_text

MAX_ACCEPTANCE_YEARS = 3

_REF_NUMBER = re.compile(r"^R-(\d+)$")


# --- matrix ------------------------------------------------------------------------------


def get_matrix(org: Organisation) -> RiskMatrix:
    return matrix_of(org.risk_matrix)


def set_matrix(
    session: Session, org: Organisation, data: Any, *, field: str | None = "--file"
) -> RiskMatrix:
    """Replace the organisation's matrix, re-rating stored levels under the new bands.

    Refused when an existing assessment uses a likelihood or impact the new scales lack:
    silently clamping it would change a risk owner's judgement. Errors name ``field`` (the
    CLI's ``--file``), or with None the matrix field at fault (the API).
    """
    matrix = parse_matrix(data, field=field)
    too_big = or_(
        Risk.inherent_likelihood > matrix.likelihood_size,
        Risk.residual_likelihood > matrix.likelihood_size,
        Risk.inherent_impact > matrix.impact_size,
        Risk.residual_impact > matrix.impact_size,
    )
    outside = list(
        session.scalars(
            select(Risk.ref).where(Risk.org_id == org.id, too_big).order_by(Risk.id).limit(6)
        )
    )
    if outside:
        shown = ", ".join(outside[:5]) + (" …" if len(outside) > 5 else "")
        raise Conflict(
            f"{'risks' if len(outside) > 1 else 'risk'} {shown} "
            f"{'are' if len(outside) > 1 else 'is'} rated outside the new {matrix.likelihood_size}x"
            f"{matrix.impact_size} scale",
            field=field or "likelihood",
            fix="re-assess those risks within the new scale first, or keep a larger matrix",
        )
    org.risk_matrix = matrix.model_dump(exclude_none=True)
    before = _rating_snapshot(session, org.id)
    for band in matrix.levels:
        for score_col, level_col in (
            (Risk.inherent_score, "inherent_level"),
            (Risk.residual_score, "residual_level"),
        ):
            session.execute(
                update(Risk)
                .where(Risk.org_id == org.id, score_col.between(band.min, band.max))
                .values({level_col: band.name})
                .execution_options(synchronize_session=False)
            )
    # The threshold decides whether a retained risk counts as treated without acceptance.
    retained = and_(Risk.org_id == org.id, Risk.treatment == "retain")
    session.execute(
        update(Risk)
        .where(
            retained,
            Risk.status == "treated",
            Risk.residual_score > matrix.acceptance_threshold,
        )
        .values(status="assessed")
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(Risk)
        .where(
            retained,
            Risk.status == "assessed",
            Risk.residual_score <= matrix.acceptance_threshold,
        )
        .values(status="treated")
        .execution_options(synchronize_session=False)
    )
    session.flush()
    _record_rerating(session, org.id, before, _rating_snapshot(session, org.id))
    session.expire_all()
    return matrix


_RATING_FIELDS = ("inherent_level", "residual_level", "status")


def _rating_snapshot(session: Session, org_id: int) -> dict[int, tuple[Any, ...]]:
    rows = session.execute(
        select(Risk.id, Risk.ref, *(getattr(Risk, f) for f in _RATING_FIELDS)).where(
            Risk.org_id == org_id
        )
    )
    return {row[0]: row[1:] for row in rows}


def _record_rerating(
    session: Session,
    org_id: int,
    before: dict[int, tuple[Any, ...]],
    after: dict[int, tuple[Any, ...]],
) -> None:
    """The bulk re-rating above bypasses the ORM: record its changes in the audit log."""
    for risk_id, (ref, *old) in sorted(before.items()):
        new = after.get(risk_id, (ref, *old))[1:]
        changes = {
            name: (was, now)
            for name, was, now in zip(_RATING_FIELDS, old, new, strict=True)
            if was != now
        }
        if changes:
            record_event(
                session,
                action="update",
                object_type="risk",
                object_id=risk_id,
                ref=ref,
                org_id=org_id,
                changes=changes,
            )


# --- lookups -----------------------------------------------------------------------------


def _framework(session: Session, org: Organisation, framework: str | None, field: str) -> Framework:
    """A built-in framework or one the organisation imported."""
    wanted = (framework or "").strip()
    try:
        return get_framework(wanted, session, org.id)
    except AnnexaError as exc:
        raise NotFound(
            f"unknown framework {framework!r}",
            field=field,
            fix="see `annexa catalog list` for framework ids (e.g. iso27001-2022)",
        ) from exc


def _parse_control(
    session: Session, org: Organisation, text: str, default_framework: str
) -> tuple[str, str]:
    """``A.8.12`` (in the default framework) or ``iso42001-2023:A.6.2.6`` → (framework, ref)."""
    raw = (text or "").strip()
    framework, _, ref = raw.rpartition(":")
    catalog = _framework(session, org, framework or default_framework, "--control")
    framework_id = catalog.id
    found = catalog.find(ref)
    if found is None:
        raise NotFound(
            f"{framework_id} has no control {ref!r}",
            field="--control",
            fix=f"use an Annex A ref from `annexa catalog show {framework_id}`, "
            "or prefix another framework as iso42001-2023:A.6.2.6",
        )
    if found.kind != "control":
        raise InvalidInput(
            f"{found.ref} in {framework_id} is a clause, not a control",
            field="--control",
            fix="use an Annex A control ref such as A.8.12",
        )
    return framework_id, found.ref


def normalise_ref(ref: str) -> str:
    """``R-0001``, ``r-1`` and ``1`` all name the first risk."""
    cleaned = (ref or "").strip().upper()
    match = re.fullmatch(r"(?:R-?)?(\d+)", cleaned)
    if match:
        return f"R-{int(match.group(1)):04d}"
    return cleaned


def get_risk(session: Session, org: Organisation, ref: str) -> Risk:
    wanted = normalise_ref(ref)
    risk = session.scalar(select(Risk).where(Risk.org_id == org.id, Risk.ref == wanted))
    if risk is None:
        raise NotFound(
            f"no risk {ref!r} in {org.name}",
            field="REF",
            fix="see `annexa risk list` for the refs",
        )
    return risk


def _next_ref(session: Session, org: Organisation) -> str:
    # Refs are only ever issued here, in id order, so the newest row holds the highest
    # number; this keeps adding a risk O(1) however many the organisation has.
    latest = session.scalar(
        select(Risk.ref).where(Risk.org_id == org.id).order_by(Risk.id.desc()).limit(1)
    )
    if latest is None:
        return "R-0001"
    match = _REF_NUMBER.match(latest)
    if match:
        number = int(match.group(1))
    else:
        refs = session.scalars(select(Risk.ref).where(Risk.org_id == org.id))
        number = max((int(m.group(1)) for r in refs if (m := _REF_NUMBER.match(r))), default=0)
    return f"R-{number + 1:04d}"


def _resolve_assets(session: Session, org: Organisation, names: Iterable[str]) -> list[Asset]:
    wanted: list[str] = []
    for name in names:
        cleaned = require_text(name, "--asset")
        if cleaned not in wanted:
            wanted.append(cleaned)
    if not wanted:
        return []
    found = {
        asset.name: asset
        for asset in session.scalars(
            select(Asset).where(Asset.org_id == org.id, Asset.name.in_(wanted))
        )
    }
    for name in wanted:
        if name not in found:
            raise NotFound(
                f"no asset {name!r} in {org.name}",
                field="--asset",
                fix="see `annexa asset list`, or add it with `annexa asset add`",
            )
    return [found[name] for name in wanted]


def _pair(
    likelihood: int | None, impact: int | None, lk_field: str, im_field: str
) -> tuple[int, int] | None:
    if likelihood is None and impact is None:
        return None
    if likelihood is None or impact is None:
        missing = lk_field if likelihood is None else im_field
        raise InvalidInput(
            "is needed too: a rating takes both likelihood and impact",
            field=missing,
            fix=f"pass {lk_field} N and {im_field} N together",
        )
    return likelihood, impact


# --- status ------------------------------------------------------------------------------


def _latest_acceptance(risk: Risk) -> RiskAcceptance | None:
    return risk.acceptances[-1] if risk.acceptances else None


def _derive_status(risk: Risk, matrix: RiskMatrix) -> str:
    if risk.inherent_score is None:
        return "identified"
    acceptance = _latest_acceptance(risk)
    if (
        acceptance is not None
        and risk.residual_score is not None
        and acceptance.residual_score is not None
        # An acceptance covers the residual risk the approver saw, or a lower one.
        and risk.residual_score <= acceptance.residual_score
    ):
        return "accepted"
    if risk.treatment is None:
        return "assessed"
    if risk.treatment == "retain":
        residual = risk.residual_score if risk.residual_score is not None else risk.inherent_score
        if residual > matrix.acceptance_threshold:
            return "assessed"  # retained above the threshold: needs a formal acceptance
    return "treated"


def _refresh_status(risk: Risk, matrix: RiskMatrix) -> None:
    risk.status = _derive_status(risk, matrix)


# --- writes ------------------------------------------------------------------------------


def add_risk(
    session: Session,
    org: Organisation,
    *,
    title: str,
    description: str | None = None,
    threat_id: str | None = None,
    threat: str | None = None,
    vulnerability: str | None = None,
    owner: str | None = None,
    asset_names: Sequence[str] = (),
    likelihood: int | None = None,
    impact: int | None = None,
    review_date: str | dt.date | None = None,
    framework: str = DEFAULT_FRAMEWORK,
) -> Risk:
    """Record a risk in the register, optionally rated straight away."""
    title = require_text(title, "title", max_length=300)
    catalog = _framework(session, org, framework, "--framework")
    if not catalog.controls():
        raise InvalidInput(
            f"{catalog.id} has no controls to treat a risk with",
            field="--framework",
            fix="use a framework with Annex A controls: " + ", ".join(SOA_FRAMEWORKS),
        )
    framework_id = catalog.id
    library_threat = get_threat(threat_id) if threat_id else None
    threat_text = optional_text(threat, "--threat") or (
        library_threat.name if library_threat else None
    )
    rating_input = _pair(likelihood, impact, "--likelihood", "--impact")
    matrix = get_matrix(org)
    rating = matrix.rate(*rating_input) if rating_input else None
    review = parse_date(review_date, "--review-date")
    clash = session.scalar(select(Risk.ref).where(Risk.org_id == org.id, Risk.title == title))
    if clash is not None:
        raise Conflict(
            f"risk {clash} already has the title {title!r}",
            field="title",
            fix=f"choose another title, or change {clash} with `annexa risk update`",
        )
    assets = _resolve_assets(session, org, asset_names)
    risk = Risk(
        org_id=org.id,
        ref=_next_ref(session, org),
        title=title,
        description=optional_text(description, "--description"),
        threat_id=library_threat.id if library_threat else None,
        threat=threat_text,
        vulnerability=optional_text(vulnerability, "--vulnerability"),
        owner=optional_text(owner, "--owner", max_length=200),
        framework=framework_id,
        review_date=review,
        assets=assets,
        controls=[],
        acceptances=[],
    )
    if rating is not None:
        risk.inherent_likelihood = rating.likelihood
        risk.inherent_impact = rating.impact
        risk.inherent_score = rating.score
        risk.inherent_level = rating.level
    _refresh_status(risk, matrix)
    session.add(risk)
    session.flush()
    return risk


def assess(
    session: Session,
    org: Organisation,
    ref: str,
    likelihood: int | None,
    impact: int | None,
    residual: bool = False,
) -> Risk:
    """Rate a risk's inherent level, or with ``residual`` its level after treatment."""
    risk = get_risk(session, org, ref)
    matrix = get_matrix(org)
    rating = matrix.rate(likelihood, impact)
    if residual:
        if risk.inherent_score is None:
            raise Conflict(
                f"{risk.ref} has no inherent rating yet",
                field="--residual",
                fix=f"run `annexa risk assess {risk.ref} --likelihood N --impact N` first",
            )
        risk.residual_likelihood = rating.likelihood
        risk.residual_impact = rating.impact
        risk.residual_score = rating.score
        risk.residual_level = rating.level
    else:
        risk.inherent_likelihood = rating.likelihood
        risk.inherent_impact = rating.impact
        risk.inherent_score = rating.score
        risk.inherent_level = rating.level
    _refresh_status(risk, matrix)
    session.flush()
    return risk


def treat(
    session: Session,
    org: Organisation,
    ref: str,
    option: str,
    plan: str | None = None,
    controls: Sequence[str] = (),
    framework: str | None = None,
    due_date: str | dt.date | None = None,
    residual_likelihood: int | None = None,
    residual_impact: int | None = None,
    actor: str = "cli",
) -> Risk:
    """Choose a treatment option and, for ``modify``, the controls that implement it.

    Controls passed replace the risk's control set; none passed keeps the current set.
    Bare refs belong to ``framework`` (default: the risk's framework); other frameworks
    are written ``iso42001-2023:A.6.2.6``.
    """
    risk = get_risk(session, org, ref)
    option = choice(option, "--option", TREATMENTS)
    matrix = get_matrix(org)
    if risk.inherent_score is None:
        raise Conflict(
            f"{risk.ref} has not been assessed yet",
            field="--option",
            fix=f"run `annexa risk assess {risk.ref} --likelihood N --impact N` first",
        )
    residual_input = _pair(
        residual_likelihood, residual_impact, "--residual-likelihood", "--residual-impact"
    )
    residual = (
        matrix.rate(
            *residual_input,
            likelihood_field="--residual-likelihood",
            impact_field="--residual-impact",
        )
        if residual_input
        else None
    )
    default_framework = (
        _framework(session, org, framework, "--framework").id if framework else risk.framework
    )
    chosen: list[tuple[str, str]] = []
    for text in controls:
        key = _parse_control(session, org, text, default_framework)
        if key not in chosen:
            chosen.append(key)
    existing = {(c.framework, c.ref): c for c in risk.controls}
    final_keys = chosen if controls else list(existing)
    if option == "modify" and not final_keys:
        raise InvalidInput(
            "modifying a risk needs at least one control",
            field="--control",
            fix="pass --control A.8.12 (repeatable) with the controls that reduce the risk",
        )
    due = parse_date(due_date, "--due")
    plan_text = optional_text(plan, "--plan")

    if final_keys:
        _record_in_soa(session, org, final_keys, actor)

    risk.treatment = option
    if plan_text is not None:
        risk.treatment_plan = plan_text
    if due is not None:
        risk.due_date = due
    if controls:
        risk.controls = [
            existing.get(key) or RiskControl(org_id=org.id, framework=key[0], ref=key[1])
            for key in chosen
        ]
    if residual is not None:
        risk.residual_likelihood = residual.likelihood
        risk.residual_impact = residual.impact
        risk.residual_score = residual.score
        risk.residual_level = residual.level
    elif option == "retain" and risk.residual_score is None:
        # Retaining changes nothing, so the residual risk is the inherent risk.
        risk.residual_likelihood = risk.inherent_likelihood
        risk.residual_impact = risk.inherent_impact
        risk.residual_score = risk.inherent_score
        risk.residual_level = risk.inherent_level
    _refresh_status(risk, matrix)
    session.flush()
    return risk


def _record_in_soa(
    session: Session, org: Organisation, keys: Sequence[tuple[str, str]], actor: str
) -> None:
    by_framework: dict[str, list[str]] = {}
    for framework, ref in keys:
        by_framework.setdefault(framework, []).append(ref)
    for framework, refs in by_framework.items():
        if framework in SOA_FRAMEWORKS:
            record_treatment_controls(session, org.id, framework, refs, actor)


def accept(
    session: Session,
    org: Organisation,
    ref: str,
    approver: str | None,
    expires_on: str | dt.date | None,
    rationale: str | None = None,
    *,
    today: dt.date | None = None,
) -> Risk:
    """Record the risk owner's formal acceptance of the residual risk (6.1.3 f)."""
    risk = get_risk(session, org, ref)
    approver = require_text(approver, "--approver", max_length=200)
    today = today or dt.date.today()
    expires = parse_date(expires_on, "--expires")
    if expires is None:
        raise InvalidInput(
            "must not be empty",
            field="--expires",
            fix="pass the date the acceptance lapses, YYYY-MM-DD",
        )
    latest = _add_years(today, MAX_ACCEPTANCE_YEARS)
    if not today < expires <= latest:
        raise InvalidInput(
            f"{expires.isoformat()} is not after today and within {MAX_ACCEPTANCE_YEARS} years",
            field="--expires",
            fix=f"pass a date from {(today + dt.timedelta(days=1)).isoformat()} "
            f"to {latest.isoformat()}",
        )
    if risk.residual_score is None:
        raise Conflict(
            f"{risk.ref} has no residual rating to accept",
            field="--residual",
            fix=f"run `annexa risk assess {risk.ref} --residual --likelihood N --impact N` "
            f"or `annexa risk treat {risk.ref} --option retain` first",
        )
    risk.acceptances.append(
        RiskAcceptance(
            org_id=org.id,
            approver=approver,
            rationale=optional_text(rationale, "--rationale"),
            accepted_on=today,
            expires_on=expires,
            residual_score=risk.residual_score,
        )
    )
    if risk.treatment is None:
        risk.treatment = "retain"  # accepting without another plan is retaining the risk
    _refresh_status(risk, get_matrix(org))
    session.flush()
    return risk


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def update_risk(
    session: Session,
    org: Organisation,
    ref: str,
    *,
    owner: str | None = None,
    description: str | None = None,
    review_date: str | dt.date | None = None,
    threat: str | None = None,
    vulnerability: str | None = None,
) -> Risk:
    """Change descriptive fields; None leaves a field alone, an empty string clears it."""
    risk = get_risk(session, org, ref)
    changes = {
        "owner": owner,
        "description": description,
        "review_date": review_date,
        "threat": threat,
        "vulnerability": vulnerability,
    }
    if all(value is None for value in changes.values()):
        raise InvalidInput(
            "nothing to change",
            field="REF",
            fix="pass --owner, --description or --review-date",
        )
    if owner is not None:
        risk.owner = optional_text(owner, "--owner", max_length=200)
    if description is not None:
        risk.description = optional_text(description, "--description")
    if threat is not None:
        risk.threat = optional_text(threat, "--threat")
    if vulnerability is not None:
        risk.vulnerability = optional_text(vulnerability, "--vulnerability")
    if review_date is not None:
        risk.review_date = parse_date(review_date, "--review-date")
    session.flush()
    return risk


# --- reads ----------------------------------------------------------------------------


def risk_to_dict(session: Session, risk: Risk, *, today: dt.date | None = None) -> dict[str, Any]:
    """One risk in the shape ``risk list --json`` uses."""
    session.flush()
    rows = collect(session, risk.org_id, [Risk.id == risk.id], today or dt.date.today())
    return rows[0]
