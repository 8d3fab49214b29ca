"""``annexa user`` and ``annexa token``: people, their roles and their API tokens."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from annexa.accounts import (
    DEFAULT_TOKEN_DAYS,
    ROLES,
    create_token,
    create_user,
    get_user,
    grant,
    list_users,
    revoke_token,
    token_to_dict,
    user_to_dict,
)
from annexa.cli.common import JsonFlag, console, emit, new_app, state
from annexa.errors import InvalidInput
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
    as_json: JsonFlag = False,
) -> None:
    """Add a user (the password is prompted for, hidden, or read with --password-stdin)."""
    if org is not None and role is None:
        raise InvalidInput("--org needs --role", field="--role", fix="e.g. --role editor")
    password = _read_password(password_stdin)
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
        table = Table("email", "name", "roles", "active")
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
