"""Who is asking: the browser session, the signed-in user, their organisation and role.

The role rules are the API's (:mod:`annexa.api.deps`): ``read`` any member, ``write``
admins and editors, ``own`` contributors too for records they own, ``audit`` admins and
auditors. A page of an organisation the user is not a member of answers 404, exactly like
one that does not exist. Pages hide the controls a role may not use, and every write
checks the role again on the server.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from annexa.accounts import WRITE_ROLES, csrf_token, find_session, owns, require_ownership
from annexa.accounts.sessions import STAGE_FULL
from annexa.api.deps import ROLES_FOR, WRITING, Permission
from annexa.api.errors import request_id_of
from annexa.errors import AnnexaError, Forbidden, NotFound
from annexa.store.models import Membership, Organisation, User, WebSession
from annexa.web.cookies import session_secret
from annexa.web.errors import LoginRequired

ANONYMOUS = "web:anonymous"


def db_session(request: Request) -> Iterator[Session]:
    """One transaction per request; audit events name the user and the request id."""
    database = request.app.state.database
    with database.transaction(actor=ANONYMOUS, request_id=request_id_of(request)) as session:
        yield session


DbSession = Annotated[Session, Depends(db_session)]


def sign_checkpoint(request: Request) -> None:
    sign = getattr(request.app.state, "sign_checkpoint", None)
    if sign is not None:
        sign()


@dataclass
class Visitor:
    """A browser with a live session (fully signed in unless stated otherwise)."""

    request: Request
    session: Session
    web_session: WebSession
    user: User
    secret: str

    @property
    def csrf(self) -> str:
        return csrf_token(self.secret)

    @property
    def actor(self) -> str:
        return self.user.email

    def commit(self) -> None:
        """Commit now (a failure is an error page, not a lost change), then sign a checkpoint."""
        self.session.commit()
        sign_checkpoint(self.request)

    @contextmanager
    def writing(self) -> Iterator[None]:
        """A block of writes: committed and checkpointed at the end, or rolled back whole
        when a service refuses (the caller then shows the error next to its field)."""
        try:
            yield
        except AnnexaError:
            self.session.rollback()
            raise
        self.commit()

    def memberships(self) -> list[dict[str, str]]:
        rows = self.session.execute(
            select(Organisation.slug, Organisation.name, Membership.role)
            .join(Membership, Membership.org_id == Organisation.id)
            .where(Membership.user_id == self.user.id)
            .order_by(Organisation.name)
        ).all()
        return [{"slug": slug, "name": name, "role": role} for slug, name, role in rows]


def current_visitor(request: Request, session: Session) -> Visitor | None:
    """The visitor behind the session cookie at any stage, or None."""
    secret = session_secret(request)
    row = find_session(session, secret)
    if row is None or secret is None:
        return None
    session.info["actor"] = row.user.email
    return Visitor(request, session, row, row.user, secret)


def _here(request: Request) -> str:
    target = request.url.path
    if request.url.query:
        target += "?" + request.url.query
    return target


def signed_in(request: Request, session: DbSession) -> Visitor:
    visitor = current_visitor(request, session)
    if visitor is None or visitor.web_session.stage != STAGE_FULL:
        raise LoginRequired(_here(request) if request.method == "GET" else "/")
    return visitor


SignedIn = Annotated[Visitor, Depends(signed_in)]


@dataclass
class OrgPage(Visitor):
    """A signed-in member looking at one organisation's pages."""

    org: Organisation = field(default=None)  # type: ignore[assignment]
    role: str = ""
    permission: Permission = Permission.READ

    @property
    def slug(self) -> str:
        return self.org.slug

    @property
    def base(self) -> str:
        return f"/o/{self.org.slug}"

    def url(self, *parts: Any) -> str:
        from annexa.web.render import path_part

        return "/".join([self.base, *(path_part(p) for p in parts)])

    def may(self, permission: Permission | str) -> bool:
        return self.role in ROLES_FOR[Permission(permission)]

    @property
    def can_write(self) -> bool:
        return self.role in WRITE_ROLES

    @property
    def can_contribute(self) -> bool:
        return self.may(Permission.OWN)

    @property
    def can_audit(self) -> bool:
        return self.may(Permission.AUDIT)

    def may_change(self, owner: str | None) -> bool:
        """Whether this user may change a record with this owner (hides controls)."""
        if self.can_write:
            return True
        return self.can_contribute and owns(self.user, owner)

    def require(self, permission: Permission) -> None:
        if self.role not in ROLES_FOR[permission]:
            raise Forbidden(
                f"the {self.role} role may not do this",
                field="role",
                fix="ask an admin of the organisation for a role that may",
            )

    def require_owner(self, *owners: str | None) -> None:
        """Contributors change only records they own (owner = their name or e-mail)."""
        self.require(Permission.OWN)
        require_ownership(self.user, self.role, *owners)


def org_access(permission: Permission) -> Any:
    """The signed-in user as a member of ``{slug}`` holding ``permission`` there."""

    def dependency(visitor: SignedIn, slug: str) -> OrgPage:
        row = visitor.session.execute(
            select(Organisation, Membership.role)
            .join(Membership, Membership.org_id == Organisation.id)
            .where(Organisation.slug == slug, Membership.user_id == visitor.user.id)
        ).first()
        if row is None:
            raise NotFound("There is no such organisation, or you are not a member of it.")
        organisation, role = row
        page = OrgPage(
            request=visitor.request,
            session=visitor.session,
            web_session=visitor.web_session,
            user=visitor.user,
            secret=visitor.secret,
            org=organisation,
            role=role,
            permission=permission,
        )
        page.require(permission)
        return page

    return Depends(dependency)


Reader = Annotated[OrgPage, org_access(Permission.READ)]
Writer = Annotated[OrgPage, org_access(Permission.WRITE)]
OwnerWriter = Annotated[OrgPage, org_access(Permission.OWN)]
Auditor = Annotated[OrgPage, org_access(Permission.AUDIT)]

__all__ = [
    "WRITING",
    "Auditor",
    "DbSession",
    "OrgPage",
    "OwnerWriter",
    "Permission",
    "Reader",
    "SignedIn",
    "Visitor",
    "Writer",
]
