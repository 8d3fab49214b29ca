from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from annexa.cli.common import JsonFlag, console, emit, new_app, state
from annexa.orgs import create_organisation, list_organisations

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
        table = Table("slug", "name", "sector", "headcount")
        for row in rows:
            table.add_row(
                row["slug"], row["name"], row["sector"] or "", str(row["headcount"] or "")
            )
        console.print(table)

    emit({"organisations": rows}, as_json, render)
