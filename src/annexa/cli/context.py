"""`annexa scope`, `annexa issue`, `annexa party`: the context of the organisation (4.1-4.3)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from annexa.cli.common import JsonFlag, console, emit, escape, new_app, new_table, state
from annexa.context import (
    ISSUE_KINDS,
    PARTY_CATEGORIES,
    PESTLE_CATEGORIES,
    SCOPE_KINDS,
    add_issue,
    add_party,
    add_scope_item,
    get_scope,
    issue_to_dict,
    list_issues,
    list_parties,
    list_scope_items,
    party_to_dict,
    remove_issue,
    remove_party,
    remove_scope_item,
    scope_item_to_dict,
    set_scope_statement,
)

if TYPE_CHECKING:
    from rich.table import Table

scope_app = new_app("The ISMS scope (clause 4.3): the statement and what is in and out.")
issue_app = new_app("Internal and external issues that shape the ISMS (clause 4.1).")
party_app = new_app("Interested parties and their requirements (clause 4.2).")


# --- scope ---------------------------------------------------------------------------


@scope_app.command("set")
def scope_set(
    ctx: typer.Context,
    statement: Annotated[str, typer.Option("--statement", help="The scope statement.")],
    as_json: JsonFlag = False,
) -> None:
    """Set the scope statement."""
    with state(ctx).transaction() as session:
        text = set_scope_statement(session, state(ctx).organisation(session), statement)
    emit({"statement": text}, as_json, lambda: console.print("[green]✓[/] scope statement set"))


def _scope_table(title: str, items: list[dict[str, Any]], *, excluded: bool) -> Table:
    table = new_table("kind", "name", "reason" if excluded else "description", title=title)
    for item in items:
        detail = item["exclusion_reason"] if excluded else item["description"]
        table.add_row(item["kind"], escape(item["name"]), escape(detail or ""))
    return table


@scope_app.command("show")
def scope_show(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Show the scope statement and the in- and out-of-scope items, grouped by kind."""
    with state(ctx).reading() as session:
        data = get_scope(session, state(ctx).organisation(session))

    def render() -> None:
        console.print("[bold]Scope statement[/]")
        console.print(
            escape(data["statement"] or "")
            or "[yellow](not set — `annexa scope set --statement`)[/]"
        )
        if data["in_scope"]:
            console.print(_scope_table("In scope", data["in_scope"], excluded=False))
        if data["out_of_scope"]:
            console.print(_scope_table("Out of scope", data["out_of_scope"], excluded=True))

    emit(data, as_json, render)


@scope_app.command("add")
def scope_add(
    ctx: typer.Context,
    kind: Annotated[str, typer.Argument(help=f"One of: {', '.join(SCOPE_KINDS)}.")],
    name: Annotated[str, typer.Argument(help="Name of the item.")],
    description: Annotated[str | None, typer.Option(help="What it is.")] = None,
    out: Annotated[bool, typer.Option("--out", help="Exclude the item from scope.")] = False,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why it is excluded (needed with --out).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Add an item to the scope register, in scope unless --out."""
    with state(ctx).transaction() as session:
        item = add_scope_item(
            session,
            state(ctx).organisation(session),
            kind,
            name,
            description=description,
            in_scope=not out,
            exclusion_reason=reason,
        )
        data = scope_item_to_dict(item)
    where = "in scope" if data["in_scope"] else "out of scope"
    emit(
        data,
        as_json,
        lambda: console.print(
            f"[green]✓[/] {escape(data['kind'])} [bold]{escape(data['name'])}[/] {where}"
        ),
    )


@scope_app.command("list")
def scope_list(
    ctx: typer.Context,
    kind: Annotated[str | None, typer.Option(help="Only this kind.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """List scope items."""
    with state(ctx).reading() as session:
        rows = [
            scope_item_to_dict(i)
            for i in list_scope_items(session, state(ctx).organisation(session), kind=kind)
        ]

    def render() -> None:
        table = new_table("kind", "name", "in scope", "description / reason")
        for row in rows:
            table.add_row(
                row["kind"],
                escape(row["name"]),
                "yes" if row["in_scope"] else "[yellow]no[/]",
                escape((row["description"] if row["in_scope"] else row["exclusion_reason"]) or ""),
            )
        console.print(table)

    emit({"scope_items": rows}, as_json, render)


@scope_app.command("remove")
def scope_remove(
    ctx: typer.Context,
    kind: Annotated[str, typer.Argument(help=f"One of: {', '.join(SCOPE_KINDS)}.")],
    name: Annotated[str, typer.Argument(help="Name of the item.")],
) -> None:
    """Remove an item from the scope register."""
    with state(ctx).transaction() as session:
        remove_scope_item(session, state(ctx).organisation(session), kind, name)
    console.print(f"[green]✓[/] removed {escape(kind)} [bold]{escape(name)}[/]")


# --- issues --------------------------------------------------------------------------


@issue_app.command("add")
def issue_add(
    ctx: typer.Context,
    title: Annotated[str, typer.Argument(help="Short title of the issue.")],
    kind: Annotated[str, typer.Option("--kind", help="internal or external.")],
    category: Annotated[
        str | None,
        typer.Option(
            help="Free text; for external issues PESTLE works well: "
            + ", ".join(PESTLE_CATEGORIES)
            + "."
        ),
    ] = None,
    description: Annotated[str | None, typer.Option(help="Why it matters to the ISMS.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Record an internal or external issue."""
    with state(ctx).transaction() as session:
        issue = add_issue(
            session,
            state(ctx).organisation(session),
            title,
            kind=kind,
            category=category,
            description=description,
        )
        data = issue_to_dict(issue)
    emit(
        data,
        as_json,
        lambda: console.print(
            f"[green]✓[/] {escape(data['kind'])} issue [bold]{escape(data['title'])}[/]"
        ),
    )


@issue_app.command("list")
def issue_list(
    ctx: typer.Context,
    kind: Annotated[str | None, typer.Option(help=f"Only {' or '.join(ISSUE_KINDS)}.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """List issues."""
    with state(ctx).reading() as session:
        rows = [
            issue_to_dict(i)
            for i in list_issues(session, state(ctx).organisation(session), kind=kind)
        ]

    def render() -> None:
        table = new_table("kind", "category", "title", "description")
        for row in rows:
            table.add_row(
                row["kind"],
                escape(row["category"] or ""),
                escape(row["title"]),
                escape(row["description"] or ""),
            )
        console.print(table)

    emit({"issues": rows}, as_json, render)


@issue_app.command("remove")
def issue_remove(
    ctx: typer.Context, title: Annotated[str, typer.Argument(help="Title of the issue.")]
) -> None:
    """Remove an issue."""
    with state(ctx).transaction() as session:
        remove_issue(session, state(ctx).organisation(session), title)
    console.print(f"[green]✓[/] removed issue [bold]{escape(title)}[/]")


# --- interested parties --------------------------------------------------------------


@party_app.command("add")
def party_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Name of the party, e.g. 'Clients' or 'ICO'.")],
    category: Annotated[
        str | None, typer.Option(help=f"One of: {', '.join(PARTY_CATEGORIES)}.")
    ] = None,
    requirements: Annotated[
        str | None, typer.Option(help="What they require of the organisation.")
    ] = None,
    not_addressed: Annotated[
        bool,
        typer.Option("--not-addressed", help="Their requirements are not addressed by the ISMS."),
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Record an interested party and its requirements."""
    with state(ctx).transaction() as session:
        party = add_party(
            session,
            state(ctx).organisation(session),
            name,
            category=category,
            requirements=requirements,
            addressed_in_isms=not not_addressed,
        )
        data = party_to_dict(party)
    emit(data, as_json, lambda: console.print(f"[green]✓[/] party [bold]{escape(data['name'])}[/]"))


@party_app.command("list")
def party_list(
    ctx: typer.Context,
    category: Annotated[str | None, typer.Option(help="Only this category.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """List interested parties."""
    with state(ctx).reading() as session:
        rows = [
            party_to_dict(p)
            for p in list_parties(session, state(ctx).organisation(session), category=category)
        ]

    def render() -> None:
        table = new_table("name", "category", "requirements", "addressed")
        for row in rows:
            table.add_row(
                escape(row["name"]),
                row["category"] or "",
                escape(row["requirements"] or ""),
                "yes" if row["addressed_in_isms"] else "[yellow]no[/]",
            )
        console.print(table)

    emit({"parties": rows}, as_json, render)


@party_app.command("remove")
def party_remove(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="Name of the party.")]
) -> None:
    """Remove an interested party."""
    with state(ctx).transaction() as session:
        remove_party(session, state(ctx).organisation(session), name)
    console.print(f"[green]✓[/] removed party [bold]{escape(name)}[/]")
