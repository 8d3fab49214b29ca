"""Accounts: users, roles, password policy and lock-out, API tokens, and their audit trail."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import orjson
import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from annexa.accounts import (
    MAX_FAILED_LOGINS,
    authenticate_token,
    create_token,
    create_user,
    grant,
    login,
    revoke_token,
)
from annexa.accounts import service as accounts_service
from annexa.audit.canonical import digest_of
from annexa.errors import AccountLocked, Conflict, InvalidInput, Unauthenticated
from annexa.store.db import Database
from annexa.store.models import ApiToken, AuditEvent, Organisation, User
from tests.conftest import CliCall

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real argon2id, with parameters small enough to keep the suite fast."""
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(accounts_service, "_hasher", cheap)
    monkeypatch.setattr(accounts_service, "_DUMMY_HASH", cheap.hash("dummy password"))


def _events(db: Database, object_type: str) -> list[dict]:
    with db.reading() as session:
        bodies = session.scalars(
            select(AuditEvent.body)
            .where(AuditEvent.object_type == object_type)
            .order_by(AuditEvent.seq)
        )
        return [orjson.loads(bytes(b)) for b in bodies]


def test_password_is_hashed_policy_enforced_and_redacted_in_the_audit_log(db: Database) -> None:
    with db.transaction(actor="admin@example.com") as session:
        with pytest.raises(InvalidInput) as short:
            create_user(session, "jane@example.com", "Jane", "too short")
        assert short.value.field == "password"
        user = create_user(session, "Jane@Example.com", "Jane Doe", PASSWORD)
        stored = user.password_hash
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    with db.transaction() as session, pytest.raises(Conflict):
        create_user(session, "jane@example.com", "Jane again", PASSWORD)

    [event] = _events(db, "app_user")
    assert event["actor"] == "admin@example.com"
    assert event["ref"] == "jane@example.com"
    # The hash itself is not in the log: only the SHA-256 of its canonical form.
    assert event["changes"]["password_hash"]["after"] == digest_of(stored)
    assert stored not in json.dumps(event) and PASSWORD not in json.dumps(event)


def test_lock_out_after_failed_logins(db: Database) -> None:
    now = dt.datetime(2026, 11, 23, 12, 0)
    with db.transaction() as session:
        create_user(session, "sam@example.com", "Sam", PASSWORD)
    for _ in range(MAX_FAILED_LOGINS):
        with db.transaction() as session:
            assert login(session, "sam@example.com", "wrong password!", now=now) is None
    with db.transaction() as session:  # locked: even the right password is refused
        with pytest.raises(AccountLocked) as locked:
            login(session, "sam@example.com", PASSWORD, now=now + dt.timedelta(minutes=5))
        assert locked.value.http_status == 429
    with db.transaction() as session:
        user = login(session, "sam@example.com", PASSWORD, now=now + dt.timedelta(minutes=16))
        assert user is not None and user.failed_logins == 0 and user.locked_until is None
    with db.transaction() as session:  # unknown users cost the same and say the same
        assert login(session, "nobody@example.com", PASSWORD) is None


def test_tokens_are_hashed_scoped_expiring_revocable_and_compared_in_constant_time(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = dt.datetime(2026, 11, 23, 12, 0)
    with db.transaction() as session:
        user = create_user(session, "tok@example.com", "Tok")
        with pytest.raises(InvalidInput):
            create_token(session, user, "admin")
        issued = create_token(session, user, "read", now=now)
        short = create_token(session, user, "write", expires_days=1, now=now)
    secret = issued.secret
    assert secret.startswith("anx_") and len(secret) == 4 + 43
    with db.reading() as session:
        row = session.get(ApiToken, issued.token.id)
        assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest()
        assert secret not in (row.token_hash, row.prefix)
        assert row.expires_at == now + dt.timedelta(days=90)

    calls = []
    real = accounts_service.hmac.compare_digest

    def spy(a, b):  # type: ignore[no-untyped-def]
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(accounts_service.hmac, "compare_digest", spy)
    with db.reading() as session:
        found, token = authenticate_token(session, secret, now=now)
        assert found.email == "tok@example.com" and token.scope == "read"
        assert calls, "tokens must be compared with hmac.compare_digest"
        for bad in ("", "anx_nope", secret[:-1] + "x", "Bearer " + secret):
            with pytest.raises(Unauthenticated):
                authenticate_token(session, bad, now=now)
        with pytest.raises(Unauthenticated):  # expired
            authenticate_token(session, short.secret, now=now + dt.timedelta(days=2))
    with db.transaction() as session:
        revoke_token(session, issued.token.id)
    with db.reading() as session, pytest.raises(Unauthenticated):
        authenticate_token(session, secret, now=now)
    events = _events(db, "api_token")
    assert secret not in json.dumps(events)
    created = [e for e in events if e["action"] == "create"]
    assert len(created) == 2
    assert all("redacted_sha256" in e["changes"]["token_hash"]["after"] for e in created)


def test_grant_replaces_the_role(db: Database) -> None:
    with db.transaction() as session:
        org = session.scalar(select(Organisation))
        user = create_user(session, "g@example.com", "G")
        grant(session, user, org, "viewer")
        grant(session, user, org, "Editor")
        with pytest.raises(InvalidInput):
            grant(session, user, org, "owner")
    with db.reading() as session:
        user = session.scalar(select(User).where(User.email == "g@example.com"))
        assert [(m.organisation.slug, m.role) for m in user.memberships] == [("test-org", "editor")]


def test_user_and_token_commands(cli: CliCall) -> None:
    added = cli(
        "user", "add", "ann@example.com", "--name", "Ann Admin", "--org", "test-org",
        "--role", "admin", "--password-stdin", "--json", input=PASSWORD + "\n",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert PASSWORD not in added.output
    assert json.loads(added.stdout)["memberships"] == [{"org": "test-org", "role": "admin"}]

    short = cli("user", "add", "b@example.com", "--name", "B", "--password-stdin", input="x\n")
    assert short.exit_code == 2 and "12 characters" in short.output

    prompted = cli(
        "user", "add", "c@example.com", "--name", "Cy", input=f"{PASSWORD}\n{PASSWORD}\n"
    )
    assert prompted.exit_code == 0, prompted.output
    assert PASSWORD not in prompted.stdout

    granted = cli("user", "grant", "c@example.com", "--org", "test-org", "--role", "auditor")
    assert granted.exit_code == 0, granted.output
    listed = json.loads(cli("user", "list", "--json").stdout)["users"]
    assert [(u["email"], u["memberships"]) for u in listed] == [
        ("ann@example.com", [{"org": "test-org", "role": "admin"}]),
        ("c@example.com", [{"org": "test-org", "role": "auditor"}]),
    ]

    created = cli("token", "create", "ann@example.com", "--scope", "write", "--json")
    assert created.exit_code == 0, created.output
    token = json.loads(created.stdout)
    assert token["token"].startswith("anx_") and token["scope"] == "write"
    plain = cli("token", "create", "ann@example.com", "--scope", "read", "--expires-days", "7")
    assert plain.exit_code == 0 and "anx_" in plain.stdout
    revoked = cli("token", "revoke", str(token["id"]), "--json")
    assert revoked.exit_code == 0 and json.loads(revoked.stdout)["revoked_at"]
    assert cli("token", "revoke", "999").exit_code == 2
    assert cli("token", "create", "nobody@example.com", "--scope", "read").exit_code == 2

    audit = json.loads(cli("audit", "log", "--json").stdout)["events"]
    assert {"app_user", "membership", "api_token"} <= {e["type"] for e in audit}
    assert token["token"] not in json.dumps(audit) and PASSWORD not in json.dumps(audit)


def test_serve_refuses_without_users(cli: CliCall) -> None:
    result = cli("serve")
    assert result.exit_code == 2
    assert "annexa user add" in result.output
