"""Who may do what: the role × endpoint matrix, token scope, and tenant isolation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.routing import APIRoute

from annexa.api.routers import ROUTERS
from annexa.risk.matrix import DEFAULT_MATRIX_DATA
from tests.api_support import CONTRIBUTOR_NAME, ORG_A, ORG_B, ROLES, Api, make_api

A = f"/api/v1/orgs/{ORG_A}"
B = f"/api/v1/orgs/{ORG_B}"
OTHER = "Someone Else"
FRAMEWORK = (Path(__file__).parent / "data" / "catalog_custom.yaml").read_text(encoding="utf-8")


@pytest.fixture
def api(db_url: str) -> Api:
    built = make_api(db_url)
    yield built
    built.database.dispose()


def _writes(role: str) -> list[tuple[str, str, dict, bool]]:
    """(method, path, body, contributor may) — one representative write per domain."""
    return [
        ("PUT", f"{A}/scope/statement", {"statement": f"Scope by {role}"}, False),
        ("POST", f"{A}/issues", {"title": f"Issue {role}", "kind": "external"}, False),
        ("POST", f"{A}/parties", {"name": f"Party {role}"}, False),
        ("POST", f"{A}/suppliers", {"name": f"Supplier {role}"}, False),
        ("PATCH", f"{A}/assets/Laptop", {"description": f"by {role}"}, True),
        ("PATCH", f"{A}/assets/Server", {"description": f"by {role}"}, False),
        (
            "POST",
            f"{A}/assets",
            {"name": f"Mine {role}", "classification": "internal", "owner": CONTRIBUTOR_NAME},
            True,
        ),
        (
            "POST",
            f"{A}/assets",
            {"name": f"Theirs {role}", "classification": "internal", "owner": OTHER},
            False,
        ),
        (
            "POST",
            f"{A}/ai-systems",
            {"name": f"AI {role}", "purpose": "Drafting", "owner": "contributor@a.example"},
            True,
        ),
        ("POST", f"{A}/ai-systems", {"name": f"AI2 {role}", "purpose": "x", "owner": OTHER}, False),
        ("POST", f"{A}/risks/R-0001/assess", {"likelihood": 3, "impact": 3}, True),
        ("POST", f"{A}/risks/R-0002/assess", {"likelihood": 3, "impact": 3}, False),
        # a contributor may not give their risk away (the others keep its owner)
        (
            "PATCH",
            f"{A}/risks/R-0001",
            {"owner": OTHER if role == "contributor" else CONTRIBUTOR_NAME},
            False,
        ),
        ("POST", f"{A}/risks", {"title": f"Risk {role}", "owner": CONTRIBUTOR_NAME}, True),
        ("POST", f"{A}/risks", {"title": f"Risk2 {role}", "owner": OTHER}, False),
        ("POST", f"{A}/risks/R-0002/accept", {"approver": "MP", "expires": "2027-11-30"}, False),
        (
            "PUT",
            f"{A}/soa/controls/A.5.1",
            {"status": "planned", "applicable": True, "justification": "Policy"},
            False,
        ),
        ("PUT", f"{A}/risk-matrix", DEFAULT_MATRIX_DATA, False),
        ("POST", f"{A}/catalogs", {"yaml": FRAMEWORK, "id": f"custom-{role}"}, False),
    ]


READS = [
    f"{A}",
    f"{A}/scope",
    f"{A}/issues",
    f"{A}/parties",
    f"{A}/suppliers",
    f"{A}/assets",
    f"{A}/assets/Laptop",
    f"{A}/ai-systems",
    f"{A}/classification",
    f"{A}/risks",
    f"{A}/risks/R-0001",
    f"{A}/risk-matrix",
    f"{A}/soa",
    f"{A}/soa/versions",
    f"{A}/status",
    f"{A}/catalogs",
    f"{A}/catalogs/iso27001-2022",
    "/api/v1/catalogs",
    "/api/v1/mappings",
    "/api/v1/threats",
]
AUDIT_READS = [
    f"{A}/audit/events",
    f"{A}/audit/consistency?from=1&to=1",
    f"{A}/audit/verify",
]


def test_role_matrix(api: Api) -> None:
    # the accept below needs a rated, treated risk
    rated = api.send("admin", "POST", f"{A}/risks/R-0002/assess", {"likelihood": 2, "impact": 2})
    assert rated.status_code == 200, rated.text
    treated = api.send(
        "admin", "POST", f"{A}/risks/R-0002/treat",
        {"option": "retain", "residual_likelihood": 1, "residual_impact": 1},
    )  # fmt: skip
    assert treated.status_code == 200, treated.text
    for role in ROLES:
        for path in READS:
            assert api.get(role, path).status_code == 200, (role, path)
        for path in AUDIT_READS:
            expected = 200 if role in ("admin", "auditor") else 403
            assert api.get(role, path).status_code == expected, (role, path)
        for method, path, body, contributor_may in _writes(role):
            response = api.send(role, method, path, body)
            if role in ("admin", "editor") or (role == "contributor" and contributor_may):
                assert response.status_code in (200, 201), (role, method, path, response.text)
            else:
                assert response.status_code == 403, (role, method, path, response.text)
                assert response.json()["error"]["code"] == "forbidden"
    # the read-scoped token of an editor writes nothing
    for method, path, body, _ in _writes("editor-read"):
        assert api.send("editor-read", method, path, body).status_code == 403, path


# Administration: the organisation's admin only (reads: any token; changes: a write token).
ADMIN_READS = [f"{A}/users", f"{A}/users/viewer@a.example", f"{A}/tokens", f"{A}/oidc"]


def _admin_writes(role: str) -> list[tuple[str, str, dict | None]]:
    return [
        ("POST", f"{A}/users", {"email": f"new-{role}@a.example", "display_name": "New"}),
        ("PUT", f"{A}/users/viewer@a.example/role", {"role": "viewer"}),
        ("POST", f"{A}/users/contributor@a.example/deactivate", None),
        ("POST", f"{A}/users/contributor@a.example/activate", None),
        ("POST", f"{A}/users/viewer@a.example/unlock", None),
        ("PUT", f"{A}/oidc", {"issuer": "https://idp.example", "client_id": f"c-{role}"}),
        ("POST", f"{A}/guard/vault/purge", None),
    ]


def test_admin_role_matrix(api: Api) -> None:
    set_up = api.send(
        "admin", "PUT", f"{A}/oidc", {"issuer": "https://idp.example", "client_id": "c"}
    )
    assert set_up.status_code == 200, set_up.text
    for role in ROLES:
        for path in ADMIN_READS:
            expected = 200 if role == "admin" else 403
            assert api.get(role, path).status_code == expected, (role, path)
        for method, path, body in _admin_writes(role):
            response = api.send(role, method, path, body)
            if role == "admin":
                assert response.status_code in (200, 201), (role, method, path, response.text)
            else:
                assert response.status_code == 403, (role, method, path, response.text)
                assert response.json()["error"]["code"] == "forbidden"
        # everyone manages their own tokens
        assert api.get(role, "/api/v1/me/tokens").status_code == 200, role
        created = api.send(role, "POST", "/api/v1/me/tokens", {"scope": "read"})
        assert created.status_code == 201, (role, created.text)
        revoke = f"/api/v1/me/tokens/{created.json()['id']}"
        assert api.send(role, "DELETE", revoke).status_code == 204, role
    # revoking a member's token, and removing roles and single sign-on, come last
    for role in ("viewer", "auditor", "contributor", "editor"):
        token = api.token_ids["viewer"]
        assert api.send(role, "DELETE", f"{A}/tokens/{token}").status_code == 403, role
        assert api.send(role, "DELETE", f"{A}/users/viewer@a.example/role").status_code == 403
        assert api.send(role, "DELETE", f"{A}/oidc").status_code == 403, role
    assert api.send("admin", "DELETE", f"{A}/tokens/{api.token_ids['viewer']}").status_code == 204
    assert api.send("admin", "DELETE", f"{A}/users/viewer@a.example/role").status_code == 204
    assert api.send("admin", "DELETE", f"{A}/oidc").status_code == 204
    # the read-scoped token of an editor changes nothing here either
    for method, path, body in _admin_writes("editor-read"):
        assert api.send("editor-read", method, path, body).status_code == 403, path
    assert (
        api.send("editor-read", "POST", "/api/v1/me/tokens", {"scope": "read"}).status_code == 403
    )


def _sample(path: str) -> str:
    values = {"org": ORG_B, "kind": "location", "ref": "R-0001", "fw": "iso27001-2022"}
    return re.sub(r"{(\w+)(?::path)?}", lambda m: values.get(m.group(1), "B Secret"), path)


def test_tenant_isolation(api: Api) -> None:
    routes = [r for router in ROUTERS for r in router.routes if isinstance(r, APIRoute)]
    org_routes = [r for r in routes if r.path.startswith("/orgs/{org}")]
    assert len(org_routes) > 35
    # every org-B path answers 404 to org-A users, whatever their role: B's existence is
    # not revealed (the same as an organisation that does not exist)
    for who in ("admin", "viewer"):
        for route in org_routes:
            path = "/api/v1" + _sample(route.path)
            for method in route.methods:
                response = api.send(who, method, path, {})
                assert response.status_code == 404, (who, method, path, response.text)
                assert response.json()["error"]["field"] == "org"
    unknown = api.get("admin", "/api/v1/orgs/no-such-org/risks").json()["error"]
    foreign = api.get("admin", f"{B}/risks").json()["error"]
    assert unknown["message"].replace("no-such-org", ORG_B) == foreign["message"]
    # B's admin sees B, but not A
    assert api.get("bob", f"{B}/risks").json()["total"] == 3
    assert api.get("bob", f"{A}/risks").status_code == 404
    assert api.get("bob", "/api/v1/orgs").json()["items"][0]["slug"] == ORG_B

    # org-A paths naming org-B records: 404, and nothing of B changes
    for method, path, body in [
        ("GET", f"{A}/assets/B Secret", None),
        ("PATCH", f"{A}/assets/B Secret", {"description": "x"}),
        ("DELETE", f"{A}/assets/B Secret", None),
        ("GET", f"{A}/suppliers/B Vendor", None),
        ("PATCH", f"{A}/suppliers/B Vendor", {"notes": "x"}),
        ("GET", f"{A}/risks/R-0003", None),
        ("POST", f"{A}/risks/R-0003/assess", {"likelihood": 1, "impact": 1}),
        ("POST", f"{A}/risks", {"title": "Linked", "assets": ["B Secret"]}),
        ("POST", f"{A}/ai-systems", {"name": "Z", "purpose": "z", "supplier": "B Vendor"}),
    ]:
        response = api.send("admin", method, path, body)
        assert response.status_code == 404, (method, path, response.text)
    assert api.get("bob", f"{B}/assets/B Secret").json()["description"] is None

    # audit: A's auditor sees no B event, and gets no proof of one
    b_events = api.get("bob", f"{B}/audit/events", params={"limit": 1}).json()["items"]
    index = b_events[0]["seq"]
    assert api.get("auditor", f"{A}/audit/proof", params={"index": index}).status_code == 404
    a_events = api.get("auditor", f"{A}/audit/events", params={"limit": 500}).json()["items"]
    assert index not in {e["seq"] for e in a_events}
