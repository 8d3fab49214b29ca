"""``annexa soa``: the Statement of Applicability — decide, publish, compare, export."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import typer

import annexa.soa as soa_management
from annexa.cli.common import JsonFlag, actor_of, console, emit, new_app, new_table, state
from annexa.errors import InvalidInput
from annexa.soa.entries import DEFAULT_FRAMEWORK, soa_framework
from annexa.soa.export import check_format, check_target, export
from annexa.soa.view import soa_view

app = new_app(
    "Statement of Applicability (ISO/IEC 27001 6.1.3 d, ISO/IEC 42001 6.1.3): "
    "which Annex A controls apply, why, and how far they are implemented."
)

FrameworkOption = Annotated[
    str,
    typer.Option("--framework", help="iso27001-2022 or iso42001-2023.", show_default=True),
]

APPLICABLE_MARKS = {True: "[green]yes[/]", False: "[dim]no[/]", None: "[yellow]undecided[/]"}
RISKS_SHOWN = 3


def _risks_cell(risks: list[str]) -> str:
    # Thousands of linked risks would drown the table; the JSON and exports list them all.
    shown = ", ".join(risks[:RISKS_SHOWN])
    more = len(risks) - RISKS_SHOWN
    return shown + (f" +{more}" if more > 0 else "")


def _summary_line(summary: dict[str, int]) -> str:
    return (
        f"{summary['controls']} controls: {summary['applicable']} applicable "
        f"({summary['implemented']} implemented), {summary['excluded']} excluded, "
        f"{summary['undecided']} undecided"
    )


@app.command("show")
def show(
    ctx: typer.Context,
    framework: FrameworkOption = DEFAULT_FRAMEWORK,
    group: Annotated[
        str | None, typer.Option("--group", help="Only one theme, e.g. technological.")
    ] = None,
    status: Annotated[
        str | None,
        typer.Option(
            "--status", help="not_started, planned, partial, implemented or not_applicable."
        ),
    ] = None,
    version: Annotated[
        int | None, typer.Option("--version", help="A published version instead of today's.")
    ] = None,
    summary_only: Annotated[
        bool, typer.Option("--summary", help="Only the overview per theme, not every control.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Show every Annex A control with its decision, status and linked risks."""
    current = state(ctx)
    with current.snapshot() as connection:  # Core only: showing the SoA needs no ORM
        org = current.organisation_record(connection)
        document = soa_view(connection, org, framework, version=version, group=group, status=status)

    def render() -> None:
        if summary_only:
            _render_overview(document)
            return
        label = f"version {document['version']}" if document["version"] else "current"
        table = new_table(
            "ref",
            "control",
            "applicable",
            "status",
            "owner",
            "risks",
            "reasons / justification",
            title=f"{document['framework_name']} — Statement of Applicability ({label})",
        )
        groups = document["groups"]
        theme = None
        for entry in document["entries"]:
            if entry["group"] != theme:
                # A theme heading row instead of a theme column keeps the table narrow.
                theme = entry["group"]
                table.add_section()
                table.add_row("", f"[bold]{groups.get(theme, theme)}[/]")
            why = ", ".join(entry["reasons"])
            if entry["justification"]:
                why = f"{why}: {entry['justification']}" if why else entry["justification"]
            table.add_row(
                entry["ref"],
                entry["title"],
                APPLICABLE_MARKS[entry["applicable"]],
                entry["status"].replace("_", " "),
                entry["owner"] or "",
                _risks_cell(entry["risks"]),
                why,
            )
        console.print(table)
        console.print(_summary_line(document["summary"]), highlight=False)

    emit(document, as_json, render)


def _render_overview(document: dict[str, Any]) -> None:
    label = f"version {document['version']}" if document["version"] else "current"
    table = new_table(
        "theme",
        "controls",
        "applicable",
        "excluded",
        "undecided",
        "implemented",
        title=f"{document['framework_name']} — Statement of Applicability ({label})",
    )
    tallies: dict[str, Counter[str]] = {}
    for entry in document["entries"]:
        tally = tallies.setdefault(entry["group"], Counter())
        tally["controls"] += 1
        decision = {True: "applicable", False: "excluded", None: "undecided"}[entry["applicable"]]
        tally[decision] += 1
        tally["implemented"] += entry["applicable"] is True and entry["status"] == "implemented"
    for group, tally in tallies.items():
        table.add_row(
            document["groups"].get(group, group),
            *(
                str(tally[key])
                for key in ("controls", "applicable", "excluded", "undecided", "implemented")
            ),
        )
    console.print(table)
    console.print(_summary_line(document["summary"]), highlight=False)


@app.command("set")
def set_(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="Annex A control, e.g. A.5.1.", metavar="REF")],
    applicable: Annotated[bool, typer.Option("--applicable", help="Include the control.")] = False,
    not_applicable: Annotated[
        bool,
        typer.Option("--not-applicable", help="Exclude the control (needs --justification)."),
    ] = False,
    justification: Annotated[
        str | None,
        typer.Option("--justification", help="Why the control is included or excluded."),
    ] = None,
    reason: Annotated[
        list[str] | None,
        typer.Option(
            "--reason", help="Reason for inclusion: legal, contractual, business, risk_treatment."
        ),
    ] = None,
    status: Annotated[
        str | None,
        typer.Option("--status", help="not_started, planned, partial or implemented."),
    ] = None,
    owner: Annotated[str | None, typer.Option("--owner", help="Who implements it.")] = None,
    notes: Annotated[str | None, typer.Option("--notes", help="Free-text notes.")] = None,
    framework: FrameworkOption = DEFAULT_FRAMEWORK,
    as_json: JsonFlag = False,
) -> None:
    """Include or exclude a control, or record its status, owner and notes."""
    if applicable and not_applicable:
        raise InvalidInput(
            "--applicable and --not-applicable contradict each other",
            field="--applicable",
            fix="pass one of them",
        )
    decision = True if applicable else False if not_applicable else None
    current = state(ctx)
    with current.transaction() as session:
        org = current.organisation(session)
        entry = soa_management.set_decision(
            session,
            org.id,
            framework,
            ref,
            applicable=decision,
            justification=justification,
            reasons=reason or (),
            status=status,
            owner=owner,
            notes=notes,
            actor=actor_of(session),
        )

    def render() -> None:
        console.print(
            f"[green]✓[/] {entry['ref']} {entry['title']}: "
            f"applicable {APPLICABLE_MARKS[entry['applicable']]}, status {entry['status']}"
        )

    emit(entry, as_json, render)


@app.command("publish")
def publish_(
    ctx: typer.Context,
    framework: FrameworkOption = DEFAULT_FRAMEWORK,
    note: Annotated[str | None, typer.Option("--note", help="What this version is for.")] = None,
    allow_undecided: Annotated[
        bool,
        typer.Option("--allow-undecided", help="Publish although some controls are undecided."),
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Freeze the current SoA as the next numbered, immutable version."""
    current = state(ctx)
    with current.transaction() as session:
        org = current.organisation(session)
        version = soa_management.publish(
            session,
            org.id,
            framework,
            actor=actor_of(session),
            note=note,
            allow_undecided=allow_undecided,
        )
        data = soa_management.version_summary(version)

    emit(
        data,
        as_json,
        lambda: console.print(
            f"[green]✓[/] published version [bold]{data['version']}[/] of the "
            f"{data['framework']} SoA — {_summary_line(data['summary'])}",
            highlight=False,
        ),
    )


@app.command("versions")
def versions(
    ctx: typer.Context,
    framework: FrameworkOption = DEFAULT_FRAMEWORK,
    as_json: JsonFlag = False,
) -> None:
    """List the published versions."""
    current = state(ctx)
    with current.reading() as session:
        org = current.organisation(session)
        rows = [
            soa_management.version_summary(v)
            for v in soa_management.list_versions(session, org.id, framework)
        ]

    def render() -> None:
        if not rows:
            console.print("no published version yet — run `annexa soa publish`")
            return
        table = new_table(
            "version", "published at", "by", "applicable", "excluded", "undecided", "note"
        )
        for row in rows:
            summary = row["summary"]
            table.add_row(
                str(row["version"]),
                row["published_at"],
                row["published_by"] or "",
                str(summary["applicable"]),
                str(summary["excluded"]),
                str(summary["undecided"]),
                row["note"] or "",
            )
        console.print(table)

    emit({"framework": soa_framework(framework).id, "versions": rows}, as_json, render)


def _show_value(name: str, value: Any) -> str:
    if name == "risks":
        return _risks_cell(value or []) or "—"
    if isinstance(value, list):
        return ", ".join(value) or "—"
    return "—" if value is None else str(value)


@app.command("diff")
def diff_(
    ctx: typer.Context,
    v1: Annotated[str, typer.Argument(help="A version number or `current`.", metavar="V1")],
    v2: Annotated[str, typer.Argument(help="A version number or `current`.", metavar="V2")],
    framework: FrameworkOption = DEFAULT_FRAMEWORK,
    as_json: JsonFlag = False,
) -> None:
    """What changed between two versions (or a version and the current SoA)."""
    current = state(ctx)
    with current.reading() as session:
        org = current.organisation(session)
        data = soa_management.diff(session, org.id, framework, v1, v2)

    def render() -> None:
        if not (data["changes"] or data["added"] or data["removed"]):
            console.print(f"no differences between {data['from']} and {data['to']}")
            return
        table = new_table("ref", "control", "field", "from", "to")
        for change in data["changes"]:
            for name, values in change["fields"].items():
                table.add_row(
                    change["ref"],
                    change["title"],
                    name,
                    _show_value(name, values["from"]),
                    _show_value(name, values["to"]),
                )
        for item in data["added"]:
            table.add_row(item["ref"], item["title"], "(control)", "—", "added")
        for item in data["removed"]:
            table.add_row(item["ref"], item["title"], "(control)", "removed", "—")
        console.print(table)

    emit(data, as_json, render)


@app.command("export")
def export_(
    ctx: typer.Context,
    fmt: Annotated[str, typer.Option("--format", help="xlsx, csv or json.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="File to write.")],
    framework: FrameworkOption = DEFAULT_FRAMEWORK,
    version: Annotated[
        int | None, typer.Option("--version", help="A published version instead of today's.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Write the SoA for an auditor: XLSX (formatted), CSV or JSON."""
    # Checked before reading the database so a typo fails fast and writes nothing.
    chosen = check_format(fmt)
    check_target(output)
    current = state(ctx)
    with current.reading() as session:
        org = current.organisation(session)
        document = soa_view(session, org, framework, version=version)
    written = export(document, chosen, output)
    data = {
        "file": str(written),
        "format": chosen,
        "framework": document["framework"],
        "version": document["version"],
        "controls": document["summary"]["controls"],
    }
    emit(
        data,
        as_json,
        lambda: console.print(
            f"[green]✓[/] wrote {data['controls']} controls to [bold]{data['file']}[/]",
            highlight=False,
        ),
    )
