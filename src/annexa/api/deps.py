"""What every route depends on: a database session, the caller, their organisation and role.

Deny by default: every route under ``/api/v1`` (but ``/health``) takes one of the
dependencies :func:`authenticated` or :func:`allow` (a test walks the routes to check), so
each has an explicit permission:

=========  ==========================================================================
read       any member (admin, editor, contributor, auditor, viewer)
write      admin, editor; needs a ``write`` token
own        admin, editor, and contributors for records they own (the route checks the
           owner with :meth:`OrgContext.require_owner`); needs a ``write`` token
audit      admin, auditor: the audit trail
admin      admin: reading the organisation's members, their tokens, its single sign-on
manage     admin: changing those; needs a ``write`` token
redact     admin, editor, contributor: the guard's redaction, which writes the
           organisation's vault; needs a ``write`` token
reveal     admin, editor: the guard's restore, which reveals the vaulted originals; needs
           a ``write`` token (a read token never reveals what was masked)
=========  ==========================================================================

An organisation the caller is not a member of answers 404, exactly like one that does not
exist, so its existence does not leak.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.orm import Session

from annexa.accounts import (
    AUDIT_ROLES,
    OWNER_WRITE_ROLES,
    ROLES,
    WRITE_ROLES,
    authenticate_token,
    require_ownership,
)
from annexa.errors import Forbidden, InvalidInput, NotFound, Unauthenticated
from annexa.store.models import ApiToken, Membership, Organisation, User

log = logging.getLogger("annexa.api")

PERMISSION_ATTRIBUTE = "__annexa_permission__"


class Permission(StrEnum):
    AUTHENTICATED = "authenticated"  # any signed-in user; not about one organisation
    READ = "read"
    WRITE = "write"
    OWN = "own"
    AUDIT = "audit"
    ADMIN = "admin"  # the organisation's people and sign-in settings (read)
    MANAGE = "manage"  # … and changing them
    REDACT = "redact"  # the guard: masking text through the organisation's vault
    REVEAL = "reveal"  # the guard: restoring vault placeholders to the originals


ROLES_FOR = {
    Permission.READ: frozenset(ROLES),
    Permission.WRITE: WRITE_ROLES,
    Permission.OWN: OWNER_WRITE_ROLES,
    Permission.AUDIT: AUDIT_ROLES,
    Permission.ADMIN: frozenset({"admin"}),
    Permission.MANAGE: frozenset({"admin"}),
    Permission.REDACT: OWNER_WRITE_ROLES,
    Permission.REVEAL: WRITE_ROLES,
}
WRITING = {
    Permission.WRITE,
    Permission.OWN,
    Permission.MANAGE,
    Permission.REDACT,
    Permission.REVEAL,
}

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="token",
    description="A personal API token: `annexa token create EMAIL --scope read|write`.",
)


def db_session(request: Request) -> Iterator[Session]:
    """One transaction per request; audit events name the caller and the request id."""
    database = request.app.state.database
    with database.transaction(
        actor="api:anonymous", request_id=request.state.request_id
    ) as session:
        yield session


@dataclass
class Caller:
    session: Session
    user: User
    token: ApiToken
    request: Request

    @property
    def actor(self) -> str:
        return self.user.email

    def commit(self) -> None:
        """Commit the writes now (so a failure is an error response), then sign a checkpoint."""
        self.session.commit()
        sign = getattr(self.request.app.state, "sign_checkpoint", None)
        if sign is not None:
            sign()


@dataclass
class OrgContext(Caller):
    org: Organisation
    role: str
    permission: Permission

    def require_owner(self, *owners: str | None) -> None:
        """Contributors change only records they own (owner = their name or e-mail)."""
        require_ownership(self.user, self.role, *owners)


def authenticated_caller(
    request: Request,
    session: Annotated[Session, Depends(db_session)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Caller:
    if credentials is None:
        raise Unauthenticated(
            "authentication required",
            field="Authorization",
            fix="send `Authorization: Bearer anx_…` (`annexa token create`)",
        )
    user, token = authenticate_token(session, credentials.credentials)
    session.info["actor"] = user.email
    request.state.actor = user.email
    return Caller(session=session, user=user, token=token, request=request)


def authenticated() -> Any:
    """Any signed-in user (routes that are not about one organisation)."""

    def dependency(caller: Annotated[Caller, Depends(authenticated_caller)]) -> Caller:
        return caller

    setattr(dependency, PERMISSION_ATTRIBUTE, Permission.AUTHENTICATED)
    return Depends(dependency)


def _not_found(slug: str) -> NotFound:
    return NotFound(f"no organisation {slug!r}", field="org", fix="see GET /api/v1/orgs")


def allow(permission: Permission) -> Any:
    """The caller as a member of ``{org}`` holding ``permission`` there."""

    def dependency(
        caller: Annotated[Caller, Depends(authenticated_caller)],
        org: Annotated[str, Path(description="Organisation slug.", max_length=64)],
    ) -> OrgContext:
        session = caller.session
        row = session.execute(
            select(Organisation, Membership.role)
            .join(Membership, Membership.org_id == Organisation.id)
            .where(Organisation.slug == org, Membership.user_id == caller.user.id)
        ).first()
        if row is None:
            raise _not_found(org)  # unknown, or not a member: the same answer
        organisation, role = row
        if role not in ROLES_FOR[permission]:
            raise Forbidden(
                f"the {role} role may not do this",
                field="role",
                fix="ask an admin of the organisation for a role that may",
            )
        if permission in WRITING and caller.token.scope != "write":
            raise Forbidden(
                "this token has the read scope: it cannot change anything",
                field="scope",
                fix="use a token created with --scope write",
            )
        return OrgContext(
            session=session,
            user=caller.user,
            token=caller.token,
            request=caller.request,
            org=organisation,
            role=role,
            permission=permission,
        )

    setattr(dependency, PERMISSION_ATTRIBUTE, permission)
    return Depends(dependency)


Authenticated = Annotated[Caller, authenticated()]
Reader = Annotated[OrgContext, allow(Permission.READ)]
Writer = Annotated[OrgContext, allow(Permission.WRITE)]
OwnerWriter = Annotated[OrgContext, allow(Permission.OWN)]
Auditor = Annotated[OrgContext, allow(Permission.AUDIT)]
Admin = Annotated[OrgContext, allow(Permission.ADMIN)]
Manager = Annotated[OrgContext, allow(Permission.MANAGE)]


# --- lists: pagination, sorting ------------------------------------------------------------


MAX_LIMIT = 500
MAX_OFFSET = 2**31 - 1  # beyond any list; larger numbers fit no database integer


@dataclass
class PageParams:
    limit: int
    offset: int
    sort: str | None


def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="At most 500.")] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    sort: Annotated[
        str | None,
        Query(max_length=64, description="A field to sort by; prefix with - for descending."),
    ] = None,
) -> PageParams:
    return PageParams(limit=limit, offset=offset, sort=sort)


Paging = Annotated[PageParams, Depends(page_params)]


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (1, "")
    if isinstance(value, bool | int | float):
        return (0, (0, value, ""))
    return (0, (1, 0, str(value).casefold()))


def page(
    items: list[dict[str, Any]], params: PageParams, sortable: tuple[str, ...] = ()
) -> dict[str, Any]:
    """``{items, total, limit, offset}`` of an already filtered list."""
    if params.sort:
        key = params.sort.removeprefix("-")
        if key not in sortable:
            raise InvalidInput(
                f"cannot sort by {key!r}",
                field="sort",
                fix="use one of: " + ", ".join(sortable) if sortable else "omit sort",
            )
        items = sorted(
            items, key=lambda item: _sort_key(item.get(key)), reverse=params.sort.startswith("-")
        )
    window = items[params.offset : params.offset + params.limit]
    return {"items": window, "total": len(items), "limit": params.limit, "offset": params.offset}
