from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from annexa.accounts import ROLES
from annexa.accounts.oidc import (
    configure_provider,
    discover,
    get_provider,
    provider_to_dict,
    remove_provider,
)
from annexa.cli.common import JsonFlag, console, emit, escape, new_app, new_table, state
from annexa.errors import InvalidInput
from annexa.orgs import create_organisation, list_organisations, resolve_organisation

app = new_app("Organisations (tenants) in this database.")


def _as_dict(org) -> dict:  # type: ignore[no-untyped-def]
    return {
        "id": org.id,
        "slug": org.slug,
        "name": org.name,
        "sector": org.sector,
        "headcount": org.headcount,
    }


@app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Organisation name.")],
    slug: Annotated[str | None, typer.Option(help="Short id used by --org.")] = None,
    sector: Annotated[str | None, typer.Option(help="Business sector.")] = None,
    headcount: Annotated[int | None, typer.Option(help="Number of people.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Create an organisation."""
    with state(ctx).transaction() as session:
        org = create_organisation(session, name, slug=slug, sector=sector, headcount=headcount)
        data = _as_dict(org)
    emit(
        data,
        as_json,
        lambda: console.print(f"[green]✓[/] organisation [bold]{escape(data['slug'])}[/]"),
    )


@app.command("list")
def list_(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """List organisations."""
    with state(ctx).reading() as session:
        rows = [_as_dict(org) for org in list_organisations(session)]

    def render() -> None:
        table = new_table("slug", "name", "sector", "headcount")
        for row in rows:
            table.add_row(
                row["slug"], row["name"], row["sector"] or "", str(row["headcount"] or "")
            )
        console.print(table)

    emit({"organisations": rows}, as_json, render)


# --- single sign-on ------------------------------------------------------------------------

oidc_app = new_app("Single sign-on with an OpenID Connect provider, per organisation.")
app.add_typer(oidc_app, name="oidc")


def _read_secret(from_file: str | None, secret_env: str | None) -> str | None:
    """The client secret from a file (``-``: standard input) or an environment variable."""
    if from_file is not None and secret_env is not None:
        raise InvalidInput(
            "give the client secret one way",
            field="--client-secret-file",
            fix="pass --client-secret-file or --client-secret-env, not both",
        )
    if secret_env is not None:
        value = os.environ.get(secret_env, "")
        if not value.strip():
            raise InvalidInput(
                f"the environment variable {secret_env!r} is not set or empty",
                field="--client-secret-env",
                fix="export it first, e.g. `read -rs IDP_SECRET && export IDP_SECRET`",
            )
        return value.strip()
    if from_file is not None:
        try:
            if from_file == "-":
                value = sys.stdin.readline()
            else:
                value = Path(from_file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidInput(
                f"cannot read {from_file!r}: {type(exc).__name__}",
                field="--client-secret-file",
                fix="a readable UTF-8 file holding the secret (or - for standard input)",
            ) from None
        if not value.strip():
            raise InvalidInput(
                f"{from_file!r} is empty",
                field="--client-secret-file",
                fix="put the secret in it",
            )
        return value.strip()
    return None


def _render_oidc(data: dict) -> None:  # type: ignore[type-arg]
    table = new_table("setting", "value", show_header=False)
    rows = [
        ("organisation", data["org"]),
        ("enabled", "yes" if data["enabled"] else "no"),
        ("issuer", data["issuer"]),
        ("client id", data["client_id"]),
        ("client secret", "set (not shown)" if data["client_secret_set"] else "none (PKCE only)"),
        ("scopes", data["scopes"]),
        ("sign-up domains", ", ".join(data["allowed_domains"]) or "none (existing users only)"),
        ("default role", data["default_role"]),
        ("redirect URI", data["redirect_uri"] or f"https://<this server>{data['callback_path']}"),
    ]
    for name, value in rows:
        table.add_row(name, escape(str(value)))
    console.print(table)


@oidc_app.command("set")
def oidc_set(
    ctx: typer.Context,
    slug: Annotated[str, typer.Argument(metavar="SLUG", help="The organisation.")],
    issuer: Annotated[
        str | None, typer.Option("--issuer", help="The provider's issuer URL (https).")
    ] = None,
    client_id: Annotated[
        str | None, typer.Option("--client-id", help="Annexa's client id at the provider.")
    ] = None,
    client_secret_file: Annotated[
        str | None,
        typer.Option(
            "--client-secret-file",
            help="Read the client secret from this file (- for standard input); never pass "
            "it on the command line, where other users and the shell history see it.",
        ),
    ] = None,
    client_secret_env: Annotated[
        str | None,
        typer.Option("--client-secret-env", help="Read the client secret from this variable."),
    ] = None,
    clear_client_secret: Annotated[
        bool,
        typer.Option("--clear-client-secret", help="Forget the secret (a public client)."),
    ] = False,
    domains: Annotated[
        str | None,
        typer.Option(
            "--domains",
            help="E-mail domains whose people get an account at first sign-in, comma-separated "
            '("" for none: only existing users).',
        ),
    ] = None,
    default_role: Annotated[
        str | None, typer.Option("--default-role", help="Their role: " + ", ".join(ROLES) + ".")
    ] = None,
    scopes: Annotated[
        str | None, typer.Option("--scopes", help='Default "openid email profile".')
    ] = None,
    enabled: Annotated[
        bool | None, typer.Option("--enable/--disable", help="Offer it on the sign-in page.")
    ] = None,
    check: Annotated[
        bool,
        typer.Option("--check", help="Fetch the provider's discovery document before saving."),
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Set up or change an organisation's single sign-on (options left out stay as they are)."""
    secret = _read_secret(client_secret_file, client_secret_env)
    if clear_client_secret and secret is not None:
        raise InvalidInput(
            "--clear-client-secret contradicts a new secret",
            field="--clear-client-secret",
            fix="pass one of them",
        )
    changes: dict = {  # type: ignore[type-arg]
        "issuer": issuer,
        "client_id": client_id,
        "allowed_domains": domains,
        "default_role": default_role,
        "scopes": scopes,
        "enabled": enabled,
    }
    if secret is not None:
        changes["client_secret"] = secret
    elif clear_client_secret:
        changes["client_secret"] = None
    with state(ctx).transaction() as session:
        org = resolve_organisation(session, slug)
        provider = configure_provider(session, org, **changes)
        if check:
            discover(provider.issuer)
        data = provider_to_dict(provider)
    emit(data, as_json, lambda: _render_oidc(data))


@oidc_app.command("show")
def oidc_show(
    ctx: typer.Context,
    slug: Annotated[str, typer.Argument(metavar="SLUG", help="The organisation.")],
    as_json: JsonFlag = False,
) -> None:
    """An organisation's single sign-on settings (never the client secret)."""
    with state(ctx).reading() as session:
        data = provider_to_dict(get_provider(session, resolve_organisation(session, slug)))
    emit(data, as_json, lambda: _render_oidc(data))


@oidc_app.command("remove")
def oidc_remove(
    ctx: typer.Context,
    slug: Annotated[str, typer.Argument(metavar="SLUG", help="The organisation.")],
    as_json: JsonFlag = False,
) -> None:
    """Remove an organisation's single sign-on (linked identities stay, unused)."""
    with state(ctx).transaction() as session:
        org = resolve_organisation(session, slug)
        remove_provider(session, org)
        data = {"org": org.slug, "removed": True}
    emit(
        data,
        as_json,
        lambda: console.print(f"[green]✓[/] single sign-on removed from {escape(data['org'])}"),
    )
