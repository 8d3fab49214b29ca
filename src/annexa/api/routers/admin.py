"""Administration: people and roles, API tokens, single sign-on — what `annexa user`,
`annexa token` and `annexa org oidc` do on the command line.

* ``/me/tokens``: every user lists, creates (the secret is in the answer, once) and revokes
  their own tokens. Creating or revoking needs a ``write`` token.
* ``/orgs/{org}/users``, ``/tokens``, ``/oidc``: an organisation's admins, for their own
  organisation only. Reading needs the admin role (permission ``admin``); changing needs
  a ``write`` token too (``manage``). An admin sees an account only as their
  organisation sees it (its role there), and changes an account as a whole (deactivate,
  activate) only when it belongs to no organisation they do not administer.

Organisations are created on the server with ``annexa org add``: there is no role above
an organisation's admin, so no API caller may create tenants.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from annexa.accounts import (
    DEFAULT_TOKEN_DAYS,
    create_token,
    create_user,
    grant,
    list_tokens,
    revoke_token,
    token_to_dict,
)
from annexa.accounts.members import (
    change_role,
    check_manages_account,
    get_member,
    list_members,
    member_to_dict,
    member_token,
    revoke_membership,
    set_active,
    tokens_of_members,
    unlock,
)
from annexa.accounts.oidc import (
    configure_provider,
    get_provider,
    provider_to_dict,
    remove_provider,
)
from annexa.api.deps import Admin, Authenticated, Caller, Manager, OrgContext, Paging, page
from annexa.errors import Forbidden, NotFound
from annexa.store.models import ApiToken

# Ids beyond any database integer are simply unknown tokens, not server errors.
TokenId = Annotated[int, Path(ge=1, le=2**31 - 1)]
router = APIRouter(tags=["administration"])

Email = Annotated[str, Field(max_length=320)]
Role = Annotated[str, Field(max_length=16)]


def _require_write_token(caller: Caller) -> None:
    if caller.token.scope != "write":
        raise Forbidden(
            "this token has the read scope: it cannot change anything",
            field="scope",
            fix="use a token created with --scope write",
        )


# --- your own tokens ---------------------------------------------------------------------


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    scope: str = Field(max_length=16, description="read or write")
    expires_days: int = Field(default=DEFAULT_TOKEN_DAYS, ge=1, le=3650)
    name: str | None = Field(default=None, max_length=200)


@router.get("/me/tokens", summary="Your API tokens (never their secrets)")
def my_tokens(caller: Authenticated, paging: Paging) -> dict[str, Any]:
    rows = [token_to_dict(t) for t in list_tokens(caller.session, caller.user)]
    return page(rows, paging, ("id", "name", "scope", "created_at", "expires_at"))


@router.post(
    "/me/tokens", status_code=201, summary="Create a token for yourself: its secret is shown once"
)
def my_token_create(caller: Authenticated, body: TokenIn) -> dict[str, Any]:
    _require_write_token(caller)
    issued = create_token(
        caller.session, caller.user, body.scope, expires_days=body.expires_days, name=body.name
    )
    data = {**token_to_dict(issued.token), "token": issued.secret}
    caller.commit()
    return data


def _own_token(caller: Caller, token_id: int) -> ApiToken:
    token = caller.session.get(ApiToken, token_id)
    if token is None or token.user_id != caller.user.id:
        raise NotFound(f"you have no token {token_id}", field="id", fix="GET /api/v1/me/tokens")
    return token


@router.delete("/me/tokens/{token_id}", status_code=204, summary="Revoke one of your tokens")
def my_token_revoke(caller: Authenticated, token_id: TokenId) -> None:
    _require_write_token(caller)
    revoke_token(caller.session, _own_token(caller, token_id).id)
    caller.commit()


# --- the organisation's people ----------------------------------------------------------


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: Email
    display_name: str = Field(max_length=200)
    role: Role = "viewer"
    password: SecretStr | None = Field(
        default=None,
        max_length=1024,
        description="Leave out for an account that signs in only with single sign-on.",
    )


class RoleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Role


def _member(ctx: OrgContext, email: str) -> dict[str, Any]:
    user, membership = get_member(ctx.session, ctx.org, email)
    return member_to_dict(ctx.session, user, membership.role)


@router.get("/orgs/{org}/users", summary="The organisation's members and their roles")
def users(
    ctx: Admin,
    paging: Paging,
    role: Annotated[str | None, Query(max_length=16)] = None,
    active: bool | None = None,
) -> dict[str, Any]:
    rows = [member_to_dict(ctx.session, u, r) for u, r in list_members(ctx.session, ctx.org)]
    if role is not None:
        rows = [r for r in rows if r["role"] == role]
    if active is not None:
        rows = [r for r in rows if r["active"] is active]
    return page(rows, paging, ("email", "display_name", "role", "active", "last_login_at"))


@router.post("/orgs/{org}/users", status_code=201, summary="Create an account with a role here")
def user_create(ctx: Manager, body: UserIn) -> dict[str, Any]:
    password = body.password.get_secret_value() if body.password is not None else None
    user = create_user(ctx.session, body.email, body.display_name, password)
    grant(ctx.session, user, ctx.org, body.role)
    data = _member(ctx, user.email)
    ctx.commit()
    return data


@router.get("/orgs/{org}/users/{email}", summary="One member")
def user_show(ctx: Admin, email: str) -> dict[str, Any]:
    return _member(ctx, email)


@router.put(
    "/orgs/{org}/users/{email}/role",
    summary="Give an existing account a role here, or change it",
)
def user_role(ctx: Manager, email: str, body: RoleIn) -> dict[str, Any]:
    membership = change_role(ctx.session, ctx.org, email, body.role)
    data = member_to_dict(ctx.session, membership.user, membership.role)
    ctx.commit()
    return data


@router.delete(
    "/orgs/{org}/users/{email}/role", status_code=204, summary="Remove a member's role here"
)
def user_role_revoke(ctx: Manager, email: str) -> None:
    revoke_membership(ctx.session, ctx.org, email)
    ctx.commit()


def _account_change(ctx: OrgContext, email: str, active: bool) -> dict[str, Any]:
    user, membership = get_member(ctx.session, ctx.org, email)
    if user.id == ctx.user.id:
        raise Forbidden(
            "you cannot change your own account's state",
            field="email",
            fix="ask another admin",
        )
    check_manages_account(ctx.session, ctx.user, user)
    set_active(ctx.session, user, active)
    data = member_to_dict(ctx.session, user, membership.role)
    ctx.commit()
    return data


@router.post(
    "/orgs/{org}/users/{email}/deactivate",
    summary="Turn an account off: signed out everywhere, its tokens stop working",
)
def user_deactivate(ctx: Manager, email: str) -> dict[str, Any]:
    return _account_change(ctx, email, False)


@router.post("/orgs/{org}/users/{email}/activate", summary="Turn an account back on")
def user_activate(ctx: Manager, email: str) -> dict[str, Any]:
    return _account_change(ctx, email, True)


@router.post("/orgs/{org}/users/{email}/unlock", summary="Lift a password lock-out now")
def user_unlock(ctx: Manager, email: str) -> dict[str, Any]:
    user, membership = get_member(ctx.session, ctx.org, email)
    unlock(ctx.session, user)
    data = member_to_dict(ctx.session, user, membership.role)
    ctx.commit()
    return data


# --- the members' tokens -----------------------------------------------------------------


@router.get("/orgs/{org}/tokens", summary="API tokens of the organisation's members")
def member_tokens(ctx: Admin, paging: Paging) -> dict[str, Any]:
    rows = [
        {**token_to_dict(t), "email": t.user.email} for t in tokens_of_members(ctx.session, ctx.org)
    ]
    return page(rows, paging, ("id", "email", "scope", "created_at", "expires_at"))


@router.delete("/orgs/{org}/tokens/{token_id}", status_code=204, summary="Revoke a member's token")
def member_token_revoke(ctx: Manager, token_id: TokenId) -> None:
    revoke_token(ctx.session, member_token(ctx.session, ctx.org, token_id).id)
    ctx.commit()


# --- single sign-on ------------------------------------------------------------------------


class OidcIn(BaseModel):
    """Fields left out keep their value; ``client_secret: null`` removes the secret."""

    model_config = ConfigDict(extra="forbid")
    issuer: str | None = Field(default=None, max_length=500)
    client_id: str | None = Field(default=None, max_length=300)
    client_secret: SecretStr | None = Field(
        default=None, max_length=500, description="Write-only: never returned."
    )
    allowed_domains: list[Annotated[str, Field(max_length=253)]] | None = Field(
        default=None, max_length=100
    )
    default_role: Role | None = None
    scopes: str | None = Field(default=None, max_length=300)
    enabled: bool | None = None


def _base(request: Request) -> str:
    return str(request.base_url)


@router.get("/orgs/{org}/oidc", summary="The organisation's single sign-on (no secret)")
def oidc_show(ctx: Admin) -> dict[str, Any]:
    return provider_to_dict(get_provider(ctx.session, ctx.org), request_base=_base(ctx.request))


@router.put("/orgs/{org}/oidc", summary="Set up or change single sign-on")
def oidc_set(ctx: Manager, body: OidcIn) -> dict[str, Any]:
    given = body.model_dump(exclude_unset=True)
    if "client_secret" in given:
        secret = body.client_secret
        given["client_secret"] = secret.get_secret_value() if secret is not None else None
    for key in ("issuer", "client_id", "default_role", "scopes", "enabled", "allowed_domains"):
        if key in given and given[key] is None:
            del given[key]  # null: leave it as it is
    # Not http://localhost: the server would call whatever listens on its own loopback.
    provider = configure_provider(ctx.session, ctx.org, allow_loopback=False, **given)
    data = provider_to_dict(provider, request_base=_base(ctx.request))
    ctx.commit()
    return data


@router.delete("/orgs/{org}/oidc", status_code=204, summary="Turn single sign-on off for good")
def oidc_remove(ctx: Manager) -> None:
    remove_provider(ctx.session, ctx.org)
    ctx.commit()
