"""`annexa asset` (inventory and classification scheme) and `annexa ai` (AI-system register)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from annexa.assets import (
    AI_ROLES,
    ASSET_KINDS,
    LIFECYCLE_STAGES,
    RISK_CLASSES,
    add_ai_system,
    add_asset,
    ai_system_to_dict,
    asset_to_dict,
    asset_usage,
    get_ai_system,
    get_asset,
    get_scheme,
    link_assets,
    list_ai_systems,
    list_assets,
    remove_asset,
    scheme_from_yaml,
    scheme_to_dict,
    set_scheme,
    unlink_assets,
    update_ai_system,
    update_asset,
)
from annexa.cli.common import (
    AnnexaGroup,
    JsonFlag,
    console,
    emit,
    escape,
    new_app,
    new_table,
    state,
)
from annexa.errors import InvalidInput

asset_app = new_app("Information assets (A.5.9) and their classification (A.5.12).")
ai_app = new_app("The AI-system register (ISO/IEC 42001 A.4-A.6, EU AI Act).")
classification_app = typer.Typer(
    cls=AnnexaGroup,
    help="Show the classification scheme, or replace it with `set --file`.",
    invoke_without_command=True,
    no_args_is_help=False,
    rich_markup_mode="rich",
)
asset_app.add_typer(classification_app, name="classification")

TagOption = Annotated[
    list[str] | None,
    typer.Option("--tag", help="A tag of the classification scheme; repeat for several."),
]


def _show_fields(title: str, data: dict[str, Any]) -> None:
    table = new_table("field", "value", show_header=False, title=escape(title))
    for key, value in data.items():
        if isinstance(value, list):
            shown = ", ".join(str(v) for v in value)
        elif isinstance(value, bool):
            shown = "yes" if value else "no"
        else:
            shown = "" if value is None else str(value)
        table.add_row(key, escape(shown))
    console.print(table)


# Rich measures every cell to lay a table out: fine for a page, tens of seconds for an
# inventory of 10,000 assets. Past this many rows, print plain aligned columns instead.
RICH_TABLE_LIMIT = 500


def _plain_table(headers: list[str], rows: list[list[str]]) -> None:
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in [headers, ["-" * w for w in widths], *rows]
    ]
    sys.stdout.write("\n".join(lines) + "\n")


# --- classification scheme -----------------------------------------------------------


def _render_scheme(data: dict[str, Any]) -> None:
    levels = new_table("level", "description", "handling", title="Levels (least sensitive first)")
    for level in data["levels"]:
        levels.add_row(*(escape(level[k]) for k in ("name", "description", "handling")))
    console.print(levels)
    tags = new_table("tag", "description", title="Tags")
    for tag in data["tags"]:
        tags.add_row(escape(tag["name"]), escape(tag["description"]))
    console.print(tags)


@classification_app.callback()
def classification_show(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Show the classification scheme (levels and tags)."""
    if ctx.invoked_subcommand is not None:
        return
    with state(ctx).reading() as session:
        data = scheme_to_dict(get_scheme(state(ctx).organisation(session)))
    emit(data, as_json, lambda: _render_scheme(data))


@classification_app.command("set")
def classification_set(
    ctx: typer.Context,
    file: Annotated[
        Path,
        typer.Option("--file", help="YAML with `levels` (least sensitive first) and `tags`."),
    ],
    as_json: JsonFlag = False,
) -> None:
    """Replace the classification scheme; refused while assets use a level or tag it drops."""
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(
            f"cannot read {str(file)!r}: {exc.__class__.__name__}",
            field="--file",
            fix="pass the path of a readable YAML file",
        ) from None
    scheme = scheme_from_yaml(text)
    with state(ctx).transaction() as session:
        data = scheme_to_dict(set_scheme(session, state(ctx).organisation(session), scheme))
    emit(
        data,
        as_json,
        lambda: console.print(
            f"[green]✓[/] classification scheme set: {len(data['levels'])} levels,"
            f" {len(data['tags'])} tags"
        ),
    )


# --- assets --------------------------------------------------------------------------


@asset_app.command("add")
def asset_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Asset name (unique).")],
    classification: Annotated[
        str, typer.Option("--classification", help="A level of the classification scheme.")
    ],
    kind: Annotated[str, typer.Option(help=f"One of: {', '.join(ASSET_KINDS)}.")] = "information",
    owner: Annotated[str | None, typer.Option(help="Accountable person or role.")] = None,
    tag: TagOption = None,
    location: Annotated[str | None, typer.Option(help="Where it lives.")] = None,
    supplier: Annotated[str | None, typer.Option(help="Supplier that holds it (by name).")] = None,
    description: Annotated[str | None, typer.Option(help="What it is.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Add an asset to the inventory."""
    with state(ctx).transaction() as session:
        asset = add_asset(
            session,
            state(ctx).organisation(session),
            name,
            classification=classification,
            kind=kind,
            owner=owner,
            tags=tag,
            location=location,
            supplier=supplier,
            description=description,
        )
        data = asset_to_dict(asset)
    emit(
        data,
        as_json,
        lambda: console.print(
            f"[green]✓[/] asset [bold]{escape(data['name'])}[/] ({escape(data['classification'])})"
        ),
    )


@asset_app.command("list")
def asset_list(
    ctx: typer.Context,
    classification: Annotated[str | None, typer.Option(help="Only this level.")] = None,
    tag: Annotated[str | None, typer.Option(help="Only assets with this tag.")] = None,
    owner: Annotated[str | None, typer.Option(help="Only this owner.")] = None,
    kind: Annotated[str | None, typer.Option(help="Only this kind.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """List assets."""
    with state(ctx).reading() as session:
        rows = list_assets(
            session,
            state(ctx).organisation(session),
            classification=classification,
            tag=tag,
            owner=owner,
            kind=kind,
        )

    def render() -> None:
        headers = ["name", "kind", "classification", "tags", "owner", "supplier"]
        cells = [
            [
                row["name"],
                row["kind"],
                row["classification"],
                ", ".join(row["tags"]),
                row["owner"] or "",
                row["supplier"] or "",
            ]
            for row in rows
        ]
        if len(cells) > RICH_TABLE_LIMIT:
            _plain_table(headers, cells)
            return
        table = new_table(*headers)
        for line in cells:
            table.add_row(*(escape(cell) for cell in line))
        console.print(table)

    emit({"assets": rows}, as_json, render)


@asset_app.command("show")
def asset_show(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Asset name.")],
    as_json: JsonFlag = False,
) -> None:
    """Show one asset and what uses it."""
    with state(ctx).reading() as session:
        org = state(ctx).organisation(session)
        asset = get_asset(session, org, name)
        data = {**asset_to_dict(asset), "used_by": asset_usage(session, org, asset)}

    def render() -> None:
        used = data["used_by"]
        _show_fields(
            data["name"],
            {
                **{k: v for k, v in data.items() if k != "used_by"},
                "risks": used["risks"],
                "ai_systems": used["ai_systems"],
            },
        )

    emit(data, as_json, render)


@asset_app.command("update")
def asset_update(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Asset name.")],
    new_name: Annotated[str | None, typer.Option("--name", help="Rename it.")] = None,
    classification: Annotated[
        str | None, typer.Option("--classification", help="A level of the scheme.")
    ] = None,
    kind: Annotated[str | None, typer.Option(help=f"One of: {', '.join(ASSET_KINDS)}.")] = None,
    owner: Annotated[str | None, typer.Option(help="Owner ('' clears).")] = None,
    tag: Annotated[
        list[str] | None,
        typer.Option("--tag", help="Replaces all tags; repeat for several, --tag '' clears."),
    ] = None,
    location: Annotated[str | None, typer.Option(help="Location ('' clears).")] = None,
    supplier: Annotated[str | None, typer.Option(help="Supplier name ('' clears).")] = None,
    description: Annotated[str | None, typer.Option(help="Description ('' clears).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Change an asset; options not given stay as they are."""
    with state(ctx).transaction() as session:
        asset = update_asset(
            session,
            state(ctx).organisation(session),
            name,
            new_name=new_name,
            classification=classification,
            kind=kind,
            owner=owner,
            tags=tag,
            location=location,
            supplier=supplier,
            description=description,
        )
        data = asset_to_dict(asset)
    emit(
        data,
        as_json,
        lambda: console.print(f"[green]✓[/] asset [bold]{escape(data['name'])}[/] updated"),
    )


@asset_app.command("remove")
def asset_remove(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="Asset name.")]
) -> None:
    """Remove an asset that no risk or AI system uses."""
    with state(ctx).transaction() as session:
        remove_asset(session, state(ctx).organisation(session), name)
    console.print(f"[green]✓[/] removed asset [bold]{escape(name)}[/]")


# --- AI systems ----------------------------------------------------------------------


def _excerpt(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _render_ai(data: dict[str, Any]) -> None:
    _show_fields(data["name"], {k: v for k, v in data.items() if k != "findings"})
    for finding in data["findings"]:
        colour = "red" if finding["severity"] in {"critical", "high"} else "yellow"
        console.print(
            f"[bold {colour}]finding ({finding['severity']}):[/] {escape(finding['message'])}"
        )


@ai_app.command("add")
def ai_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="AI system name (unique).")],
    purpose: Annotated[str, typer.Option("--purpose", help="What it is used for.")],
    provider: Annotated[str | None, typer.Option(help="Who provides the system.")] = None,
    model: Annotated[str | None, typer.Option(help="Model name and version.")] = None,
    role: Annotated[
        str, typer.Option(help=f"Your role under the AI Act: {', '.join(AI_ROLES)}.")
    ] = "deployer",
    data_category: Annotated[
        list[str] | None,
        typer.Option("--data-category", help="Category of data sent to it; repeat for several."),
    ] = None,
    oversight: Annotated[
        str | None, typer.Option("--oversight", help="How people oversee its output.")
    ] = None,
    risk_class: Annotated[
        str, typer.Option("--risk-class", help=f"EU AI Act class: {', '.join(RISK_CLASSES)}.")
    ] = "minimal",
    stage: Annotated[
        str, typer.Option(help=f"Lifecycle stage: {', '.join(LIFECYCLE_STAGES)}.")
    ] = "operation",
    owner: Annotated[str | None, typer.Option(help="Accountable person or role.")] = None,
    asset: Annotated[
        list[str] | None,
        typer.Option("--asset", help="Asset it uses or produces (by name); repeat for several."),
    ] = None,
    supplier: Annotated[str | None, typer.Option(help="Supplier (by name).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Add an AI system to the register."""
    with state(ctx).transaction() as session:
        system = add_ai_system(
            session,
            state(ctx).organisation(session),
            name,
            purpose=purpose,
            provider=provider,
            model=model,
            role=role,
            data_categories=data_category,
            human_oversight=oversight,
            risk_class=risk_class,
            stage=stage,
            owner=owner,
            assets=asset,
            supplier=supplier,
        )
        data = ai_system_to_dict(system)

    def render() -> None:
        console.print(
            f"[green]✓[/] AI system [bold]{escape(data['name'])}[/] ({escape(data['risk_class'])})"
        )
        for finding in data["findings"]:
            console.print(
                f"[bold yellow]finding ({finding['severity']}):[/] {escape(finding['message'])}"
            )

    emit(data, as_json, render)


@ai_app.command("list")
def ai_list(
    ctx: typer.Context,
    risk_class: Annotated[str | None, typer.Option("--risk-class", help="Only this class.")] = None,
    stage: Annotated[str | None, typer.Option(help="Only this lifecycle stage.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """List AI systems."""
    with state(ctx).reading() as session:
        rows = list_ai_systems(
            session, state(ctx).organisation(session), risk_class=risk_class, stage=stage
        )

    def render() -> None:
        # Purposes are sentences: a short excerpt keeps the register scannable; provider
        # and the full text are in `annexa ai show`.
        table = new_table("name", "purpose", "role", "risk class", "stage", "findings")
        for row in rows:
            table.add_row(
                escape(row["name"]),
                escape(_excerpt(row["purpose"], 40)),
                row["role"],
                row["risk_class"],
                row["lifecycle_stage"],
                f"[red]{len(row['findings'])}[/]" if row["findings"] else "",
            )
        console.print(table)

    emit({"ai_systems": rows}, as_json, render)


@ai_app.command("show")
def ai_show(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="AI system name.")],
    as_json: JsonFlag = False,
) -> None:
    """Show one AI system with its findings."""
    with state(ctx).reading() as session:
        data = ai_system_to_dict(get_ai_system(session, state(ctx).organisation(session), name))
    emit(data, as_json, lambda: _render_ai(data))


@ai_app.command("update")
def ai_update(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="AI system name.")],
    new_name: Annotated[str | None, typer.Option("--name", help="Rename it.")] = None,
    purpose: Annotated[str | None, typer.Option("--purpose", help="What it is used for.")] = None,
    provider: Annotated[str | None, typer.Option(help="Provider ('' clears).")] = None,
    model: Annotated[str | None, typer.Option(help="Model ('' clears).")] = None,
    role: Annotated[str | None, typer.Option(help=f"One of: {', '.join(AI_ROLES)}.")] = None,
    data_category: Annotated[
        list[str] | None,
        typer.Option(
            "--data-category", help="Replaces all data categories; --data-category '' clears."
        ),
    ] = None,
    oversight: Annotated[
        str | None, typer.Option("--oversight", help="Human oversight ('' clears).")
    ] = None,
    risk_class: Annotated[
        str | None, typer.Option("--risk-class", help=f"One of: {', '.join(RISK_CLASSES)}.")
    ] = None,
    stage: Annotated[
        str | None, typer.Option(help=f"One of: {', '.join(LIFECYCLE_STAGES)}.")
    ] = None,
    owner: Annotated[str | None, typer.Option(help="Owner ('' clears).")] = None,
    asset: Annotated[
        list[str] | None, typer.Option("--asset", help="Link this asset; repeat for several.")
    ] = None,
    unlink_asset: Annotated[
        list[str] | None,
        typer.Option("--unlink-asset", help="Unlink this asset; repeat for several."),
    ] = None,
    supplier: Annotated[str | None, typer.Option(help="Supplier name ('' clears).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Change an AI system; options not given stay as they are."""
    with state(ctx).transaction() as session:
        org = state(ctx).organisation(session)
        system = update_ai_system(
            session,
            org,
            name,
            new_name=new_name,
            purpose=purpose,
            provider=provider,
            model=model,
            role=role,
            data_categories=data_category,
            human_oversight=oversight,
            risk_class=risk_class,
            stage=stage,
            owner=owner,
            supplier=supplier,
        )
        if asset:
            system = link_assets(session, org, system.name, asset)
        if unlink_asset:
            system = unlink_assets(session, org, system.name, unlink_asset)
        data = ai_system_to_dict(system)
    emit(data, as_json, lambda: _render_ai(data))
