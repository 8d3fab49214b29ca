"""``annexa user`` and ``annexa token``: people, their roles and their API tokens."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from annexa.accounts import (
    DEFAULT_TOKEN_DAYS,
    ROLES,
    begin_totp,
    confirm_totp,
    create_token,
    create_user,
    disable_totp,
    end_all_sessions,
    get_user,
    grant,
    list_tokens,
    list_users,
    revoke_token,
    token_to_dict,
    user_to_dict,
)
from annexa.accounts.members import revoke_membership, set_active, unlock
from annexa.cli.common import JsonFlag, console, emit, escape, new_app, new_table, state
from annexa.errors import Conflict, InvalidInput
from annexa.orgs import resolve_organisation

user_app = new_app("People who use the web UI and API, and their role per organisation.")
token_app = new_app("Personal API tokens (shown once; stored only as a hash).")

RoleOption = Annotated[str, typer.Option("--role", help=", ".join(ROLES) + ".")]


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        password = line.rstrip("\r\n")
        if not password:
            raise InvalidInput(
                "no password on standard input", field="--password-stdin", fix="pipe one line"
            )
        return password
    password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return str(password)


@user_app.command("add")
def add(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="The user's e-mail address (their login).")],
    name: Annotated[str, typer.Option("--name", help="Display name, e.g. Jane Doe.")],
    org: Annotated[
        str | None, typer.Option("--org", help="Also give a role in this organisation.")
    ] = None,
    role: Annotated[str | None, typer.Option("--role", help=", ".join(ROLES) + ".")] = None,
    password_stdin: Annotated[
        bool,
        typer.Option("--password-stdin", help="Read the password from standard input."),
    ] = False,
    no_password: Annotated[
        bool,
        typer.Option("--no-password", help="No password: the user signs in with single sign-on."),
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Add a user (the password is prompted for, hidden, or read with --password-stdin)."""
    if org is not None and role is None:
        raise InvalidInput("--org needs --role", field="--role", fix="e.g. --role editor")
    if no_password and password_stdin:
        raise InvalidInput(
            "--no-password and --password-stdin contradict each other",
            field="--no-password",
            fix="pass one of them",
        )
    password = None if no_password else _read_password(password_stdin)
    current = state(ctx)
    with current.transaction() as session:
        user = create_user(session, email, name, password)
        if role is not None:
            grant(session, user, resolve_organisation(session, org or current.org), role)
        data = user_to_dict(user)
    emit(data, as_json, lambda: console.print(f"[green]✓[/] user [bold]{data['email']}[/] added"))


@user_app.command("list")
def list_(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """List users and their roles."""
    with state(ctx).reading() as session:
        rows = [user_to_dict(u) for u in list_users(session)]

    def render() -> None:
        if not rows:
            console.print("no users yet — add one with `annexa user add EMAIL --name NAME`")
            return
        table = new_table("email", "name", "roles", "active")
        for row in rows:
            roles = ", ".join(f"{m['org']}: {m['role']}" for m in row["memberships"])
            table.add_row(
                escape(row["email"]),
                escape(row["display_name"]),
                escape(roles),
                "yes" if row["active"] else "no",
            )
        console.print(table)

    emit({"users": rows}, as_json, render)


@user_app.command("grant")
def grant_(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="The user's e-mail address.")],
    org: Annotated[str, typer.Option("--org", help="Organisation slug.")],
    role: RoleOption,
    as_json: JsonFlag = False,
) -> None:
    """Give a user a role in an organisation (replaces the role they had there)."""
    current = state(ctx)
    with current.transaction() as session:
        user = get_user(session, email)
        membership = grant(session, user, resolve_organisation(session, org), role)
        data = {"email": user.email, "org": org, "role": membership.role}
    emit(
        data,
        as_json,
        lambda: console.print(
            f"[green]✓[/] {escape(data['email'])} is {data['role']} in {escape(org)}"
        ),
    )


@token_app.command("create")
def token_create(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="Whose token it is.")],
    scope: Annotated[str, typer.Option("--scope", help="read or write.")],
    expires_days: Annotated[
        int, typer.Option("--expires-days", help="Days until it expires.")
    ] = DEFAULT_TOKEN_DAYS,
    name: Annotated[str | None, typer.Option("--name", help="What it is for.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Create an API token and print it once: it cannot be shown again."""
    current = state(ctx)
    with current.transaction() as session:
        user = get_user(session, email)
        issued = create_token(session, user, scope, expires_days=expires_days, name=name)
        data = {**token_to_dict(issued.token), "email": user.email, "token": issued.secret}

    def render() -> None:
        console.print(
            f"[green]✓[/] token {data['id']} ({data['scope']}) for {escape(data['email'])}, "
            f"expires {data['expires_at'][:10]}. Copy it now — it is not shown again:",
            highlight=False,
        )
        sys.stdout.write(data["token"] + "\n")

    emit(data, as_json, render)


@token_app.command("revoke")
def token_revoke(
    ctx: typer.Context,
    token_id: Annotated[int, typer.Argument(metavar="ID", help="The token's id.")],
    as_json: JsonFlag = False,
) -> None:
    """Revoke a token at once."""
    current = state(ctx)
    with current.transaction() as session:
        data = token_to_dict(revoke_token(session, token_id))
    emit(data, as_json, lambda: console.print(f"[green]✓[/] token {token_id} revoked"))


@user_app.command("revoke")
def revoke_(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="The user's e-mail address.")],
    org: Annotated[str, typer.Option("--org", help="Organisation slug.")],
    as_json: JsonFlag = False,
) -> None:
    """Take a user's role in an organisation away (the account stays)."""
    with state(ctx).transaction() as session:
        organisation = resolve_organisation(session, org)
        user = revoke_membership(session, organisation, email)
        data = {"email": user.email, "org": organisation.slug, "role": None}
    emit(
        data,
        as_json,
        lambda: console.print(f"[green]✓[/] {escape(data['email'])} has no role in {escape(org)}"),
    )


def _account_state(ctx: typer.Context, email: str, change: str, as_json: bool) -> None:
    with state(ctx).transaction() as session:
        user = get_user(session, email)
        if change == "unlock":
            unlock(session, user)
        else:
            set_active(session, user, change == "activate")
        data = user_to_dict(user)
    done = {"activate": "activated", "deactivate": "deactivated", "unlock": "unlocked"}[change]
    emit(data, as_json, lambda: console.print(f"[green]✓[/] {escape(data['email'])} {done}"))


@user_app.command("deactivate")
def deactivate(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="The user's e-mail address.")],
    as_json: JsonFlag = False,
) -> None:
    """Turn an account off: signed out everywhere, its API tokens stop working."""
    _account_state(ctx, email, "deactivate", as_json)


@user_app.command("activate")
def activate(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="The user's e-mail address.")],
    as_json: JsonFlag = False,
) -> None:
    """Turn a deactivated account back on."""
    _account_state(ctx, email, "activate", as_json)


@user_app.command("unlock")
def unlock_(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="The user's e-mail address.")],
    as_json: JsonFlag = False,
) -> None:
    """Lift a lock-out after too many failed sign-ins, now."""
    _account_state(ctx, email, "unlock", as_json)


@user_app.command("totp-on")
def totp_on(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="The user's e-mail address.")],
    code: Annotated[
        str | None,
        typer.Option("--code", help="The 6 digits the authenticator shows, to finish enrolling."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Turn on a TOTP second factor: first for its otpauth:// URI, then with --code.

    Load the URI into an authenticator app (or a QR code made of it), then run the command
    again with the 6 digits the app shows; only then is the second factor on."""
    with state(ctx).transaction() as session:
        user = get_user(session, email)
        if code is None:
            uri = begin_totp(session, user)
            data = {"email": user.email, "enabled": False, "otpauth_uri": uri}
        else:
            if user.totp_enabled_at is not None:
                raise Conflict(
                    "this account's second factor is already on",
                    field="totp",
                    fix=f"nothing to do (`annexa user totp-off {user.email}` turns it off)",
                )
            if not user.totp_secret:
                raise InvalidInput(
                    "no enrolment is in progress for this account",
                    field="--code",
                    fix=f"run `annexa user totp-on {user.email}` first, without --code",
                )
            confirm_totp(session, user, code)
            end_all_sessions(session, user)
            data = {"email": user.email, "enabled": True}

    def render() -> None:
        if data["enabled"]:
            console.print(f"[green]✓[/] second factor on for {escape(data['email'])}")
            return
        console.print(
            "Load this URI into an authenticator app (or make a QR code of it), then run "
            f"`annexa user totp-on {escape(data['email'])} --code NNNNNN`:",
            highlight=False,
        )
        sys.stdout.write(str(data["otpauth_uri"]) + "\n")

    emit(data, as_json, render)


@user_app.command("totp-off")
def totp_off(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="The user's e-mail address.")],
    as_json: JsonFlag = False,
) -> None:
    """Turn the TOTP second factor off (e.g. a lost phone); the user is signed out."""
    with state(ctx).transaction() as session:
        user = get_user(session, email)
        disable_totp(session, user)
        end_all_sessions(session, user)
        data = {"email": user.email, "enabled": False}
    emit(
        data,
        as_json,
        lambda: console.print(f"[green]✓[/] second factor off for {escape(data['email'])}"),
    )


@token_app.command("list")
def token_list(
    ctx: typer.Context,
    email: Annotated[str | None, typer.Argument(help="Only this user's tokens.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """List API tokens (never their secrets)."""
    with state(ctx).reading() as session:
        user = get_user(session, email) if email else None
        rows = [{**token_to_dict(t), "email": t.user.email} for t in list_tokens(session, user)]

    def render() -> None:
        table = new_table("id", "email", "prefix", "scope", "expires", "revoked")
        for row in rows:
            table.add_row(
                str(row["id"]),
                escape(row["email"]),
                escape(row["prefix"]),
                row["scope"],
                row["expires_at"][:10],
                (row["revoked_at"] or "")[:10],
            )
        console.print(table)

    emit({"tokens": rows}, as_json, render)
