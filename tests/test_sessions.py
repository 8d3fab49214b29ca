"""Browser sessions, CSRF tokens and the TOTP second factor."""

from __future__ import annotations

import datetime as dt
import hashlib

import pyotp
import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from annexa.accounts import (
    MAX_FAILED_LOGINS,
    begin_totp,
    check_csrf,
    complete_second_factor,
    confirm_totp,
    create_user,
    csrf_token,
    disable_totp,
    end_all_sessions,
    end_session,
    find_session,
    start_session,
    verify_totp,
)
from annexa.accounts import service as accounts_service
from annexa.accounts import sessions as sessions_service
from annexa.errors import AccountLocked, Conflict, InvalidInput, Unauthenticated
from annexa.store.db import Database
from annexa.store.models import User, WebSession

PASSWORD = "correct horse battery staple"
T0 = dt.datetime(2026, 11, 23, 9, 0, 0)


@pytest.fixture(autouse=True)
def _cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(accounts_service, "_hasher", cheap)
    monkeypatch.setattr(accounts_service, "_DUMMY_HASH", cheap.hash("dummy password"))


def _user(db: Database) -> int:
    with db.transaction() as session:
        return create_user(session, "jane@example.com", "Jane", PASSWORD).id


def _code(secret: str, at: dt.datetime) -> str:
    return pyotp.TOTP(secret).at(at.replace(tzinfo=dt.UTC))


def test_a_session_is_stored_only_as_a_hash_and_ends(db: Database) -> None:
    user_id = _user(db)
    with db.transaction() as session:
        issued = start_session(session, session.get(User, user_id), now=T0)
        secret = issued.secret
    with db.reading() as session:
        stored = session.scalars(select(WebSession.token_hash)).all()
    assert stored == [hashlib.sha256(secret.encode()).hexdigest()]
    assert secret not in stored[0]
    with db.transaction() as session:
        row = find_session(session, secret, now=T0 + dt.timedelta(minutes=1))
        assert row is not None and row.stage == "full" and row.user.email == "jane@example.com"
        assert find_session(session, secret + "x", now=T0) is None
        assert find_session(session, "", now=T0) is None
        end_session(session, row)
    with db.transaction() as session:
        assert find_session(session, secret, now=T0 + dt.timedelta(minutes=2)) is None


def test_sessions_expire_when_idle_or_old(db: Database) -> None:
    user_id = _user(db)
    with db.transaction() as session:
        secret = start_session(session, session.get(User, user_id), now=T0).secret
    with db.transaction() as session:
        # Idle for longer than the idle limit: gone.
        idle = T0 + sessions_service.SESSION_IDLE + dt.timedelta(seconds=1)
        assert find_session(session, secret, now=idle) is None
    # Kept alive by use, but the absolute lifetime still ends it.
    moment = T0
    with db.transaction() as session:
        while moment < T0 + sessions_service.SESSION_LIFETIME - dt.timedelta(hours=1):
            moment += dt.timedelta(hours=1)
            assert find_session(session, secret, now=moment) is not None
        late = T0 + sessions_service.SESSION_LIFETIME
        assert find_session(session, secret, now=late) is None


def test_signing_out_everywhere_ends_every_session(db: Database) -> None:
    user_id = _user(db)
    with db.transaction() as session:
        user = session.get(User, user_id)
        secrets_ = [start_session(session, user, now=T0).secret for _ in range(3)]
    with db.transaction() as session:
        assert end_all_sessions(session, session.get(User, user_id)) == 3
    with db.reading() as session:
        assert all(find_session(session, s, now=T0) is None for s in secrets_)


def test_csrf_token_is_bound_to_the_session() -> None:
    token = csrf_token("session-one")
    assert check_csrf("session-one", token)
    assert not check_csrf("session-two", token)
    assert not check_csrf("session-one", "")
    assert not check_csrf(None, token)
    assert not check_csrf("session-one", token[:-1] + ("0" if token[-1] != "0" else "1"))


def test_totp_enrolment_needs_a_valid_code_then_sessions_owe_one(db: Database) -> None:
    user_id = _user(db)
    with db.transaction() as session:
        user = session.get(User, user_id)
        uri = begin_totp(session, user)
        assert uri.startswith("otpauth://totp/Annexa:jane%40example.com?secret=")
        with pytest.raises(InvalidInput) as wrong:
            confirm_totp(
                session,
                user,
                "000000" if _code(user.totp_secret, T0) != "000000" else "111111",
                now=T0,
            )
        assert wrong.value.field == "code"
        confirm_totp(session, user, _code(user.totp_secret, T0), now=T0)
        totp_secret = user.totp_secret
        with pytest.raises(Conflict):
            begin_totp(session, user)
    later = T0 + dt.timedelta(minutes=5)
    with db.transaction() as session:
        issued = start_session(session, session.get(User, user_id), now=later)
        assert issued.session.stage == "password"
        # Single sign-on sessions do not owe a code: the identity provider asked for one.
        assert (
            start_session(
                session, session.get(User, user_id), method="oidc", now=later
            ).session.stage
            == "full"
        )
        secret = issued.secret
    with db.transaction() as session:
        row = find_session(session, secret, now=later)
        with pytest.raises(Unauthenticated):
            complete_second_factor(session, row, "12345x", now=later)
        complete_second_factor(session, row, _code(totp_secret, later), now=later)
        assert row.stage == "full"


def test_totp_codes_are_never_accepted_twice_and_drift_is_bounded(db: Database) -> None:
    user_id = _user(db)
    with db.transaction() as session:
        user = session.get(User, user_id)
        begin_totp(session, user)
        confirm_totp(session, user, _code(user.totp_secret, T0), now=T0)
    at = T0 + dt.timedelta(minutes=10)
    with db.transaction() as session:
        user = session.get(User, user_id)
        code = _code(user.totp_secret, at)
        assert verify_totp(session, user, code, now=at)
        assert not verify_totp(session, user, code, now=at)  # replay
        # A code from the previous step is still fine if newer than the last accepted one …
        later = at + dt.timedelta(seconds=60)
        assert verify_totp(
            session, user, _code(user.totp_secret, later - dt.timedelta(seconds=30)), now=later
        )
        # … but one from five minutes ago is not.
        much_later = at + dt.timedelta(minutes=10)
        old = _code(user.totp_secret, much_later - dt.timedelta(minutes=5))
        assert old == _code(user.totp_secret, much_later) or not verify_totp(
            session, user, old, now=much_later
        )


def test_wrong_totp_codes_lock_the_account(db: Database) -> None:
    user_id = _user(db)
    with db.transaction() as session:
        user = session.get(User, user_id)
        begin_totp(session, user)
        confirm_totp(session, user, _code(user.totp_secret, T0), now=T0)
        secret = start_session(session, user, now=T0).secret
    at = T0 + dt.timedelta(minutes=1)
    with db.transaction() as session:
        row = find_session(session, secret, now=at)
        right = _code(row.user.totp_secret, at)
        wrong = f"{(int(right) + 1) % 1_000_000:06d}"
        for _ in range(MAX_FAILED_LOGINS):
            with pytest.raises(Unauthenticated):
                complete_second_factor(session, row, wrong, now=at)
        with pytest.raises(AccountLocked):
            complete_second_factor(session, row, right, now=at)
        assert row.stage == "password"


def test_turning_totp_off_clears_the_secret(db: Database) -> None:
    user_id = _user(db)
    with db.transaction() as session:
        user = session.get(User, user_id)
        begin_totp(session, user)
        confirm_totp(session, user, _code(user.totp_secret, T0), now=T0)
        disable_totp(session, user)
        assert user.totp_secret is None and user.totp_enabled_at is None
        assert start_session(session, user, now=T0).session.stage == "full"


def test_reading_pages_is_not_an_audit_event_but_signing_in_and_out_are(db: Database) -> None:
    from annexa.store.models import AuditEvent

    def actions() -> list[str]:
        with db.reading() as session:
            return list(
                session.scalars(
                    select(AuditEvent.action)
                    .where(AuditEvent.object_type == "web_session")
                    .order_by(AuditEvent.seq)
                )
            )

    user_id = _user(db)
    with db.transaction() as session:
        secret = start_session(session, session.get(User, user_id), now=T0).secret
    later = T0 + sessions_service.TOUCH_EVERY + dt.timedelta(seconds=1)
    with db.transaction() as session:
        row = find_session(session, secret, now=later)
        assert row is not None and row.last_seen_at == later  # refreshed …
    assert actions() == ["create"]  # … without an event
    with db.transaction() as session:
        end_session(session, find_session(session, secret, now=later))
    assert actions() == ["create", "update"]
