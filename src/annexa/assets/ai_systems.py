"""The AI-system register (ISO/IEC 42001 A.4, A.5, A.6; EU AI Act).

One record per AI system the organisation builds or uses: what it is for, who provides
it, what data it receives, how people oversee it, where it is in its lifecycle and its
EU AI Act risk class. Records that reveal a problem (a prohibited practice, a high-risk
system nobody oversees) are accepted and carry *findings*: the register must show reality.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from annexa.assets.service import require_asset_names
from annexa.errors import NotFound
from annexa.store.models import AISystem, Organisation
from annexa.store.named import NamedKind
from annexa.suppliers import get_supplier
from annexa.validation import choice, optional_text, require_text, tag_list

AI_ROLES = ("provider", "deployer")
# "gpai": a general-purpose AI model, which the AI Act regulates apart from the four tiers.
RISK_CLASSES = ("prohibited", "high", "limited", "minimal", "gpai")
LIFECYCLE_STAGES = (
    "inception",
    "design",
    "development",
    "verification",
    "deployment",
    "operation",
    "retirement",
)
PERSONAL_DATA_CATEGORIES = frozenset(
    {"personal", "health", "special_category", "biometric", "criminal"}
)


def ai_system_findings(system: AISystem) -> list[dict[str, str]]:
    """Problems the record itself reveals, for the register and readiness reports."""
    findings = []
    if system.ai_act_risk_class == "prohibited" and system.lifecycle_stage != "retirement":
        findings.append(
            {
                "code": "prohibited_practice",
                "severity": "critical",
                "message": "classed as a prohibited AI practice (EU AI Act Art. 5): stop using"
                " it and move it to retirement",
            }
        )
    if system.ai_act_risk_class == "high" and not system.human_oversight:
        findings.append(
            {
                "code": "no_human_oversight",
                "severity": "high",
                "message": "high-risk system without documented human oversight"
                " (EU AI Act Art. 14 and 26, ISO/IEC 42001 A.9)",
            }
        )
    personal = sorted(PERSONAL_DATA_CATEGORIES.intersection(system.data_categories or []))
    if personal and system.supplier is not None and not system.supplier.processes_personal_data:
        findings.append(
            {
                "code": "supplier_personal_data",
                "severity": "medium",
                "message": f"sends {', '.join(personal)} data but supplier"
                f" {system.supplier.name!r} is not recorded as processing personal data",
            }
        )
    return findings


def ai_system_to_dict(system: AISystem) -> dict[str, Any]:
    return {
        "name": system.name,
        "purpose": system.purpose,
        "provider": system.provider,
        "model": system.model,
        "role": system.role,
        "data_categories": list(system.data_categories or []),
        "human_oversight": system.human_oversight,
        "risk_class": system.ai_act_risk_class,
        "lifecycle_stage": system.lifecycle_stage,
        "owner": system.owner,
        "supplier": system.supplier.name if system.supplier is not None else None,
        "assets": sorted(asset.name for asset in system.assets),
        "findings": ai_system_findings(system),
    }


def _query(org: Organisation):  # type: ignore[no-untyped-def]
    return (
        select(AISystem)
        .where(AISystem.org_id == org.id)
        .options(selectinload(AISystem.assets), selectinload(AISystem.supplier))
    )


AI_SYSTEM = NamedKind(
    AISystem,
    "AI system",
    "an AI system",
    list_fix="see `annexa ai list`, or add it with `annexa ai add NAME --purpose TEXT`",
    update_command="annexa ai update",
)


def find_ai_system(session: Session, org: Organisation, name: str) -> AISystem | None:
    return AI_SYSTEM.find(session, org.id, name, _query(org))


def get_ai_system(
    session: Session, org: Organisation, name: str, *, field: str = "name"
) -> AISystem:
    return AI_SYSTEM.require(find_ai_system(session, org, name or ""), name, field)


def _ensure_name_free(session: Session, org: Organisation, name: str, field: str) -> None:
    AI_SYSTEM.ensure_free(session, org.id, name, field)


def add_ai_system(
    session: Session,
    org: Organisation,
    name: str,
    *,
    purpose: str,
    provider: str | None = None,
    model: str | None = None,
    role: str = "deployer",
    data_categories: Iterable[str] | str | None = None,
    human_oversight: str | None = None,
    risk_class: str = "minimal",
    stage: str = "operation",
    owner: str | None = None,
    assets: Iterable[str] | None = None,
    supplier: str | None = None,
) -> AISystem:
    name = require_text(name, "name")
    system = AISystem(
        org_id=org.id,
        name=name,
        purpose=require_text(purpose, "--purpose", max_length=10_000),
        provider=optional_text(provider, "--provider", max_length=200),
        model=optional_text(model, "--model", max_length=200),
        role=choice(role, "--role", AI_ROLES),
        data_categories=tag_list(data_categories, "--data-category"),
        human_oversight=optional_text(human_oversight, "--oversight"),
        ai_act_risk_class=choice(risk_class, "--risk-class", RISK_CLASSES),
        lifecycle_stage=choice(stage, "--stage", LIFECYCLE_STAGES),
        owner=optional_text(owner, "--owner", max_length=200),
        supplier=get_supplier(session, org, supplier, field="--supplier") if supplier else None,
        assets=require_asset_names(session, org, assets or []),
    )
    _ensure_name_free(session, org, name, "name")
    session.add(system)
    session.flush()
    return system


def list_ai_systems(
    session: Session,
    org: Organisation,
    *,
    risk_class: str | None = None,
    stage: str | None = None,
) -> list[dict[str, Any]]:
    """AI systems as dicts (see :func:`ai_system_to_dict`), ordered by name."""
    query = _query(org).order_by(AISystem.name)
    if risk_class is not None:
        query = query.where(
            AISystem.ai_act_risk_class == choice(risk_class, "--risk-class", RISK_CLASSES)
        )
    if stage is not None:
        query = query.where(AISystem.lifecycle_stage == choice(stage, "--stage", LIFECYCLE_STAGES))
    return [ai_system_to_dict(system) for system in session.scalars(query)]


def update_ai_system(
    session: Session,
    org: Organisation,
    name: str,
    *,
    new_name: str | None = None,
    purpose: str | None = None,
    provider: str | None = None,
    model: str | None = None,
    role: str | None = None,
    data_categories: Iterable[str] | str | None = None,
    human_oversight: str | None = None,
    risk_class: str | None = None,
    stage: str | None = None,
    owner: str | None = None,
    assets: Iterable[str] | None = None,
    supplier: str | None = None,
) -> AISystem:
    """Change the given fields; ``None`` leaves a field alone, ``""`` clears a text field.

    ``data_categories`` and ``assets`` replace the whole list when given.
    """
    system = get_ai_system(session, org, name)
    if new_name is not None:
        cleaned = require_text(new_name, "--name")
        if cleaned != system.name:
            _ensure_name_free(session, org, cleaned, "--name")
            system.name = cleaned
    if purpose is not None:
        system.purpose = require_text(purpose, "--purpose", max_length=10_000)
    if provider is not None:
        system.provider = optional_text(provider, "--provider", max_length=200)
    if model is not None:
        system.model = optional_text(model, "--model", max_length=200)
    if role is not None:
        system.role = choice(role, "--role", AI_ROLES)
    if data_categories is not None:
        system.data_categories = tag_list(data_categories, "--data-category")
    if human_oversight is not None:
        system.human_oversight = optional_text(human_oversight, "--oversight")
    if risk_class is not None:
        system.ai_act_risk_class = choice(risk_class, "--risk-class", RISK_CLASSES)
    if stage is not None:
        system.lifecycle_stage = choice(stage, "--stage", LIFECYCLE_STAGES)
    if owner is not None:
        system.owner = optional_text(owner, "--owner", max_length=200)
    if supplier is not None:
        system.supplier = (
            get_supplier(session, org, supplier, field="--supplier") if supplier.strip() else None
        )
    if assets is not None:
        system.assets = require_asset_names(session, org, assets)
    session.flush()
    return system


def link_assets(
    session: Session, org: Organisation, name: str, asset_names: Iterable[str]
) -> AISystem:
    """Add links from an AI system to assets; already linked ones are left as they are."""
    system = get_ai_system(session, org, name)
    linked = {asset.id for asset in system.assets}
    for asset in require_asset_names(session, org, asset_names):
        if asset.id not in linked:
            system.assets.append(asset)
            linked.add(asset.id)
    session.flush()
    return system


def unlink_assets(
    session: Session, org: Organisation, name: str, asset_names: Iterable[str]
) -> AISystem:
    """Remove links from an AI system to assets, naming any asset that is not linked."""
    system = get_ai_system(session, org, name)
    linked = {asset.name: asset for asset in system.assets}
    for asset_name in [n.strip() for n in asset_names if n and n.strip()]:
        asset = linked.get(asset_name)
        if asset is None:
            raise NotFound(
                f"asset {asset_name!r} is not linked to AI system {system.name!r}",
                field="--unlink-asset",
                fix=f"linked assets: {', '.join(sorted(linked)) or '(none)'}",
            )
        system.assets.remove(asset)
    session.flush()
    return system
