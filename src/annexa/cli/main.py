"""Entry point: global options and the command tree."""

from __future__ import annotations

from typing import Annotated

import typer

from annexa import __version__
from annexa.cli import (
    assets,
    catalog,
    context,
    demo,
    orgs,
    risk,
    soa,
    status,
    suppliers,
)
from annexa.cli.common import AnnexaGroup, JsonFlag, console, emit, state

app = typer.Typer(
    cls=AnnexaGroup,
    help="Annexa — an ISMS for organisations that adopt AI (ISO/IEC 27001:2022, 42001:2023).",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        console.print(f"annexa {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            envvar="ANNEXA_DATABASE_URL",
            help="Database URL (sqlite:///file.db or postgresql://…). Default: ./annexa.db",
        ),
    ] = None,
    org: Annotated[
        str | None,
        typer.Option(
            "--org", envvar="ANNEXA_ORG", help="Organisation slug; default: the only one."
        ),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    current = state(ctx)
    current.db_url = db
    current.org = org


@app.command()
def init(
    ctx: typer.Context,
    org_name: Annotated[
        str | None, typer.Option("--org-name", help="Also create an organisation with this name.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Create the database schema, or upgrade it to this version. Safe to repeat."""
    current = state(ctx)
    db = current.database(must_be_ready=False)
    revision = db.upgrade()
    created = None
    if org_name:
        from annexa.orgs import create_organisation

        with db.transaction() as session:
            created = create_organisation(session, org_name).slug
    data = {"database": db.url.split("@")[-1], "revision": revision, "organisation": created}
    emit(
        data,
        as_json,
        lambda: console.print(
            f"[green]✓[/] database ready at schema [bold]{revision}[/]"
            + (f"; organisation [bold]{created}[/] created" if created else "")
        ),
    )


app.add_typer(orgs.app, name="org")
app.add_typer(catalog.app, name="catalog")
app.add_typer(context.scope_app, name="scope")
app.add_typer(context.issue_app, name="issue")
app.add_typer(context.party_app, name="party")
app.add_typer(suppliers.app, name="supplier")
app.add_typer(assets.asset_app, name="asset")
app.add_typer(assets.ai_app, name="ai")
app.add_typer(risk.app, name="risk")
app.add_typer(soa.app, name="soa")
app.command("status")(status.status)
app.command("demo")(demo.demo)


def run() -> None:
    app()
