"""The information asset inventory (ISO/IEC 27001 A.5.9, A.5.12).

Every asset carries a classification level and tags from the organisation's scheme, so
risks, AI systems and controls can reason about what information is at stake.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from annexa.assets.classification import get_scheme, validate_level, validate_tags
from annexa.errors import Conflict, NotFound
from annexa.store.models import (
    AISystem,
    AISystemAsset,
    Asset,
    Organisation,
    Risk,
    RiskAsset,
    Supplier,
)
from annexa.store.named import NamedKind
from annexa.suppliers import get_supplier
from annexa.validation import choice, optional_text, require_text

ASSET_KINDS = ("information", "software", "hardware", "service", "people", "site")


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def asset_to_dict(asset: Asset) -> dict[str, Any]:
    return {
        "name": asset.name,
        "kind": asset.kind,
        "classification": asset.classification,
        "tags": list(asset.tags or []),
        "owner": asset.owner,
        "location": asset.location,
        "supplier": asset.supplier.name if asset.supplier is not None else None,
        "description": asset.description,
        "updated_at": _iso(asset.updated_at),
    }


ASSET = NamedKind(
    Asset,
    "asset",
    "an asset",
    list_fix="see `annexa asset list`, or add it with `annexa asset add NAME`",
    update_command="annexa asset update",
)


def find_asset(session: Session, org: Organisation, name: str) -> Asset | None:
    return ASSET.find(session, org.id, name)


def get_asset(session: Session, org: Organisation, name: str, *, field: str = "name") -> Asset:
    """The asset called ``name``; ``field`` names the input in the error when missing."""
    return ASSET.require(find_asset(session, org, name or ""), name, field)


def _ensure_name_free(session: Session, org: Organisation, name: str, field: str) -> None:
    ASSET.ensure_free(session, org.id, name, field)


def add_asset(
    session: Session,
    org: Organisation,
    name: str,
    *,
    classification: str,
    kind: str = "information",
    description: str | None = None,
    owner: str | None = None,
    tags: Iterable[str] | str | None = None,
    location: str | None = None,
    supplier: str | None = None,
) -> Asset:
    scheme = get_scheme(org)
    name = require_text(name, "name")
    asset = Asset(
        org_id=org.id,
        name=name,
        kind=choice(kind, "--kind", ASSET_KINDS),
        classification=validate_level(scheme, classification),
        tags=validate_tags(scheme, tags),
        description=optional_text(description, "--description"),
        owner=optional_text(owner, "--owner", max_length=200),
        location=optional_text(location, "--location", max_length=200),
        supplier=get_supplier(session, org, supplier, field="--supplier") if supplier else None,
    )
    _ensure_name_free(session, org, name, "name")
    session.add(asset)
    session.flush()
    return asset


def list_assets(
    session: Session,
    org: Organisation,
    *,
    classification: str | None = None,
    tag: str | None = None,
    owner: str | None = None,
    kind: str | None = None,
) -> list[dict[str, Any]]:
    """Assets as dicts (same keys as :func:`asset_to_dict`), ordered by name.

    One query selecting columns with the supplier's name joined in: no ORM objects and no
    per-row lazy loads, so the inventory stays fast at tens of thousands of assets.
    """
    scheme = get_scheme(org)
    query = (
        select(
            Asset.name,
            Asset.kind,
            Asset.classification,
            Asset.tags,
            Asset.owner,
            Asset.location,
            Supplier.name.label("supplier"),
            Asset.description,
            Asset.updated_at,
        )
        .outerjoin(Supplier, Supplier.id == Asset.supplier_id)
        .where(Asset.org_id == org.id)
        .order_by(Asset.name)
    )
    if classification is not None:
        query = query.where(Asset.classification == validate_level(scheme, classification))
    if kind is not None:
        query = query.where(Asset.kind == choice(kind, "--kind", ASSET_KINDS))
    if owner is not None:
        query = query.where(Asset.owner == owner.strip())
    # JSON containment differs between SQLite and PostgreSQL; filtering the already
    # narrow rows in Python keeps one code path and costs microseconds per row.
    wanted_tag = validate_tags(scheme, [tag])[0] if tag is not None and tag.strip() else None
    assets = []
    for row in session.execute(query):
        tags = list(row.tags or [])
        if wanted_tag is not None and wanted_tag not in tags:
            continue
        assets.append(
            {
                "name": row.name,
                "kind": row.kind,
                "classification": row.classification,
                "tags": tags,
                "owner": row.owner,
                "location": row.location,
                "supplier": row.supplier,
                "description": row.description,
                "updated_at": _iso(row.updated_at),
            }
        )
    return assets


def update_asset(
    session: Session,
    org: Organisation,
    name: str,
    *,
    new_name: str | None = None,
    classification: str | None = None,
    kind: str | None = None,
    description: str | None = None,
    owner: str | None = None,
    tags: Iterable[str] | str | None = None,
    location: str | None = None,
    supplier: str | None = None,
) -> Asset:
    """Change the given fields; ``None`` leaves a field alone, ``""`` clears it.

    ``tags`` replaces the whole set (an empty list clears it).
    """
    scheme = get_scheme(org)
    asset = get_asset(session, org, name)
    if new_name is not None:
        cleaned = require_text(new_name, "--name")
        if cleaned != asset.name:
            _ensure_name_free(session, org, cleaned, "--name")
            asset.name = cleaned
    if classification is not None:
        asset.classification = validate_level(scheme, classification)
    if kind is not None:
        asset.kind = choice(kind, "--kind", ASSET_KINDS)
    if tags is not None:
        asset.tags = validate_tags(scheme, tags)
    if description is not None:
        asset.description = optional_text(description, "--description")
    if owner is not None:
        asset.owner = optional_text(owner, "--owner", max_length=200)
    if location is not None:
        asset.location = optional_text(location, "--location", max_length=200)
    if supplier is not None:
        asset.supplier = (
            get_supplier(session, org, supplier, field="--supplier") if supplier.strip() else None
        )
    session.flush()
    return asset


def asset_usage(session: Session, org: Organisation, asset: Asset) -> dict[str, list[str]]:
    """What refers to an asset: risk refs and AI system names."""
    risks = session.scalars(
        select(Risk.ref)
        .join(RiskAsset, RiskAsset.risk_id == Risk.id)
        .where(Risk.org_id == org.id, RiskAsset.asset_id == asset.id)
        .order_by(Risk.ref)
    ).all()
    ai_systems = session.scalars(
        select(AISystem.name)
        .join(AISystemAsset, AISystemAsset.ai_system_id == AISystem.id)
        .where(AISystem.org_id == org.id, AISystemAsset.asset_id == asset.id)
        .order_by(AISystem.name)
    ).all()
    return {"risks": list(risks), "ai_systems": list(ai_systems)}


def remove_asset(session: Session, org: Organisation, name: str) -> None:
    """Delete an asset that nothing refers to; linked risks or AI systems keep it."""
    asset = get_asset(session, org, name)
    usage = asset_usage(session, org, asset)
    users = [f"risk {ref}" for ref in usage["risks"]] + [
        f"AI system {n!r}" for n in usage["ai_systems"]
    ]
    if users:
        # Silently dropping the link would make a risk or AI record lose what it is about.
        raise Conflict(
            f"asset {asset.name!r} is used by {', '.join(users)}",
            field="name",
            fix="unlink it from those records first",
        )
    session.delete(asset)
    session.flush()


def require_asset_names(
    session: Session, org: Organisation, names: Iterable[str], *, field: str = "--asset"
) -> list[Asset]:
    """Resolve asset names in one query, naming the first unknown one."""
    wanted = [n.strip() for n in names if n and n.strip()]
    if not wanted:
        return []
    found = {
        a.name: a
        for a in session.scalars(
            select(Asset).where(Asset.org_id == org.id, Asset.name.in_(wanted))
        )
    }
    for name in wanted:
        if name not in found:
            raise NotFound(
                f"no asset called {name!r}",
                field=field,
                fix="see `annexa asset list`, or add it with `annexa asset add NAME`",
            )
    unique: dict[str, Asset] = {}
    for name in wanted:
        unique.setdefault(name, found[name])
    return list(unique.values())
