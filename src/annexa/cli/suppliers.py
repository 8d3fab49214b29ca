"""`annexa supplier`: the supplier register."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from annexa.cli.common import JsonFlag, console, emit, escape, new_app, new_table, state
from annexa.suppliers import (
    CRITICALITY,
    add_supplier,
    get_supplier,
    list_suppliers,
    supplier_to_dict,
    update_supplier,
)

app = new_app("Suppliers: who holds, processes or provides your information and AI.")


def _yes(value: bool) -> str:
    return "yes" if value else ""


def _show(data: dict[str, Any]) -> None:
    table = new_table("field", "value", show_header=False, title=escape(data["name"]))
    for key, value in data.items():
        shown = ("yes" if value else "no") if isinstance(value, bool) else (value or "")
        table.add_row(key, escape(str(shown)))
    console.print(table)


@app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Supplier name.")],
    service: Annotated[str | None, typer.Option(help="What they provide.")] = None,
    criticality: Annotated[str, typer.Option(help=f"One of: {', '.join(CRITICALITY)}.")] = "medium",
    personal_data: Annotated[
        bool, typer.Option("--personal-data", help="They process personal data for you.")
    ] = False,
    ai_provider: Annotated[
        bool, typer.Option("--ai-provider", help="They provide AI models or AI features.")
    ] = False,
    website: Annotated[str | None, typer.Option(help="Website.")] = None,
    contact: Annotated[str | None, typer.Option(help="Contact person or address.")] = None,
    notes: Annotated[str | None, typer.Option(help="Anything else worth knowing.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Add a supplier."""
    with state(ctx).transaction() as session:
        supplier = add_supplier(
            session,
            state(ctx).organisation(session),
            name,
            service=service,
            criticality=criticality,
            processes_personal_data=personal_data,
            ai_provider=ai_provider,
            website=website,
            contact=contact,
            notes=notes,
        )
        data = supplier_to_dict(supplier)
    emit(
        data,
        as_json,
        lambda: console.print(f"[green]✓[/] supplier [bold]{escape(data['name'])}[/]"),
    )


@app.command("list")
def list_(
    ctx: typer.Context,
    ai_provider: Annotated[bool, typer.Option("--ai-provider", help="Only AI providers.")] = False,
    criticality: Annotated[str | None, typer.Option(help="Only this criticality.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """List suppliers."""
    with state(ctx).reading() as session:
        rows = [
            supplier_to_dict(s)
            for s in list_suppliers(
                session,
                state(ctx).organisation(session),
                ai_provider=True if ai_provider else None,
                criticality=criticality,
            )
        ]

    def render() -> None:
        table = new_table("name", "service", "criticality", "personal data", "AI provider")
        for row in rows:
            table.add_row(
                escape(row["name"]),
                escape(row["service"] or ""),
                row["criticality"],
                _yes(row["processes_personal_data"]),
                _yes(row["ai_provider"]),
            )
        console.print(table)

    emit({"suppliers": rows}, as_json, render)


@app.command("show")
def show(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Supplier name.")],
    as_json: JsonFlag = False,
) -> None:
    """Show one supplier."""
    with state(ctx).reading() as session:
        data = supplier_to_dict(get_supplier(session, state(ctx).organisation(session), name))
    emit(data, as_json, lambda: _show(data))


@app.command("update")
def update(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Supplier name.")],
    new_name: Annotated[str | None, typer.Option("--name", help="Rename it.")] = None,
    service: Annotated[str | None, typer.Option(help="What they provide ('' clears).")] = None,
    criticality: Annotated[
        str | None, typer.Option(help=f"One of: {', '.join(CRITICALITY)}.")
    ] = None,
    personal_data: Annotated[
        bool | None,
        typer.Option("--personal-data/--no-personal-data", help="They process personal data."),
    ] = None,
    ai_provider: Annotated[
        bool | None,
        typer.Option("--ai-provider/--no-ai-provider", help="They provide AI."),
    ] = None,
    website: Annotated[str | None, typer.Option(help="Website ('' clears).")] = None,
    contact: Annotated[str | None, typer.Option(help="Contact ('' clears).")] = None,
    notes: Annotated[str | None, typer.Option(help="Notes ('' clears).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Change a supplier; options not given stay as they are."""
    with state(ctx).transaction() as session:
        supplier = update_supplier(
            session,
            state(ctx).organisation(session),
            name,
            new_name=new_name,
            service=service,
            criticality=criticality,
            processes_personal_data=personal_data,
            ai_provider=ai_provider,
            website=website,
            contact=contact,
            notes=notes,
        )
        data = supplier_to_dict(supplier)
    emit(
        data,
        as_json,
        lambda: console.print(f"[green]✓[/] supplier [bold]{escape(data['name'])}[/]"),
    )
