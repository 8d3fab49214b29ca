"""Shared by the API tests: two organisations, a user per role with tokens, a client."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import FastAPI
from fastapi.testclient import TestClient

from annexa.accounts import create_token, create_user, grant
from annexa.api.app import create_app
from annexa.assets import add_asset
from annexa.orgs import create_organisation
from annexa.risk import add_risk
from annexa.store.db import Database
from annexa.store.models import Organisation
from annexa.suppliers import add_supplier

ORG_A = "test-org"
ORG_B = "other-org"
ROLES = ("admin", "editor", "contributor", "auditor", "viewer")
CONTRIBUTOR_NAME = "Carol Contributor"


@dataclass
class Api:
    app: FastAPI
    client: TestClient
    tokens: dict[str, str]  # role (or "bob", "editor-read") -> bearer secret
    database: Database
    token_ids: dict[str, int] = field(default_factory=dict)

    def as_(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def get(self, who: str, path: str, headers=None, **kwargs):  # type: ignore[no-untyped-def]
        return self.client.get(path, headers={**self.as_(who), **(headers or {})}, **kwargs)

    def send(self, who: str, method: str, path: str, body=None, headers=None, **kwargs):  # type: ignore[no-untyped-def]
        headers = {**self.as_(who), **(headers or {})}
        return self.client.request(method, path, headers=headers, json=body, **kwargs)


def seed(url: str) -> tuple[dict[str, str], dict[str, int]]:
    """Org A (test-org) with a user per role; org B with its own admin and records."""
    db = Database(url)
    tokens: dict[str, str] = {}
    ids: dict[str, int] = {}
    with db.transaction(actor="seed") as session:
        org_a = session.query(Organisation).filter_by(slug=ORG_A).one()
        org_b = create_organisation(session, "Other Org", slug=ORG_B)
        for role in ROLES:
            name = CONTRIBUTOR_NAME if role == "contributor" else f"{role.title()} User"
            user = create_user(session, f"{role}@a.example", name)
            grant(session, user, org_a, role)
            issued = create_token(session, user, "write")
            tokens[role], ids[role] = issued.secret, issued.token.id
            if role == "editor":
                read = create_token(session, user, "read")
                tokens["editor-read"], ids["editor-read"] = read.secret, read.token.id
        bob = create_user(session, "bob@b.example", "Bob")
        grant(session, bob, org_b, "admin")
        issued = create_token(session, bob, "write")
        tokens["bob"], ids["bob"] = issued.secret, issued.token.id

        add_asset(session, org_a, "Laptop", classification="internal", owner=CONTRIBUTOR_NAME)
        add_asset(session, org_a, "Server", classification="internal", owner="Someone Else")
        add_risk(session, org_a, title="Carol's risk", owner=CONTRIBUTOR_NAME)
        add_risk(session, org_a, title="Other risk", owner="Someone Else")
        add_supplier(session, org_a, "A Vendor")
        add_asset(session, org_b, "B Secret", classification="internal")
        add_supplier(session, org_b, "B Vendor")
        for n in range(3):
            add_risk(session, org_b, title=f"B risk {n}", likelihood=2, impact=2)
    db.dispose()
    return tokens, ids


def make_api(url: str) -> Api:
    tokens, ids = seed(url)
    app = create_app(url)
    return Api(app, TestClient(app), tokens, app.state.database, ids)
