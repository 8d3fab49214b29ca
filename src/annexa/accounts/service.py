"""Users, their roles per organisation, password checks with lock-out, and API tokens.

Plaintext secrets never reach the database or a log: passwords are kept as argon2id
hashes, API tokens as the SHA-256 of their secret (shown once, at creation).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from annexa.errors import (
    AccountLocked,
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    Unauthenticated,
)
from annexa.store.models import ApiToken, Membership, Organisation, User, utcnow

# Who may do what in an organisation (the API enforces this; see annexa.api.deps).
ROLES = ("admin", "editor", "contributor", "auditor", "viewer")
WRITE_ROLES = frozenset({"admin", "editor"})  # may change any record of the organisation
OWNER_WRITE_ROLES = frozenset({"admin", "editor", "contributor"})  # contributors: their own
AUDIT_ROLES = frozenset({"admin", "auditor"})  # may read the audit trail

SCOPES = ("read", "write")
TOKEN_PREFIX = "anx_"  # noqa: S105 (a public marker, not a secret)
DEFAULT_TOKEN_DAYS = 90
MAX_TOKEN_DAYS = 3650
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024
MAX_FAILED_LOGINS = 5
LOCKOUT = dt.timedelta(minutes=15)

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_hasher = PasswordHasher()
# Verified against when the e-mail is unknown, so both cases take as long.
_DUMMY_HASH = _hasher.hash("annexa-dummy-password")


# --- users -----------------------------------------------------------------------------


def normalise_email(email: str) -> str:
    value = (email or "").strip().lower()
    if not _EMAIL.match(value) or len(value) > 320:
        raise InvalidInput(
            f"{email!r} is not an e-mail address", field="email", fix="e.g. jane@example.com"
        )
    return value


def check_password_policy(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"the password is shorter than {MIN_PASSWORD_LENGTH} characters",
            field="password",
            fix=f"choose at least {MIN_PASSWORD_LENGTH} characters (a passphrase works well)",
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput(
            "the password is too long",
            field="password",
            fix=f"use at most {MAX_PASSWORD_LENGTH} characters",
        )


def hash_password(password: str) -> str:
    check_password_policy(password)
    return _hasher.hash(password)


def user_to_dict(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "email": user.email,
        "display_name": user.display_name,
        "active": user.active,
        "locked_until": user.locked_until.isoformat() if user.locked_until else None,
        "second_factor": user.totp_enabled_at is not None,
        "memberships": [
            {"org": m.organisation.slug, "role": m.role}
            for m in sorted(user.memberships, key=lambda m: m.organisation.slug)
        ],
    }


def find_user(session: Session, email: str) -> User | None:
    wanted = (email or "").strip().lower()
    return session.scalar(select(User).where(User.email == wanted))


def get_user(session: Session, email: str, *, field: str = "email") -> User:
    user = find_user(session, email)
    if user is None:
        raise NotFound(f"no user {email!r}", field=field, fix="see `annexa user list`")
    return user


def create_user(
    session: Session, email: str, display_name: str, password: str | None = None
) -> User:
    address = normalise_email(email)
    name = (display_name or "").strip()
    if not name or len(name) > 200:
        raise InvalidInput(
            "the display name is empty or too long", field="name", fix="1-200 characters"
        )
    if find_user(session, address) is not None:
        raise Conflict(f"a user {address!r} exists", field="email", fix="pick another address")
    user = User(
        email=address,
        display_name=name,
        password_hash=hash_password(password) if password is not None else None,
        active=True,
        failed_logins=0,
    )
    session.add(user)
    session.flush()
    return user


def set_password(session: Session, user: User, password: str) -> None:
    user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    session.flush()


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.email)))


def check_role(role: str) -> str:
    value = (role or "").strip().lower()
    if value not in ROLES:
        raise InvalidInput(
            f"unknown role {role!r}", field="role", fix="use one of: " + ", ".join(ROLES)
        )
    return value


def grant(session: Session, user: User, org: Organisation, role: str) -> Membership:
    """Give ``user`` ``role`` in ``org`` (replacing the role they had there)."""
    value = check_role(role)
    membership = session.scalar(
        select(Membership).where(Membership.user_id == user.id, Membership.org_id == org.id)
    )
    if membership is None:
        membership = Membership(user=user, org_id=org.id, role=value)
        session.add(membership)
    else:
        membership.role = value
    session.flush()
    return membership


def role_in(session: Session, user: User, org_id: int) -> str | None:
    return session.scalar(
        select(Membership.role).where(Membership.user_id == user.id, Membership.org_id == org_id)
    )


def owns(user: User, owner: str | None) -> bool:
    """Whether a record whose ``owner`` is this text belongs to ``user`` (name or e-mail)."""
    if not owner:
        return False
    wanted = owner.strip().casefold()
    return wanted in {user.display_name.strip().casefold(), user.email.casefold()}


def require_ownership(user: User, role: str, *owners: str | None) -> None:
    """Contributors change only records they own (owner = their name or e-mail)."""
    if role in WRITE_ROLES:
        return
    if not all(owns(user, owner) for owner in owners):
        raise Forbidden(
            "contributors may only change records they own",
            field="owner",
            fix=f"set owner to {user.display_name!r} or ask an editor",
        )


def user_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(User)) or 0


# --- password sign-in with lock-out ------------------------------------------------------


def login(
    session: Session, email: str, password: str, *, now: dt.datetime | None = None
) -> User | None:
    """The user when the password is right; None when it is wrong (the failure is counted).

    After :data:`MAX_FAILED_LOGINS` failures in a row the account is locked for
    :data:`LOCKOUT`; a locked account raises :class:`AccountLocked` without checking the
    password. Commit the session either way, so failures are kept.
    """
    now = now or utcnow()
    user = find_user(session, email)
    if user is None or not user.active or not user.password_hash:
        dummy_password_check(password)  # same work as a real check: no user enumeration
        return None
    check_not_locked(user, now)
    if not verify_password(user.password_hash, password):
        count_failed_login(user, now)
        session.flush()
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    session.flush()
    return user


def check_not_locked(user: User, now: dt.datetime) -> None:
    """Raise :class:`AccountLocked` while the account is locked out."""
    if user.locked_until is not None and user.locked_until > now:
        raise AccountLocked(
            "too many failed sign-ins: the account is locked for a while",
            field="password",
            fix=f"try again after {user.locked_until.isoformat(timespec='minutes')} UTC",
        )


def count_failed_login(user: User, now: dt.datetime) -> None:
    """One more failure in a row; the :data:`MAX_FAILED_LOGINS`-th locks the account."""
    user.failed_logins = (user.failed_logins or 0) + 1
    if user.failed_logins >= MAX_FAILED_LOGINS:
        user.locked_until = now + LOCKOUT
        user.failed_logins = 0


def verify_password(stored: str, password: str) -> bool:
    """Whether ``password`` matches the argon2 hash ``stored``; a malformed hash is a no.

    Counts nothing and locks nothing: :func:`login` does that around it.
    """
    try:
        return _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def dummy_password_check(password: str) -> None:
    """Spend the time of one real password check, against a hash no password matches.

    A sign-in refused without checking a password (an unknown e-mail, a locked account)
    calls this, so the answer's timing does not tell an existing account from an unknown
    one. Public because the web sign-in refuses locked accounts itself and must burn the
    same time as :func:`login`.
    """
    verify_password(_DUMMY_HASH, password)


# --- API tokens --------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str  # shown once; never stored


def secret_digest(secret: str) -> str:
    """How a bearer secret (API token, session cookie) is kept: its SHA-256, hex."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def check_scope(scope: str) -> str:
    value = (scope or "").strip().lower()
    if value not in SCOPES:
        raise InvalidInput(f"unknown scope {scope!r}", field="scope", fix="use read or write")
    return value


def create_token(
    session: Session,
    user: User,
    scope: str,
    *,
    expires_days: int = DEFAULT_TOKEN_DAYS,
    name: str | None = None,
    now: dt.datetime | None = None,
) -> IssuedToken:
    value = check_scope(scope)
    if not 1 <= expires_days <= MAX_TOKEN_DAYS:
        raise InvalidInput(
            f"{expires_days} days is out of range",
            field="expires-days",
            fix=f"use 1 … {MAX_TOKEN_DAYS}",
        )
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = now or utcnow()
    token = ApiToken(
        user_id=user.id,
        token_hash=secret_digest(secret),
        prefix=secret[:12],
        name=name,
        scope=value,
        created_at=now,
        expires_at=now + dt.timedelta(days=expires_days),
    )
    session.add(token)
    session.flush()
    return IssuedToken(token, secret)


def token_to_dict(token: ApiToken) -> dict[str, Any]:
    return {
        "id": token.id,
        "prefix": token.prefix,
        "name": token.name,
        "scope": token.scope,
        "created_at": token.created_at.isoformat(),
        "expires_at": token.expires_at.isoformat(),
        "revoked_at": token.revoked_at.isoformat() if token.revoked_at else None,
    }


def revoke_token(session: Session, token_id: int, *, now: dt.datetime | None = None) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"no token {token_id}", field="id", fix="see `annexa token list`")
    if token.revoked_at is None:
        token.revoked_at = now or utcnow()
        session.flush()
    return token


def list_tokens(session: Session, user: User | None = None) -> list[ApiToken]:
    query = select(ApiToken).order_by(ApiToken.id)
    if user is not None:
        query = query.where(ApiToken.user_id == user.id)
    return list(session.scalars(query))


def authenticate_token(
    session: Session, secret: str, *, now: dt.datetime | None = None
) -> tuple[User, ApiToken]:
    """The user and token a bearer secret stands for; :class:`Unauthenticated` otherwise.

    The row is found by the SHA-256 of the secret; the stored and computed hashes are then
    compared in constant time. Every failure gives the same message.
    """
    refused = Unauthenticated(
        "missing, invalid, expired or revoked token",
        field="Authorization",
        fix="send `Authorization: Bearer anx_…` with a valid token (`annexa token create`)",
    )
    if not secret or not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        raise refused
    computed = secret_digest(secret)
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == computed))
    if token is None or not hmac.compare_digest(token.token_hash, computed):
        raise refused
    now = now or utcnow()
    if token.revoked_at is not None or token.expires_at <= now:
        raise refused
    user = token.user
    if not user.active:
        raise refused
    return user, token
