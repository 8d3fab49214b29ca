"""Administering people: members of an organisation, their roles, their accounts' state.

Accounts are shared by every organisation their owner belongs to; roles are per
organisation. So an organisation's admin sees only their own organisation's side of an
account (its role there, never its other memberships), and may change an account as a
whole (deactivate, reactivate) only when every organisation it belongs to is one they
administer. No organisation is ever left without an active admin.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from annexa.accounts.service import check_role, get_user, grant
from annexa.accounts.sessions import end_all_sessions
from annexa.errors import Conflict, Forbidden, NotFound
from annexa.store.models import ApiToken, Membership, Organisation, User, UserIdentity


def member_to_dict(session: Session, user: User, role: str) -> dict[str, Any]:
    """An account as one organisation sees it: its role there, nothing of other tenants."""
    sso = session.scalar(
        select(func.count()).select_from(UserIdentity).where(UserIdentity.user_id == user.id)
    )
    return {
        "id": user.id,
        "email": user.email,
        "display_name": user.display_name,
        "role": role,
        "active": user.active,
        "locked_until": user.locked_until.isoformat() if user.locked_until else None,
        "password": user.password_hash is not None,
        "single_sign_on": bool(sso),
        "second_factor": user.totp_enabled_at is not None,
        "last_login_at": user.last_login_at.isoformat() if user.last_login_at else None,
    }


def list_members(session: Session, org: Organisation) -> list[tuple[User, str]]:
    rows = session.execute(
        select(User, Membership.role)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.org_id == org.id)
        .order_by(User.email)
    ).all()
    return [(user, role) for user, role in rows]


def get_member(session: Session, org: Organisation, email: str) -> tuple[User, Membership]:
    """A member of ``org`` by e-mail; anyone else is "not found", whether or not they exist."""
    wanted = (email or "").strip().lower()
    row = session.execute(
        select(User, Membership)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.org_id == org.id, User.email == wanted)
    ).first()
    if row is None:
        raise NotFound(
            f"{email!r} is not a member of {org.slug}",
            field="email",
            fix="see the organisation's users",
        )
    return row[0], row[1]


def _other_active_admins(session: Session, org_id: int, user: User) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(Membership)
            .join(User, User.id == Membership.user_id)
            .where(
                Membership.org_id == org_id,
                Membership.role == "admin",
                Membership.user_id != user.id,
                User.active.is_(True),
            )
        )
        or 0
    )


def _keep_an_admin(session: Session, org: Organisation, user: User, doing: str) -> None:
    if _other_active_admins(session, org.id, user) == 0:
        raise Conflict(
            f"{user.email} is the last active admin of {org.slug}: {doing} would leave it "
            "without one",
            field="role",
            fix="make someone else admin first",
        )


def change_role(session: Session, org: Organisation, email: str, role: str) -> Membership:
    """Give an existing account ``role`` in ``org`` (a new membership, or a changed one)."""
    value = check_role(role)
    user = get_user(session, email)
    current = session.scalar(
        select(Membership).where(Membership.user_id == user.id, Membership.org_id == org.id)
    )
    if current is not None and current.role == "admin" and value != "admin":
        _keep_an_admin(session, org, user, "demoting them")
    return grant(session, user, org, value)


def revoke_membership(session: Session, org: Organisation, email: str) -> User:
    user, membership = get_member(session, org, email)
    if membership.role == "admin":
        _keep_an_admin(session, org, user, "removing them")
    session.delete(membership)
    session.flush()
    session.expire(user, ["memberships"])
    return user


def set_active(session: Session, user: User, active: bool) -> User:
    """Turn an account off (signing it out everywhere; its tokens stop working) or on."""
    if not active and user.active:
        for membership in user.memberships:
            if membership.role == "admin":
                _keep_an_admin(session, membership.organisation, user, "deactivating them")
        user.active = False
        end_all_sessions(session, user)
    elif active:
        user.active = True
    session.flush()
    return user


def unlock(session: Session, user: User) -> User:
    """Lift a password lock-out now, instead of waiting for it to end."""
    user.failed_logins = 0
    user.locked_until = None
    session.flush()
    return user


def admin_org_ids(session: Session, user: User) -> set[int]:
    return set(
        session.scalars(
            select(Membership.org_id).where(
                Membership.user_id == user.id, Membership.role == "admin"
            )
        )
    )


def check_manages_account(session: Session, admin: User, user: User) -> None:
    """An org admin changes an account as a whole only when it is wholly theirs."""
    theirs = {m.org_id for m in user.memberships}
    if not theirs or not theirs <= admin_org_ids(session, admin):
        raise Forbidden(
            "this account also belongs to organisations you do not administer",
            field="email",
            fix="ask the instance operator (`annexa user …` on the server), or revoke "
            "the account's role in your organisation instead",
        )


def tokens_of_members(session: Session, org: Organisation) -> list[ApiToken]:
    members = select(Membership.user_id).where(Membership.org_id == org.id)
    return list(
        session.scalars(select(ApiToken).where(ApiToken.user_id.in_(members)).order_by(ApiToken.id))
    )


def member_token(session: Session, org: Organisation, token_id: int) -> ApiToken:
    """A token whose owner is a member of ``org``; "not found" for any other."""
    token = session.get(ApiToken, token_id)
    member = (
        token is not None
        and session.scalar(
            select(Membership.id).where(
                Membership.user_id == token.user_id, Membership.org_id == org.id
            )
        )
        is not None
    )
    if not member:
        raise NotFound(f"no token {token_id} in {org.slug}", field="id", fix="list the tokens")
    assert token is not None
    return token
