"""The supplier register: records, filters, updates and input errors."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from annexa.errors import Conflict, NotFound
from annexa.orgs import create_organisation
from annexa.store.db import Database
from annexa.store.models import Organisation
from annexa.suppliers import add_supplier, get_supplier, list_suppliers, update_supplier
from tests.conftest import CliCall


def ok(result) -> dict:  # type: ignore[no-untyped-def]
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout) if result.stdout.lstrip().startswith("{") else {}


def test_add_list_show(cli: CliCall) -> None:
    added = ok(
        cli(
            "supplier",
            "add",
            "Microsoft",
            "--service",
            "Microsoft 365 and Copilot",
            "--criticality",
            "critical",
            "--personal-data",
            "--ai-provider",
            "--website",
            "https://microsoft.com",
            "--contact",
            "account manager",
            "--json",
        )
    )
    assert added == {
        "name": "Microsoft",
        "service": "Microsoft 365 and Copilot",
        "criticality": "critical",
        "processes_personal_data": True,
        "ai_provider": True,
        "website": "https://microsoft.com",
        "contact": "account manager",
        "notes": None,
    }
    ok(cli("supplier", "add", "Acme Shredding"))

    everyone = ok(cli("supplier", "list", "--json"))["suppliers"]
    assert [s["name"] for s in everyone] == ["Acme Shredding", "Microsoft"]
    assert everyone[0]["criticality"] == "medium"
    assert everyone[0]["processes_personal_data"] is False
    ai = ok(cli("supplier", "list", "--ai-provider", "--json"))["suppliers"]
    assert [s["name"] for s in ai] == ["Microsoft"]

    assert ok(cli("supplier", "show", "Microsoft", "--json")) == added
    assert "Microsoft 365" in cli("supplier", "show", "Microsoft").stdout


def test_bad_input_names_the_field_and_writes_nothing(cli: CliCall) -> None:
    bad = cli("supplier", "add", "Acme", "--criticality", "extreme")
    assert bad.exit_code == 2 and "--criticality:" in bad.stderr
    assert ok(cli("supplier", "list", "--json")) == {"suppliers": []}

    ok(cli("supplier", "add", "Acme"))
    duplicate = cli("supplier", "add", "Acme", "--criticality", "high")
    assert duplicate.exit_code == 2 and "name:" in duplicate.stderr
    missing = cli("supplier", "show", "Nobody")
    assert missing.exit_code == 2 and "name:" in missing.stderr
    assert ok(cli("supplier", "show", "Acme", "--json"))["criticality"] == "medium"


def test_update(cli: CliCall, db: Database) -> None:
    ok(cli("supplier", "add", "Acme", "--website", "https://acme.test", "--personal-data"))
    ok(cli("supplier", "add", "Globex"))
    updated = ok(
        cli(
            "supplier",
            "update",
            "Acme",
            "--name",
            "Acme Ltd",
            "--website",
            "",
            "--no-personal-data",
            "--criticality",
            "HIGH",
            "--json",
        )
    )
    assert updated["name"] == "Acme Ltd"
    assert updated["website"] is None
    assert updated["processes_personal_data"] is False
    assert updated["criticality"] == "high"

    clash = cli("supplier", "update", "Acme Ltd", "--name", "Globex")
    assert clash.exit_code == 2 and "--name:" in clash.stderr

    with db.transaction() as session:
        org = session.scalar(select(Organisation).where(Organisation.slug == "test-org"))
        supplier = update_supplier(session, org, "Acme Ltd", ai_provider=True, notes="DPA signed")
        # Options left as None keep their value.
        assert (supplier.name, supplier.criticality) == ("Acme Ltd", "high")
        assert supplier.ai_provider is True and supplier.notes == "DPA signed"


def test_suppliers_are_isolated_per_organisation(db: Database) -> None:
    with db.transaction() as session:
        first = session.scalar(select(Organisation).where(Organisation.slug == "test-org"))
        second = create_organisation(session, "Other Firm")
        add_supplier(session, first, "Shared Name")
        add_supplier(session, second, "Shared Name", criticality="critical")
        add_supplier(session, second, "Only Theirs")
        with pytest.raises(Conflict):
            add_supplier(session, second, "Only Theirs")
    with db.reading() as session:
        first = session.scalar(select(Organisation).where(Organisation.slug == "test-org"))
        assert [s.name for s in list_suppliers(session, first)] == ["Shared Name"]
        assert get_supplier(session, first, "Shared Name").criticality == "medium"
        with pytest.raises(NotFound) as missing:
            get_supplier(session, first, "Only Theirs", field="--supplier")
        assert missing.value.field == "--supplier"
