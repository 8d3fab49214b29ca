"""The REST API: authentication, errors, lists, exports, headers and the audit trail."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import openpyxl
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import update

from annexa.api.deps import PERMISSION_ATTRIBUTE
from annexa.store.models import ApiToken
from tests.api_support import ORG_A, Api, make_api
from tests.test_risk_matrix import THREE_BY_THREE

A = f"/api/v1/orgs/{ORG_A}"


@pytest.fixture
def api(db_url: str) -> Api:
    built = make_api(db_url)
    yield built
    built.database.dispose()


def _permissions(dependant) -> set[str]:  # type: ignore[no-untyped-def]
    found = set()
    for dep in dependant.dependencies:
        permission = getattr(dep.call, PERMISSION_ATTRIBUTE, None)
        if permission is not None:
            found.add(str(permission))
        found |= _permissions(dep)
    return found


def test_every_route_has_an_explicit_permission(api: Api) -> None:
    from annexa.api.routers import ROUTERS

    routes = [r for router in ROUTERS for r in router.routes if isinstance(r, APIRoute)]
    assert len(routes) > 40
    for route in routes:
        if route.path == "/health":
            continue
        assert len(_permissions(route.dependant)) == 1, route.path
    # the OpenAPI document lists exactly these routes: nothing is mounted around them
    documented = set(api.client.get("/api/openapi.json").json()["paths"])
    assert documented == {"/api/v1" + r.path.replace(":path", "") for r in routes}


def test_authentication(api: Api) -> None:
    client = api.client
    assert client.get("/api/v1/health").json() == {"status": "ok"}
    assert client.get("/api/openapi.json").status_code == 200
    assert client.get("/api/docs").status_code == 200
    for path in ("/api/v1/me", "/api/v1/catalogs", f"{A}/risks", f"{A}/audit/events"):
        response = client.get(path)
        assert response.status_code == 401, path
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json()["error"]["code"] == "unauthenticated"
    for bad in ("Bearer anx_nope", "Basic dXNlcjpwYXNz", api.tokens["admin"]):
        assert client.get(f"{A}/risks", headers={"Authorization": bad}).status_code == 401

    me = api.get("editor", "/api/v1/me").json()
    assert me["email"] == "editor@a.example" and me["token"]["scope"] == "write"
    assert api.get("editor", "/api/v1/orgs").json()["items"] == [
        {"slug": ORG_A, "name": "Test Org", "role": "editor"}
    ]

    # read scope reads but cannot write
    assert api.get("editor-read", f"{A}/suppliers").status_code == 200
    denied = api.send("editor-read", "POST", f"{A}/suppliers", {"name": "X"})
    assert denied.status_code == 403 and denied.json()["error"]["field"] == "scope"

    # expired and revoked tokens
    with api.database.transaction() as session:
        session.execute(
            update(ApiToken)
            .where(ApiToken.id == api.token_ids["viewer"])
            .values(expires_at=dt.datetime(2020, 1, 1))
        )
        session.execute(
            update(ApiToken)
            .where(ApiToken.id == api.token_ids["auditor"])
            .values(revoked_at=dt.datetime(2020, 1, 1))
        )
    assert api.get("viewer", f"{A}/risks").status_code == 401
    assert api.get("auditor", f"{A}/risks").status_code == 401


def test_security_headers_and_request_id(api: Api) -> None:
    response = api.get("viewer", f"{A}/risks", headers={})
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert len(response.headers["x-request-id"]) == 32
    given = api.client.get("/api/v1/health", headers={"X-Request-ID": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    odd = api.client.get("/api/v1/health", headers={"X-Request-ID": "a b\tc" * 30})
    assert odd.headers["x-request-id"] != "a b\tc" * 30


def test_error_shape(api: Api) -> None:
    rated = api.send("editor", "POST", f"{A}/risks/R-0001/assess", {"likelihood": 7, "impact": 2})
    assert rated.status_code == 422
    error = rated.json()["error"]
    assert error["code"] == "invalid_input" and error["field"] == "likelihood"
    assert set(rated.json()) == {"error"} and set(error) == {"code", "message", "field"}

    typed = api.send("editor", "POST", f"{A}/risks/R-0001/assess", {"likelihood": "high"})
    assert typed.status_code == 422 and typed.json()["error"]["field"] == "likelihood"
    extra = api.send("editor", "POST", f"{A}/suppliers", {"name": "Y", "colour": "red"})
    assert extra.status_code == 422 and extra.json()["error"]["field"] == "colour"
    assert api.get("editor", f"{A}/risks", params={"limit": 501}).status_code == 422
    assert api.get("editor", f"{A}/risks", params={"sort": "secret"}).json()["error"] == {
        "code": "invalid_input",
        "message": "cannot sort by 'secret' — fix: use one of: "
        "ref, title, owner, status, treatment, review_date",
        "field": "sort",
    }
    missing = api.get("editor", f"{A}/risks/R-0999")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    dup = api.send("editor", "POST", f"{A}/suppliers", {"name": "A Vendor"})
    assert dup.status_code == 409 and dup.json()["error"]["code"] == "conflict"
    nowhere = api.get("editor", "/api/v1/nowhere")
    assert nowhere.status_code == 404 and nowhere.json()["error"]["code"] == "not_found"
    # "²" is a digit to str.isdigit() but not to int(): found by the schema fuzzing
    for version in ("²", "9" * 5000):
        odd = api.get("viewer", f"{A}/soa/diff", params={"from": version, "to": "current"})
        assert odd.status_code == 422 and odd.json()["error"]["field"] == "from"
    for length in ("²".encode("latin-1"), b"9" * 5000):
        body = {"text": "mail jane@example.com"}
        sized = api.send("editor", "POST", f"{A}/guard/scan", body, {"Content-Length": length})
        assert sized.status_code == 200, sized.text  # the length read, not the one declared


def test_unexpected_errors_hide_their_details(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from annexa.readiness import cache

    def boom(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("secret internals /etc/passwd")

    monkeypatch.setattr(cache, "readiness", boom)
    client = TestClient(api.app, raise_server_exceptions=False)
    response = client.get(f"{A}/status", headers=api.as_("viewer"))
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal"
    assert "secret internals" not in response.text and "Traceback" not in response.text
    assert "secret internals" in caplog.text  # logged server-side
    assert api.tokens["viewer"] not in caplog.text


def test_pagination_filters_and_sorting(api: Api) -> None:
    for n, criticality in enumerate(["high", "low", "high", "medium", "high", "low"]):
        created = api.send(
            "editor", "POST", f"{A}/suppliers", {"name": f"S{n}", "criticality": criticality}
        )
        assert created.status_code == 201, created.text
    everything = api.get("viewer", f"{A}/suppliers").json()
    assert everything["total"] == 7 and everything["limit"] == 100 and everything["offset"] == 0
    window = api.get("viewer", f"{A}/suppliers", params={"limit": 2, "offset": 2}).json()
    assert [s["name"] for s in window["items"]] == ["S1", "S2"] and window["total"] == 7
    high = api.get("viewer", f"{A}/suppliers", params={"criticality": "high", "sort": "-name"})
    assert [s["name"] for s in high.json()["items"]] == ["S4", "S2", "S0"]
    assert high.json()["total"] == 3
    beyond = api.get("viewer", f"{A}/suppliers", params={"offset": 50}).json()
    assert beyond["items"] == [] and beyond["total"] == 7
    mine = api.get("viewer", f"{A}/risks", params={"owner": "Carol Contributor"}).json()
    assert [r["ref"] for r in mine["items"]] == ["R-0001"]


def test_risk_lifecycle_soa_and_exports(api: Api) -> None:
    added = api.send(
        "editor",
        "POST",
        f"{A}/risks",
        {"title": "Prompt leak", "threat_id": "AI-06", "likelihood": 4, "impact": 5},
    )
    assert added.status_code == 201, added.text
    ref = added.json()["ref"]
    treated = api.send(
        "editor",
        "POST",
        f"{A}/risks/{ref}/treat",
        {"option": "modify", "controls": ["A.8.12"], "residual_likelihood": 2,
         "residual_impact": 4, "due": "2027-01-31"},
    )  # fmt: skip
    assert treated.status_code == 200, treated.text
    assert treated.json()["controls"] and treated.json()["treatment"] == "modify"
    accepted = api.send(
        "editor", "POST", f"{A}/risks/{ref}/accept", {"approver": "MP", "expires": "2027-11-30"}
    )
    assert accepted.status_code == 200, accepted.text

    decided = api.send(
        "editor",
        "PUT",
        f"{A}/soa/controls/A.8.4",
        {"applicable": False, "justification": "No source code is held"},
    )
    assert decided.status_code == 200 and decided.json()["applicable"] is False
    soa = api.get("viewer", f"{A}/soa", params={"limit": 5}).json()
    assert soa["total"] == 93 and len(soa["items"]) == 5 and soa["summary"]["controls"] == 93
    published = api.send("editor", "POST", f"{A}/soa/publish", {"allow_undecided": True})
    assert published.status_code == 201 and published.json()["version"] == 1
    assert api.get("viewer", f"{A}/soa/versions").json()["total"] == 1
    changes = api.get("viewer", f"{A}/soa/diff", params={"from": "1", "to": "current"})
    assert changes.status_code == 200 and changes.json()["changes"] == []

    xlsx = api.get("viewer", f"{A}/soa/export", params={"format": "xlsx", "version": 1})
    assert xlsx.status_code == 200
    assert xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in xlsx.headers["content-disposition"]
    workbook = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    sheet = workbook[workbook.sheetnames[0]]
    assert sheet.max_row >= 94
    csv = api.get("viewer", f"{A}/soa/export", params={"format": "csv"})
    assert csv.status_code == 200 and "A.8.4" in csv.text
    as_json = api.get("viewer", f"{A}/soa/export", params={"format": "json"})
    assert as_json.status_code == 200 and len(as_json.json()["entries"]) == 93
    assert api.get("viewer", f"{A}/soa/export", params={"format": "pdf"}).status_code == 422

    status = api.get("viewer", f"{A}/status")
    assert status.status_code == 200
    catalogs = api.get("viewer", "/api/v1/catalogs").json()
    assert "iso27001-2022" in {c["id"] for c in catalogs["items"]}
    mapped = api.get("viewer", "/api/v1/catalogs/iso27001-2013/map/iso27001-2022/A.13.2.1")
    assert mapped.status_code == 200 and mapped.json()["targets"]
    controls = api.get("viewer", "/api/v1/catalogs/iso27001-2022", params={"kind": "control"})
    assert len(controls.json()["requirements"]) == 93


def test_audit_events_carry_the_api_user(api: Api) -> None:
    created = api.send(
        "editor", "POST", f"{A}/suppliers", {"name": "Audited"}, headers={"X-Request-ID": "req-42"}
    )
    assert created.status_code == 201
    events = api.get("auditor", f"{A}/audit/events", params={"object": "supplier:Audited"}).json()
    [event] = events["items"]
    assert event["actor"] == "editor@a.example" and event["request_id"] == "req-42"
    assert event["org"] == ORG_A
    # every event listed belongs to the organisation; none of org B's
    everything = api.get("auditor", f"{A}/audit/events", params={"limit": 500}).json()
    assert everything["total"] == len(everything["items"]) > 0
    assert {e["org"] for e in everything["items"]} == {ORG_A}
    newest = api.get("admin", f"{A}/audit/events", params={"sort": "-seq", "limit": 1}).json()
    assert newest["items"][0]["seq"] == event["seq"]
    by_actor = api.get("admin", f"{A}/audit/events", params={"actor": "editor@a.example"})
    assert by_actor.json()["total"] == 1

    consistency = api.get("auditor", f"{A}/audit/consistency", params={"from": 1, "to": 2})
    assert consistency.status_code == 200
    assert (
        api.get("auditor", f"{A}/audit/consistency", params={"from": 3, "to": 2}).json()["error"][
            "field"
        ]
        == "from"
    )
    # no signing key in this test's environment: checkpoint and proof say so plainly
    assert api.get("auditor", f"{A}/audit/checkpoint").status_code == 404


def test_numbers_beyond_the_database_are_bad_input_not_server_errors(api: Api) -> None:
    huge = 2**63
    for path in (
        f"{A}/risks?offset={huge}",
        f"{A}/soa?version={huge}",
        f"{A}/audit/proof?index={huge}",
    ):
        response = api.get("admin", path)
        assert response.status_code == 422, (path, response.text)
        assert response.json()["error"]["code"] == "invalid_input"


# --- what the CLI does, over the API ---------------------------------------------------------

CUSTOM_FRAMEWORK = Path(__file__).parent / "data" / "catalog_custom.yaml"
CISO_LIBRARY = Path(__file__).parent / "data" / "catalog_ciso_library.yaml"


def _events(api: Api, object_: str) -> list[dict]:
    found = api.get("auditor", f"{A}/audit/events", params={"object": object_, "limit": 500})
    return found.json()["items"]


def test_risk_matrix_set(api: Api) -> None:
    rated = api.send("admin", "POST", f"{A}/risks/R-0001/assess", {"likelihood": 3, "impact": 3})
    assert rated.json()["inherent"]["level"] == "Medium"
    # GET's answer is accepted back as it is (max_score included)
    current = api.get("viewer", f"{A}/risk-matrix").json()
    assert api.send("editor", "PUT", f"{A}/risk-matrix", current).status_code == 200
    changed = api.send("editor", "PUT", f"{A}/risk-matrix", THREE_BY_THREE)
    assert changed.status_code == 200, changed.text
    assert changed.json()["max_score"] == 9
    assert api.get("viewer", f"{A}/risk-matrix").json()["likelihood"] == ["Low", "Medium", "High"]
    # every stored risk is re-rated under the new bands, in the service, audited
    assert api.get("viewer", f"{A}/risks/R-0001").json()["inherent"]["level"] == "High"
    rerated = [e for e in _events(api, "risk:R-0001") if "inherent_level" in e["changes"]]
    assert rerated[-1]["actor"] == "editor@a.example"
    org_events = _events(api, f"organisation:{ORG_A}")
    assert any(
        e["actor"] == "editor@a.example" and "risk_matrix" in e["changes"] for e in org_events
    ), org_events

    for body, field in [
        ({**THREE_BY_THREE, "acceptance_threshold": 10}, "acceptance_threshold"),
        ({**THREE_BY_THREE, "levels": THREE_BY_THREE["levels"][:2]}, "levels"),
        ({**THREE_BY_THREE, "impact": ["A", "a", "B"]}, "impact"),
        ({**THREE_BY_THREE, "levels": [{"name": "X", "min": 0, "max": 9}]}, "levels.0.min"),
        ({**THREE_BY_THREE, "colours": []}, "colours"),
        ({k: v for k, v in THREE_BY_THREE.items() if k != "impact"}, "impact"),
    ]:
        refused = api.send("admin", "PUT", f"{A}/risk-matrix", body)
        assert refused.status_code == 422, (field, refused.text)
        assert refused.json()["error"]["field"] == field, refused.text
    # a smaller scale than a stored rating: refused, nothing changes
    api.send("admin", "POST", f"{A}/risks/R-0001/assess", {"likelihood": 3, "impact": 3})
    two = {
        "likelihood": ["Low", "High"],
        "impact": ["Low", "High"],
        "levels": [{"name": "Low", "min": 1, "max": 2}, {"name": "High", "min": 4, "max": 4}],
        "acceptance_threshold": 2,
    }
    conflict = api.send("admin", "PUT", f"{A}/risk-matrix", two)
    assert conflict.status_code == 409 and "R-0001" in conflict.json()["error"]["message"]
    assert api.get("viewer", f"{A}/risk-matrix").json()["max_score"] == 9


def test_audit_public_key_and_verify(api: Api) -> None:
    from annexa.audit.keys import Signer

    # without a signing key the log is still verified (no signatures to check)
    report = api.get("auditor", f"{A}/audit/verify")
    assert report.status_code == 200, report.text
    unsigned = report.json()
    assert unsigned["ok"] and unsigned["events"] > 0 and not unsigned["signed"]
    assert unsigned["problem"] is None and len(unsigned["root"]) == 64
    assert api.get("auditor", f"{A}/audit/public-key").status_code == 404

    signer = Signer.generate()
    api.app.state.signer = signer
    key = api.get("auditor", f"{A}/audit/public-key")
    assert key.status_code == 200 and key.json() == {"public_key": signer.verifier.encode()}
    note = api.get("auditor", f"{A}/audit/checkpoint").json()["checkpoint"]
    api.send("editor", "POST", f"{A}/suppliers", {"name": "After the checkpoint"})
    signed = api.get("admin", f"{A}/audit/verify").json()
    assert signed["ok"] and signed["signed"] and signed["checkpoints"] >= 1
    assert signed["events"] > unsigned["events"]
    held = api.send("auditor", "POST", f"{A}/audit/verify", {"checkpoints": [note]})
    assert held.status_code == 200 and held.json()["held_checkpoints"] == 1, held.text
    assert held.json()["ok"]
    # another key: the stored checkpoints are not signed by it
    other = Signer.generate().verifier.encode()
    foreign = api.get("auditor", f"{A}/audit/verify", params={"key": other}).json()
    assert not foreign["ok"] and foreign["problem"]

    for method, path, body, field in [
        ("GET", f"{A}/audit/verify?key=nonsense", None, "key"),
        ("POST", f"{A}/audit/verify", {"checkpoints": ["not a note"]}, "checkpoints.0"),
        ("POST", f"{A}/audit/verify", {"checkpoints": "x"}, "checkpoints"),
    ]:
        refused = api.send("auditor", method, path, body)
        assert refused.status_code == 422, (path, refused.text)
        assert refused.json()["error"]["field"] == field
    for role in ("editor", "contributor", "viewer"):
        assert api.get(role, f"{A}/audit/public-key").status_code == 403
        assert api.get(role, f"{A}/audit/verify").status_code == 403
        assert api.send(role, "POST", f"{A}/audit/verify", {}).status_code == 403


def test_mappings_and_imported_frameworks(api: Api) -> None:
    listed = api.get("viewer", "/api/v1/mappings").json()
    pairs = {(m["source"], m["target"]) for m in listed["items"]}
    assert ("iso27001-2013", "iso27001-2022") in pairs or (
        "iso27001-2022",
        "iso27001-2013",
    ) in pairs
    assert listed["total"] == len(listed["items"]) > 0

    text = CUSTOM_FRAMEWORK.read_text(encoding="utf-8")
    imported = api.send(
        "editor",
        "POST",
        f"{A}/catalogs",
        headers={"Content-Type": "text/yaml"},
        content=text.encode(),
    )
    assert imported.status_code == 201, imported.text
    assert imported.json()["id"] == "acme-supplier-policy"
    assert imported.json()["source_format"] == "annexa" and imported.json()["requirements"] == 3
    ciso = api.send(
        "admin", "POST", f"{A}/catalogs", {"yaml": CISO_LIBRARY.read_text(), "id": "ciso-copy"}
    )
    assert ciso.status_code == 201, ciso.text
    assert ciso.json()["id"] == "ciso-copy" and ciso.json()["source_format"] == "ciso-assistant"
    # the organisation's members see its imports; the built-in list and other orgs do not
    ids = {c["id"] for c in api.get("viewer", f"{A}/catalogs").json()["items"]}
    assert {"acme-supplier-policy", "ciso-copy", "iso27001-2022"} <= ids
    shown = api.get("viewer", f"{A}/catalogs/acme-supplier-policy", params={"kind": "control"})
    assert [r["ref"] for r in shown.json()["requirements"]] == ["GOV-1", "GOV-2", "TEC-1"]
    assert api.get("viewer", "/api/v1/catalogs/acme-supplier-policy").status_code == 404
    bob = api.get("bob", "/api/v1/orgs/other-org/catalogs/acme-supplier-policy")
    assert bob.status_code == 404
    # audited under the API user
    [event] = _events(api, "custom_framework:acme-supplier-policy") or [None]
    assert event is not None and event["actor"] == "editor@a.example"

    again = api.send(
        "editor", "POST", f"{A}/catalogs", headers={"Content-Type": "text/yaml"}, content=text
    )
    assert again.status_code == 409 and again.json()["error"]["field"] == "id"
    for headers, content, field, status in [
        ({"Content-Type": "text/yaml"}, "id: [unclosed", "yaml", 422),
        ({"Content-Type": "text/yaml"}, "id: x\nname: X\nrequirements: 3\n", None, 422),
        ({"Content-Type": "application/json"}, '{"yaml": 3}', "yaml", 422),
        ({"Content-Type": "application/json"}, '{"text": "x"}', None, 422),
        ({"Content-Type": "application/json"}, "{", "body", 422),
        ({"Content-Type": "text/yaml"}, b"\xff\xfe", "body", 422),
        ({"Content-Type": "image/png"}, "x", "Content-Type", 415),
        ({"Content-Type": "text/yaml"}, "x" * (4 << 20) + "x", "body", 413),
    ]:
        refused = api.send("admin", "POST", f"{A}/catalogs", headers=headers, content=content)
        assert refused.status_code == status, (content[:40], refused.text)
        error = refused.json()["error"]
        assert error["field"] if field is None else error["field"] == field, error
    for role in ("contributor", "auditor", "viewer", "editor-read"):
        denied = api.send(role, "POST", f"{A}/catalogs", {"yaml": text, "id": f"x-{role}"})
        assert denied.status_code == 403, (role, denied.text)


def test_guard_vault_purge(api: Api) -> None:
    import time

    from annexa.guard.vault_db import ENTRY, _when

    masked = api.send("editor", "POST", f"{A}/guard/redact", {"text": "mail jane@example.com"})
    assert masked.status_code == 200, masked.text
    with api.database.engine.begin() as connection:
        connection.execute(update(ENTRY).values(expires_at=_when(time.time() - 60)))
    for role in ("editor", "contributor", "auditor", "viewer"):
        assert api.send(role, "POST", f"{A}/guard/vault/purge").status_code == 403, role
    purged = api.send("admin", "POST", f"{A}/guard/vault/purge")
    assert purged.status_code == 200 and purged.json()["purged"] >= 1, purged.text
    assert api.send("admin", "POST", f"{A}/guard/vault/purge").json() == {"purged": 0}
    restored = api.send("editor", "POST", f"{A}/guard/restore", {"text": masked.json()["text"]})
    assert restored.json()["restored"] == 0
