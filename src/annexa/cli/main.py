"""Entry point: global options and the command tree."""

from __future__ import annotations

import gc
import importlib
from typing import Annotated

import typer

from annexa import __version__
from annexa.cli.common import AnnexaGroup, JsonFlag, console, emit, state

# Command groups load on first use: a command imports only the domain it works on, which
# keeps start-up (paid on every invocation) short.
LAZY_GROUPS = {
    "org": "annexa.cli.orgs:app",
    "catalog": "annexa.cli.catalog:app",
    "scope": "annexa.cli.context:scope_app",
    "issue": "annexa.cli.context:issue_app",
    "party": "annexa.cli.context:party_app",
    "supplier": "annexa.cli.suppliers:app",
    "asset": "annexa.cli.assets:asset_app",
    "ai": "annexa.cli.assets:ai_app",
    "risk": "annexa.cli.risk:app",
    "soa": "annexa.cli.soa:app",
    "audit": "annexa.cli.audit:app",
    "guard": "annexa.cli.guard:app",
    "user": "annexa.cli.accounts:user_app",
    "token": "annexa.cli.accounts:token_app",
}


class RootGroup(AnnexaGroup):
    def list_commands(self, ctx: typer.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY_GROUPS})

    def get_command(self, ctx: typer.Context, name: str):  # type: ignore[no-untyped-def]
        target = LAZY_GROUPS.get(name)
        if target is None:
            return super().get_command(ctx, name)
        module_name, attribute = target.split(":")
        sub_app = getattr(importlib.import_module(module_name), attribute)
        command = typer.main.get_command(sub_app)
        command.name = name
        return command


app = typer.Typer(
    cls=RootGroup,
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
    from annexa.audit.keys import load_signer

    signer = load_signer(db.sqlite_file, create=True)  # the audit log's checkpoint key
    created = None
    if org_name:
        from annexa.orgs import create_organisation

        with current.transaction() as session:
            created = create_organisation(session, org_name).slug
    else:
        current.checkpoint_after_write()
    data = {
        "database": db.url.split("@")[-1],
        "revision": revision,
        "organisation": created,
        "audit_public_key": signer.verifier.encode() if signer else None,
    }
    emit(
        data,
        as_json,
        lambda: console.print(
            f"[green]✓[/] database ready at schema [bold]{revision}[/]"
            + (f"; organisation [bold]{created}[/] created" if created else "")
        ),
    )


@app.command("status")
def status_command(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Readiness per clause and Annex A theme: what exists and what is missing."""
    from annexa.cli.status import status

    status(ctx, as_json)


@app.command("demo")
def demo_command(
    ctx: typer.Context,
    reset: Annotated[
        bool, typer.Option("--reset", help="Replace the demo organisation if it exists.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Load the demo: a 40-person law firm adopting AI (creates the schema if needed)."""
    from annexa.cli.demo import demo

    demo(ctx, reset, as_json)


@app.command("serve")
def serve_command(
    ctx: typer.Context,
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port.")] = 8000,
) -> None:
    """Serve the web UI and the REST API (/api/v1) over the same services as the CLI."""
    from annexa.cli.serve import serve

    serve(ctx, host, port)


def run(args: list[str] | None = None) -> None:
    """The `annexa` console script."""
    try:
        app(args)
    finally:
        # Interpreter shutdown otherwise walks every object SQLAlchemy, the models and the
        # command built, a quarter of a second per invocation; frozen objects are skipped.
        gc.freeze()
