"""Context and scope (clauses 4.1-4.3): scope statement and items, issues, parties."""

from __future__ import annotations

import json

from sqlalchemy import select

from annexa.context import add_issue, add_scope_item, list_issues, list_scope_items
from annexa.orgs import create_organisation
from annexa.store.db import Database
from annexa.store.models import Organisation
from tests.conftest import CliCall


def ok(result) -> dict:  # type: ignore[no-untyped-def]
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout) if result.stdout.lstrip().startswith("{") else {}


def refused(result, field: str) -> None:  # type: ignore[no-untyped-def]
    assert result.exit_code == 2, result.output
    assert f"{field}:" in result.stderr, result.stderr


def test_scope_statement_and_items_grouped_by_kind(cli: CliCall) -> None:
    ok(cli("scope", "set", "--statement", "Legal services delivered from the London office"))
    ok(cli("scope", "add", "location", "London office"))
    ok(cli("scope", "add", "service", "Litigation", "--description", "disputes practice"))
    ok(cli("scope", "add", "data-flow", "Client portal uploads"))
    ok(cli("scope", "add", "ai_feature", "Contract summariser"))
    ok(cli("scope", "add", "location", "Paris office", "--out", "--reason", "separate entity"))

    scope = ok(cli("scope", "show", "--json"))
    assert scope["statement"] == "Legal services delivered from the London office"
    # Grouped in the order of SCOPE_KINDS, not in the order they were added.
    assert [(i["kind"], i["name"]) for i in scope["in_scope"]] == [
        ("service", "Litigation"),
        ("location", "London office"),
        ("data_flow", "Client portal uploads"),
        ("ai_feature", "Contract summariser"),
    ]
    assert scope["in_scope"][0]["description"] == "disputes practice"
    assert scope["out_of_scope"] == [
        {
            "kind": "location",
            "name": "Paris office",
            "description": None,
            "in_scope": False,
            "exclusion_reason": "separate entity",
        }
    ]
    human = cli("scope", "show")
    assert "Out of scope" in human.stdout and "separate entity" in human.stdout

    ok(cli("scope", "remove", "location", "Paris office"))
    items = ok(cli("scope", "list", "--json"))["scope_items"]
    assert len(items) == 4 and all(i["in_scope"] for i in items)
    refused(cli("scope", "remove", "location", "Paris office"), "name")


def test_scope_without_statement_shows_null(cli: CliCall) -> None:
    assert ok(cli("scope", "show", "--json")) == {
        "statement": None,
        "in_scope": [],
        "out_of_scope": [],
    }
    refused(cli("scope", "set", "--statement", "  "), "--statement")


def test_bad_scope_items_are_refused_and_nothing_is_written(cli: CliCall) -> None:
    refused(cli("scope", "add", "location", "Paris office", "--out"), "--reason")
    refused(cli("scope", "add", "location", "Paris office", "--reason", "why"), "--reason")
    refused(cli("scope", "add", "planet", "Mars"), "kind")
    assert ok(cli("scope", "list", "--json")) == {"scope_items": []}

    ok(cli("scope", "add", "system", "Document management"))
    duplicate = cli("scope", "add", "system", "Document management")
    refused(duplicate, "name")
    assert "already" in duplicate.stderr
    # The same name under another kind is a different item.
    ok(cli("scope", "add", "service", "Document management"))
    assert len(ok(cli("scope", "list", "--json"))["scope_items"]) == 2
    refused(cli("scope", "list", "--kind", "planet"), "--kind")


def test_issues(cli: CliCall) -> None:
    ok(cli("issue", "add", "Staff use public AI tools", "--kind", "internal"))
    added = ok(
        cli(
            "issue",
            "add",
            "EU AI Act obligations",
            "--kind",
            "external",
            "--category",
            "Legal",
            "--description",
            "deployer duties from 2026",
            "--json",
        )
    )
    assert added == {
        "title": "EU AI Act obligations",
        "kind": "external",
        "category": "legal",
        "description": "deployer duties from 2026",
    }
    external = ok(cli("issue", "list", "--kind", "external", "--json"))["issues"]
    assert [i["title"] for i in external] == ["EU AI Act obligations"]
    assert len(ok(cli("issue", "list", "--json"))["issues"]) == 2

    refused(cli("issue", "add", "EU AI Act obligations", "--kind", "external"), "title")
    refused(cli("issue", "add", "Something", "--kind", "sideways"), "--kind")
    assert len(ok(cli("issue", "list", "--json"))["issues"]) == 2
    ok(cli("issue", "remove", "Staff use public AI tools"))
    assert len(ok(cli("issue", "list", "--json"))["issues"]) == 1


def test_interested_parties(cli: CliCall) -> None:
    ok(
        cli(
            "party",
            "add",
            "Solicitors Regulation Authority",
            "--category",
            "regulator",
            "--requirements",
            "confidentiality of client affairs",
        )
    )
    ok(
        cli(
            "party",
            "add",
            "Professional indemnity insurer",
            "--category",
            "insurer",
            "--not-addressed",
        )
    )
    parties = ok(cli("party", "list", "--json"))["parties"]
    assert parties == [
        {
            "name": "Professional indemnity insurer",
            "category": "insurer",
            "requirements": None,
            "addressed_in_isms": False,
        },
        {
            "name": "Solicitors Regulation Authority",
            "category": "regulator",
            "requirements": "confidentiality of client affairs",
            "addressed_in_isms": True,
        },
    ]
    refused(cli("party", "add", "Solicitors Regulation Authority"), "name")
    refused(cli("party", "add", "Martians", "--category", "alien"), "--category")
    assert len(ok(cli("party", "list", "--json"))["parties"]) == 2


def test_context_is_isolated_per_organisation(db: Database) -> None:
    with db.transaction() as session:
        first = session.scalar(select(Organisation).where(Organisation.slug == "test-org"))
        second = create_organisation(session, "Other Firm")
        add_scope_item(session, first, "service", "Litigation")
        # Same name in another organisation is no duplicate.
        add_scope_item(
            session, second, "service", "Litigation", in_scope=False, exclusion_reason="not offered"
        )
        add_issue(session, second, "Only theirs", kind="internal")
    with db.reading() as session:
        first = session.scalar(select(Organisation).where(Organisation.slug == "test-org"))
        mine = list_scope_items(session, first)
        assert [(i.name, i.in_scope) for i in mine] == [("Litigation", True)]
        assert list_issues(session, first) == []
