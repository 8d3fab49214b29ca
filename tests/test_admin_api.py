"""The administration API: members and roles, account state, tokens, single sign-on."""

from __future__ import annotations

import datetime as dt
import json
import time
from urllib.parse import parse_qs, urlsplit

import orjson
import pyotp
import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from annexa.accounts import create_token
from annexa.accounts import service as accounts_service
from annexa.store.models import AuditEvent, User
from tests.api_support import ORG_A, ORG_B, Api, make_api
from tests.conftest import CliCall

A = f"/api/v1/orgs/{ORG_A}"
B = f"/api/v1/orgs/{ORG_B}"
PASSWORD = "correct horse battery staple"
SECRET = "idp-client-secret-7d1c0b"


@pytest.fixture(autouse=True)
def _cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(accounts_service, "_hasher", cheap)
    monkeypatch.setattr(accounts_service, "_DUMMY_HASH", cheap.hash("dummy password"))


@pytest.fixture
def api(db_url: str) -> Api:
    built = make_api(db_url)
    yield built
    built.database.dispose()


def _error(response) -> dict:  # type: ignore[no-untyped-def]
    return response.json()["error"]


def _all_events(api: Api) -> str:
    with api.database.reading() as session:
        bodies = session.scalars(select(AuditEvent.body))
        return json.dumps([orjson.loads(bytes(b)) for b in bodies])


def test_members_are_created_listed_changed_and_removed(api: Api) -> None:
    sso_only = api.send(
        "admin",
        "POST",
        f"{A}/users",
        {"email": "Nina@A.example", "display_name": "Nina", "role": "contributor"},
    )
    assert sso_only.status_code == 201, sso_only.text
    nina = sso_only.json()
    assert nina["email"] == "nina@a.example" and nina["role"] == "contributor"
    assert nina["password"] is False and nina["single_sign_on"] is False
    assert "memberships" not in nina  # an organisation sees its own side of an account only

    body = {"email": "omar@a.example", "display_name": "Omar", "password": PASSWORD}
    with_password = api.send("admin", "POST", f"{A}/users", body)
    assert with_password.status_code == 201 and with_password.json()["role"] == "viewer"
    assert PASSWORD not in with_password.text and PASSWORD not in _all_events(api)

    for bad, status, field in [
        ({"email": "omar@a.example", "display_name": "Omar again"}, 409, "email"),
        ({"email": "not-an-address", "display_name": "X"}, 422, "email"),
        ({"email": "x@a.example", "display_name": "X", "role": "owner"}, 422, "role"),
        ({"email": "x@a.example", "display_name": "X", "password": "short"}, 422, "password"),
        ({"email": "x@a.example", "display_name": "X", "admin": True}, 422, "admin"),
    ]:
        response = api.send("admin", "POST", f"{A}/users", bad)
        assert response.status_code == status, (bad, response.text)
        assert _error(response)["field"] == field, (bad, response.text)
    with api.database.reading() as session:
        assert session.scalar(select(User).where(User.email == "x@a.example")) is None

    listed = api.get("admin", f"{A}/users", params={"sort": "-email", "limit": 3}).json()
    assert listed["total"] == 7 and [u["email"] for u in listed["items"]] == [
        "viewer@a.example",
        "omar@a.example",
        "nina@a.example",
    ]
    viewers = api.get("admin", f"{A}/users", params={"role": "viewer"}).json()["items"]
    assert {u["email"] for u in viewers} == {"viewer@a.example", "omar@a.example"}
    assert api.get("admin", f"{A}/users/NINA@a.example").json()["role"] == "contributor"

    changed = api.send("admin", "PUT", f"{A}/users/nina@a.example/role", {"role": "editor"})
    assert changed.status_code == 200 and changed.json()["role"] == "editor"
    bad_role = api.send("admin", "PUT", f"{A}/users/nina@a.example/role", {"role": "boss"})
    assert bad_role.status_code == 422 and _error(bad_role)["field"] == "role"
    assert api.send("admin", "DELETE", f"{A}/users/nina@a.example/role").status_code == 204
    assert api.get("admin", f"{A}/users/nina@a.example").status_code == 404
    assert api.send("admin", "DELETE", f"{A}/users/nina@a.example/role").status_code == 404
    # the account stays, and can be given a role again
    again = api.send("admin", "PUT", f"{A}/users/nina@a.example/role", {"role": "auditor"})
    assert again.status_code == 200 and again.json()["role"] == "auditor"
    missing = api.send("admin", "PUT", f"{A}/users/nobody@a.example/role", {"role": "viewer"})
    assert missing.status_code == 404 and _error(missing)["field"] == "email"

    # every change is audited under the admin's e-mail (accounts belong to no organisation,
    # so their own events are in the instance-wide log, not the organisation's)
    events = api.get("auditor", f"{A}/audit/events", params={"limit": 500}).json()["items"]
    assert "admin@a.example" in {e["actor"] for e in events if e["type"] == "membership"}
    everything = json.loads(_all_events(api))
    created = [e for e in everything if e["type"] == "app_user" and e["action"] == "create"]
    assert {e["actor"] for e in created if e["ref"] in ("nina@a.example", "omar@a.example")} == {
        "admin@a.example"
    }


def test_an_organisation_keeps_an_active_admin(api: Api) -> None:
    demote = api.send("admin", "PUT", f"{A}/users/admin@a.example/role", {"role": "viewer"})
    assert demote.status_code == 409 and "last active admin" in _error(demote)["message"]
    assert api.send("admin", "DELETE", f"{A}/users/admin@a.example/role").status_code == 409
    promoted = api.send("admin", "PUT", f"{A}/users/editor@a.example/role", {"role": "admin"})
    assert promoted.status_code == 200
    assert api.send("admin", "DELETE", f"{A}/users/admin@a.example/role").status_code == 204
    # the former admin's token no longer reaches the organisation at all
    assert api.get("admin", f"{A}/users").status_code == 404
    # the new admin cannot deactivate the last active admin: themselves, nor anyone
    assert api.send("editor", "POST", f"{A}/users/editor@a.example/deactivate").status_code == 403


def test_accounts_are_deactivated_reactivated_and_unlocked(api: Api) -> None:
    assert api.get("viewer", "/api/v1/me").status_code == 200
    off = api.send("admin", "POST", f"{A}/users/viewer@a.example/deactivate")
    assert off.status_code == 200 and off.json()["active"] is False
    assert api.get("viewer", "/api/v1/me").status_code == 401
    assert api.get("admin", f"{A}/users", params={"active": False}).json()["total"] == 1
    on = api.send("admin", "POST", f"{A}/users/viewer@a.example/activate")
    assert on.status_code == 200 and on.json()["active"] is True
    assert api.get("viewer", "/api/v1/me").status_code == 200

    yourself = api.send("admin", "POST", f"{A}/users/admin@a.example/deactivate")
    assert yourself.status_code == 403

    with api.database.transaction() as session:
        user = session.scalar(select(User).where(User.email == "auditor@a.example"))
        user.locked_until = dt.datetime(2099, 1, 1)
        user.failed_logins = 3
    assert api.get("admin", f"{A}/users/auditor@a.example").json()["locked_until"]
    unlocked = api.send("admin", "POST", f"{A}/users/auditor@a.example/unlock")
    assert unlocked.status_code == 200 and unlocked.json()["locked_until"] is None


def test_accounts_shared_with_another_organisation(api: Api) -> None:
    # B's admin exists, but is nobody in A: 404, like an address with no account
    for method, path in [
        ("GET", f"{A}/users/bob@b.example"),
        ("POST", f"{A}/users/bob@b.example/deactivate"),
        ("POST", f"{A}/users/bob@b.example/unlock"),
        ("DELETE", f"{A}/users/bob@b.example/role"),
    ]:
        response = api.send("admin", method, path)
        assert response.status_code == 404, (method, path, response.text)
    # A's admin may give Bob a role in A, and then sees only that role …
    granted = api.send("admin", "PUT", f"{A}/users/bob@b.example/role", {"role": "viewer"})
    assert granted.status_code == 200, granted.text
    assert ORG_B not in granted.text and granted.json()["role"] == "viewer"
    # … but not turn off an account that B relies on
    refused = api.send("admin", "POST", f"{A}/users/bob@b.example/deactivate")
    assert refused.status_code == 403 and _error(refused)["field"] == "email"
    assert api.get("bob", "/api/v1/me").status_code == 200
    # and B's admin sees B's members, not A's
    b_users = api.get("bob", f"{B}/users").json()["items"]
    assert [u["email"] for u in b_users] == ["bob@b.example"]


def test_own_tokens(api: Api) -> None:
    mine = api.get("editor", "/api/v1/me/tokens").json()
    assert mine["total"] == 2  # the write token and the read token
    assert all("token" not in t and "token_hash" not in t for t in mine["items"])

    created = api.send("viewer", "POST", "/api/v1/me/tokens", {"scope": "read", "name": "ci"})
    assert created.status_code == 201, created.text
    secret = created.json()["token"]
    assert secret.startswith("anx_") and created.json()["name"] == "ci"
    assert api.client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).is_success
    listed = api.get("viewer", "/api/v1/me/tokens").json()["items"]
    assert secret not in json.dumps(listed) and len(listed) == 2
    assert secret not in _all_events(api)

    bad = api.send("viewer", "POST", "/api/v1/me/tokens", {"scope": "admin"})
    assert bad.status_code == 422 and _error(bad)["field"] == "scope"
    too_long = api.send("viewer", "POST", "/api/v1/me/tokens", {"scope": "read", "expires_days": 0})
    assert too_long.status_code == 422 and _error(too_long)["field"] == "expires_days"
    # a read token neither mints a (write) token nor revokes one
    escalate = api.send("editor-read", "POST", "/api/v1/me/tokens", {"scope": "write"})
    assert escalate.status_code == 403 and _error(escalate)["field"] == "scope"
    write_id = api.token_ids["editor"]
    revoke_path = f"/api/v1/me/tokens/{write_id}"
    assert api.send("editor-read", "DELETE", revoke_path).status_code == 403

    new_id = created.json()["id"]
    # nobody revokes someone else's token through /me
    assert api.send("editor", "DELETE", f"/api/v1/me/tokens/{new_id}").status_code == 404
    assert api.send("viewer", "DELETE", f"/api/v1/me/tokens/{new_id}").status_code == 204
    gone = api.client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert gone.status_code == 401
    assert api.send("viewer", "DELETE", "/api/v1/me/tokens/999999").status_code == 404


def test_admins_see_and_revoke_their_members_tokens_only(api: Api) -> None:
    listed = api.get("admin", f"{A}/tokens", params={"limit": 500}).json()
    emails = {t["email"] for t in listed["items"]}
    assert "bob@b.example" not in emails and "viewer@a.example" in emails
    assert listed["total"] == 6  # five members, the editor with two tokens
    assert all("token" not in t for t in listed["items"])

    bob_token = api.token_ids["bob"]
    assert api.send("admin", "DELETE", f"{A}/tokens/{bob_token}").status_code == 404
    assert api.get("bob", "/api/v1/me").status_code == 200

    viewer_token = api.token_ids["viewer"]
    assert api.send("admin", "DELETE", f"{A}/tokens/{viewer_token}").status_code == 204
    assert api.get("viewer", "/api/v1/me").status_code == 401
    revoked = [t for t in api.get("admin", f"{A}/tokens").json()["items"] if t["revoked_at"]]
    assert [t["id"] for t in revoked] == [viewer_token]


def test_single_sign_on_settings(api: Api) -> None:
    assert api.get("admin", f"{A}/oidc").status_code == 404
    body = {
        "issuer": "https://login.example.com/realms/acme",
        "client_id": "annexa",
        "client_secret": SECRET,
        "allowed_domains": ["a.example", "Partner.Example"],
        "default_role": "contributor",
    }
    created = api.send("admin", "PUT", f"{A}/oidc", body)
    assert created.status_code == 200, created.text
    data = created.json()
    assert SECRET not in created.text and data["client_secret_set"] is True
    assert data["allowed_domains"] == ["a.example", "partner.example"]
    assert data["redirect_uri"] == f"http://testserver/auth/oidc/{ORG_A}/callback"
    assert data["scopes"] == "openid email profile" and data["enabled"] is True

    shown = api.get("admin", f"{A}/oidc")
    assert shown.status_code == 200 and SECRET not in shown.text
    changed = api.send("admin", "PUT", f"{A}/oidc", {"enabled": False, "default_role": "viewer"})
    assert changed.json()["client_secret_set"] is True and changed.json()["enabled"] is False
    cleared = api.send("admin", "PUT", f"{A}/oidc", {"client_secret": None})
    assert cleared.json()["client_secret_set"] is False

    for bad, field in [
        ({"issuer": "http://login.example.com"}, "issuer"),
        ({"issuer": "http://127.0.0.1:8080"}, "issuer"),  # the CLI may; the API may not
        ({"default_role": "owner"}, "role"),
        ({"allowed_domains": ["not a domain"]}, "domains"),
        ({"client_secret": "x" * 501}, "client_secret"),
        ({"tenant": "x"}, "tenant"),
    ]:
        response = api.send("admin", "PUT", f"{A}/oidc", bad)
        assert response.status_code == 422, (bad, response.text)
        assert _error(response)["field"] == field, (bad, response.text)
        assert "x" * 501 not in response.text

    # another organisation's admin: not found, for reading and for writing
    assert api.get("bob", f"{A}/oidc").status_code == 404
    assert api.send("bob", "PUT", f"{A}/oidc", {"enabled": True}).status_code == 404
    assert api.get("bob", f"{B}/oidc").status_code == 404  # B has none

    audit = api.get("admin", f"{A}/audit/events", params={"limit": 500}).text
    assert "oidc_provider" in audit and SECRET not in audit and SECRET not in _all_events(api)

    assert api.send("admin", "DELETE", f"{A}/oidc").status_code == 204
    assert api.get("admin", f"{A}/oidc").status_code == 404
    assert api.send("admin", "DELETE", f"{A}/oidc").status_code == 404


def test_admin_with_a_read_token_reads_but_does_not_change(api: Api) -> None:
    with api.database.transaction() as session:
        admin = session.scalar(select(User).where(User.email == "admin@a.example"))
        api.tokens["admin-read"] = create_token(session, admin, "read").secret
    assert api.get("admin-read", f"{A}/users").status_code == 200
    assert api.get("admin-read", f"{A}/tokens").status_code == 200
    for method, path, body in [
        ("POST", f"{A}/users", {"email": "r@a.example", "display_name": "R"}),
        ("PUT", f"{A}/users/viewer@a.example/role", {"role": "editor"}),
        ("POST", f"{A}/users/viewer@a.example/deactivate", None),
        ("DELETE", f"{A}/tokens/{api.token_ids['viewer']}", None),
        ("PUT", f"{A}/oidc", {"issuer": "https://idp.example", "client_id": "c"}),
    ]:
        response = api.send("admin-read", method, path, body)
        assert response.status_code == 403, (method, path, response.text)
        assert _error(response)["field"] == "scope"


def test_organisations_are_created_only_on_the_server(api: Api) -> None:
    response = api.send("admin", "POST", "/api/v1/orgs", {"name": "Tenant Two"})
    assert response.status_code == 405


# --- the same on the command line ---------------------------------------------------------


def test_user_commands_second_factor_and_account_state(cli: CliCall) -> None:
    added = cli(
        "user", "add", "t@example.com", "--name", "T", "--org", ORG_A, "--role", "admin",
        "--password-stdin", input=PASSWORD + "\n",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    started = cli("user", "totp-on", "t@example.com", "--json")
    assert started.exit_code == 0, started.output
    uri = json.loads(started.stdout)["otpauth_uri"]
    assert uri.startswith("otpauth://totp/") and "issuer=Annexa" in uri
    secret = parse_qs(urlsplit(uri).query)["secret"][0]
    plain = cli("user", "totp-on", "t@example.com")  # a new enrolment replaces the old one
    assert "otpauth://" in plain.stdout and "--code" in plain.stdout
    secret = parse_qs(urlsplit(plain.stdout.strip().splitlines()[-1]).query)["secret"][0]
    now = pyotp.TOTP(secret)
    valid = {now.at(time.time() + shift) for shift in (-30, 0, 30)}
    wrong = next(c for c in (f"{n:06d}" for n in range(1000)) if c not in valid)
    refused = cli("user", "totp-on", "t@example.com", "--code", wrong)
    assert refused.exit_code == 2 and "code" in refused.output
    confirmed = cli("user", "totp-on", "t@example.com", "--code", now.now(), "--json")
    assert confirmed.exit_code == 0, confirmed.output
    assert json.loads(confirmed.stdout) == {"email": "t@example.com", "enabled": True}
    users = json.loads(cli("user", "list", "--json").stdout)["users"]
    assert users[0]["second_factor"] is True
    twice = cli("user", "totp-on", "t@example.com")
    assert twice.exit_code == 2 and "totp" in twice.output
    assert cli("user", "totp-on", "t@example.com", "--code", now.now()).exit_code == 2
    off = cli("user", "totp-off", "t@example.com", "--json")
    assert off.exit_code == 0 and json.loads(off.stdout)["enabled"] is False
    no_enrolment = cli("user", "totp-on", "t@example.com", "--code", "123456")
    assert no_enrolment.exit_code == 2 and "--code" in no_enrolment.output
    assert cli("user", "totp-on", "nobody@example.com").exit_code == 2

    # account state; the last admin stays
    last = cli("user", "deactivate", "t@example.com")
    assert last.exit_code == 2 and "last active admin" in last.output
    cli("user", "add", "v@example.com", "--name", "V", "--org", ORG_A, "--role", "viewer",
        "--no-password")  # fmt: skip
    off = cli("user", "deactivate", "v@example.com", "--json")
    assert off.exit_code == 0 and json.loads(off.stdout)["active"] is False
    on = cli("user", "activate", "v@example.com", "--json")
    assert json.loads(on.stdout)["active"] is True
    assert cli("user", "unlock", "v@example.com").exit_code == 0
    revoked = cli("user", "revoke", "v@example.com", "--org", ORG_A, "--json")
    assert revoked.exit_code == 0, revoked.output
    users = {u["email"]: u for u in json.loads(cli("user", "list", "--json").stdout)["users"]}
    assert users["v@example.com"]["memberships"] == []
    assert cli("user", "revoke", "v@example.com", "--org", ORG_A).exit_code == 2

    cli("token", "create", "t@example.com", "--scope", "read")
    tokens = json.loads(cli("token", "list", "--json").stdout)["tokens"]
    assert [t["email"] for t in tokens] == ["t@example.com"] and "token" not in tokens[0]
    assert json.loads(cli("token", "list", "v@example.com", "--json").stdout)["tokens"] == []
    assert "anx_" not in cli("token", "list").stdout.replace(tokens[0]["prefix"], "")
