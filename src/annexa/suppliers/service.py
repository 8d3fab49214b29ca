"""Suppliers (ISO/IEC 27001 A.5.19-A.5.22, 42001 A.10.3) as plain records.

Certificates and assessments will hang off these records later; for now a supplier is
what assets and AI systems point at, with the facts that decide how closely to watch it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from annexa.store.models import Organisation, Supplier
from annexa.store.named import NamedKind
from annexa.validation import choice, optional_text, require_text

CRITICALITY = ("low", "medium", "high", "critical")


def supplier_to_dict(supplier: Supplier) -> dict[str, Any]:
    return {
        "name": supplier.name,
        "service": supplier.service,
        "criticality": supplier.criticality,
        "processes_personal_data": supplier.processes_personal_data,
        "ai_provider": supplier.ai_provider,
        "website": supplier.website,
        "contact": supplier.contact,
        "notes": supplier.notes,
    }


SUPPLIER = NamedKind(
    Supplier,
    "supplier",
    "a supplier",
    list_fix="see `annexa supplier list`, or add it with `annexa supplier add NAME`",
    update_command="annexa supplier update",
)


def find_supplier(session: Session, org: Organisation, name: str) -> Supplier | None:
    return SUPPLIER.find(session, org.id, name)


def get_supplier(
    session: Session, org: Organisation, name: str, *, field: str = "name"
) -> Supplier:
    """The supplier called ``name``; ``field`` names the input in the error when missing."""
    return SUPPLIER.require(find_supplier(session, org, name or ""), name, field)


def _ensure_name_free(session: Session, org: Organisation, name: str, field: str) -> None:
    SUPPLIER.ensure_free(session, org.id, name, field)


def add_supplier(
    session: Session,
    org: Organisation,
    name: str,
    *,
    service: str | None = None,
    criticality: str = "medium",
    processes_personal_data: bool = False,
    ai_provider: bool = False,
    website: str | None = None,
    contact: str | None = None,
    notes: str | None = None,
) -> Supplier:
    name = require_text(name, "name")
    supplier = Supplier(
        org_id=org.id,
        name=name,
        service=optional_text(service, "--service"),
        criticality=choice(criticality, "--criticality", CRITICALITY),
        processes_personal_data=processes_personal_data,
        ai_provider=ai_provider,
        website=optional_text(website, "--website", max_length=300),
        contact=optional_text(contact, "--contact", max_length=200),
        notes=optional_text(notes, "--notes"),
    )
    _ensure_name_free(session, org, name, "name")
    session.add(supplier)
    session.flush()
    return supplier


def list_suppliers(
    session: Session,
    org: Organisation,
    *,
    ai_provider: bool | None = None,
    criticality: str | None = None,
) -> list[Supplier]:
    query = select(Supplier).where(Supplier.org_id == org.id)
    if ai_provider is not None:
        query = query.where(Supplier.ai_provider == ai_provider)
    if criticality is not None:
        query = query.where(
            Supplier.criticality == choice(criticality, "--criticality", CRITICALITY)
        )
    return list(session.scalars(query.order_by(Supplier.name)))


def update_supplier(
    session: Session,
    org: Organisation,
    name: str,
    *,
    new_name: str | None = None,
    service: str | None = None,
    criticality: str | None = None,
    processes_personal_data: bool | None = None,
    ai_provider: bool | None = None,
    website: str | None = None,
    contact: str | None = None,
    notes: str | None = None,
) -> Supplier:
    """Change the given fields; ``None`` leaves a field alone, ``""`` clears a text field."""
    supplier = get_supplier(session, org, name)
    if new_name is not None:
        cleaned = require_text(new_name, "--name")
        if cleaned != supplier.name:
            _ensure_name_free(session, org, cleaned, "--name")
            supplier.name = cleaned
    if service is not None:
        supplier.service = optional_text(service, "--service")
    if criticality is not None:
        supplier.criticality = choice(criticality, "--criticality", CRITICALITY)
    if processes_personal_data is not None:
        supplier.processes_personal_data = processes_personal_data
    if ai_provider is not None:
        supplier.ai_provider = ai_provider
    if website is not None:
        supplier.website = optional_text(website, "--website", max_length=300)
    if contact is not None:
        supplier.contact = optional_text(contact, "--contact", max_length=200)
    if notes is not None:
        supplier.notes = optional_text(notes, "--notes")
    session.flush()
    return supplier
