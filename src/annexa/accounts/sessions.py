"""Browser sign-in sessions, their CSRF tokens, and the TOTP second factor.

A session is a random secret in an HttpOnly cookie; the database keeps only its SHA-256,
so a stolen database copy signs nobody in. A session that still owes a TOTP code has
stage ``password`` and grants nothing but the code form.

The CSRF token of a session is an HMAC of the session secret: it is bound to the session,
needs no storage, and changes when the session does.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

import pyotp
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from annexa.accounts.service import secret_digest
from annexa.errors import Conflict, InvalidInput, Unauthenticated
from annexa.store.models import User, WebSession, utcnow
from annexa.validation import only_ascii_digits

SESSION_LIFETIME = dt.timedelta(hours=12)  # absolute: sign in again after this
SESSION_IDLE = dt.timedelta(hours=2)  # idle: a forgotten browser tab signs itself out
TOUCH_EVERY = dt.timedelta(minutes=5)  # how stale last_seen_at may get before it is written
STAGE_PASSWORD = "password"  # noqa: S105 (a stage name, not a password)
STAGE_FULL = "full"
METHODS = ("password", "oidc")
TOTP_ISSUER = "Annexa"
TOTP_DRIFT_STEPS = 1  # accept the previous and next 30-second step: clocks drift


@dataclass(frozen=True)
class IssuedSession:
    session: WebSession
    secret: str  # goes into the cookie; never stored


def start_session(
    session: Session,
    user: User,
    *,
    method: str = "password",
    now: dt.datetime | None = None,
) -> IssuedSession:
    """A new browser session for ``user``, owing a TOTP code when the user has one."""
    if method not in METHODS:
        raise InvalidInput(f"unknown sign-in method {method!r}", field="method", fix="password")
    now = now or utcnow()
    secret = secrets.token_urlsafe(32)
    # Single sign-on delegates the second factor to the identity provider.
    owes_code = user.totp_enabled_at is not None and method == "password"
    row = WebSession(
        user_id=user.id,
        token_hash=secret_digest(secret),
        stage=STAGE_PASSWORD if owes_code else STAGE_FULL,
        method=method,
        created_at=now,
        last_seen_at=now,
        expires_at=now + SESSION_LIFETIME,
    )
    session.add(row)
    session.flush()
    return IssuedSession(row, secret)


def find_session(
    session: Session, secret: str | None, *, now: dt.datetime | None = None
) -> WebSession | None:
    """The live session a cookie secret stands for, or None (expired, idle, revoked, unknown).

    Touches ``last_seen_at`` at most every :data:`TOUCH_EVERY`, so reading pages does not
    write on every request.
    """
    if not secret or len(secret) > 200:
        return None
    computed = secret_digest(secret)
    row = session.scalar(select(WebSession).where(WebSession.token_hash == computed))
    if row is None or not hmac.compare_digest(row.token_hash, computed):
        return None
    now = now or utcnow()
    if row.revoked_at is not None or row.expires_at <= now:
        return None
    if row.last_seen_at + SESSION_IDLE <= now:
        return None
    if not row.user.active:
        return None
    if row.last_seen_at + TOUCH_EVERY <= now:
        row.last_seen_at = now
        session.flush()
    return row


def end_session(session: Session, row: WebSession, *, now: dt.datetime | None = None) -> None:
    if row.revoked_at is None:
        row.revoked_at = now or utcnow()
        session.flush()


def end_all_sessions(session: Session, user: User, *, now: dt.datetime | None = None) -> int:
    """Sign ``user`` out everywhere (after a password or second-factor change)."""
    result = session.execute(
        update(WebSession)
        .where(WebSession.user_id == user.id, WebSession.revoked_at.is_(None))
        .values(revoked_at=now or utcnow())
    )
    return int(result.rowcount or 0)


def csrf_token(secret: str) -> str:
    """The CSRF token of the session whose cookie secret is ``secret``."""
    return hmac.new(secret.encode("utf-8"), b"annexa-csrf-v1", hashlib.sha256).hexdigest()


def check_csrf(secret: str | None, given: str | None) -> bool:
    if not secret or not given:
        return False
    return hmac.compare_digest(csrf_token(secret), given)


# --- TOTP (RFC 6238) ---------------------------------------------------------------------


def begin_totp(session: Session, user: User) -> str:
    """A fresh TOTP secret for ``user`` to load into an authenticator; not active until
    :func:`confirm_totp` sees a valid code. Returns the ``otpauth://`` provisioning URI."""
    if user.totp_enabled_at is not None:
        raise Conflict(
            "this account already has a second factor",
            field="totp",
            fix="turn it off first (`annexa user totp-off EMAIL`), then enrol again",
        )
    user.totp_secret = pyotp.random_base32()
    session.flush()
    return totp_uri(user)


def totp_uri(user: User) -> str:
    if not user.totp_secret:
        raise InvalidInput("no TOTP enrolment in progress", field="totp", fix="begin enrolment")
    return pyotp.TOTP(user.totp_secret).provisioning_uri(name=user.email, issuer_name=TOTP_ISSUER)


def _accepted_step(user: User, code: str, now: dt.datetime) -> int | None:
    """The time step ``code`` is valid for (within the allowed drift), or None."""
    code = (code or "").strip().replace(" ", "")
    if not user.totp_secret or not only_ascii_digits(code) or len(code) != 6:
        return None
    totp = pyotp.TOTP(user.totp_secret)
    moment = now.replace(tzinfo=dt.UTC)
    step = totp.timecode(moment)
    for offset in range(-TOTP_DRIFT_STEPS, TOTP_DRIFT_STEPS + 1):
        candidate = step + offset
        if hmac.compare_digest(totp.generate_otp(candidate), code):
            return candidate
    return None


def confirm_totp(
    session: Session, user: User, code: str, *, now: dt.datetime | None = None
) -> None:
    """Turn the second factor on once the user shows a valid code from their authenticator."""
    now = now or utcnow()
    if user.totp_enabled_at is not None:
        raise Conflict("the second factor is already on", field="totp", fix="nothing to do")
    step = _accepted_step(user, code, now)
    if step is None:
        raise InvalidInput(
            "that code is not valid", field="code", fix="type the 6 digits your app shows now"
        )
    user.totp_enabled_at = now
    user.totp_last_step = step
    session.flush()


def disable_totp(session: Session, user: User) -> None:
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    session.flush()


def verify_totp(session: Session, user: User, code: str, *, now: dt.datetime | None = None) -> bool:
    """True when ``code`` is valid now and newer than the last code accepted (no replay).

    A wrong code counts as a failed sign-in (see :func:`annexa.accounts.login` lock-out).
    """
    now = now or utcnow()
    step = _accepted_step(user, code, now) if user.totp_enabled_at else None
    if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
        from annexa.accounts.service import count_failed_login

        count_failed_login(user, now)
        session.flush()
        return False
    user.totp_last_step = step
    session.flush()
    return True


def complete_second_factor(
    session: Session, row: WebSession, code: str, *, now: dt.datetime | None = None
) -> WebSession:
    """Raise the session to ``full`` with a valid TOTP code; :class:`Unauthenticated` if not."""
    from annexa.accounts.service import check_not_locked

    now = now or utcnow()
    if row.stage != STAGE_PASSWORD:
        return row
    check_not_locked(row.user, now)
    if not verify_totp(session, row.user, code, now=now):
        raise Unauthenticated(
            "that code is not valid", field="code", fix="type the 6 digits your app shows now"
        )
    row.stage = STAGE_FULL
    session.flush()
    return row
