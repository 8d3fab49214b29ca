"""`annexa status`: readiness per clause and Annex A theme, with what is missing."""

from __future__ import annotations

from typing import Any

import typer

from annexa.cli.common import JsonFlag, console, emit, new_table, state

STATUS_STYLE = {
    "met": "[green]● met[/]",
    "partial": "[yellow]◐ partial[/]",
    "missing": "[red]○ missing[/]",
    "not_tracked": "[dim]· not tracked yet[/]",
}
SEVERITY_STYLE = {"error": "[red]error[/]", "warning": "[yellow]warning[/]", "info": "info"}


def status(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Readiness per clause and Annex A theme: what exists and what is missing."""
    from annexa.readiness import readiness

    current = state(ctx)
    with current.snapshot() as connection:  # Core only: the report needs no ORM
        report = readiness(connection, current.organisation_record(connection))
    emit(report, as_json, lambda: _render(report))


def _render(report: dict[str, Any]) -> None:
    org = report["organisation"]
    summary = report["summary"]
    console.print(
        f"[bold]{org['name']}[/] — readiness [bold]{report['score']}%[/] "
        f"({summary['checks_passed']}/{summary['checks']} checks) as of {report['as_of']}"
    )
    clauses = new_table("clause", "title", "status", "detail", title="ISO/IEC 27001:2022 clauses")
    for clause in report["clauses"]:
        detail = "; ".join(
            ("✓ " if check["ok"] else "✗ ") + check["check"] for check in clause["checks"]
        )
        clauses.add_row(clause["ref"], clause["title"], STATUS_STYLE[clause["status"]], detail)
    console.print(clauses)

    themes = new_table(
        "framework",
        "theme",
        "controls",
        "applicable",
        "excluded",
        "undecided",
        "implemented",
        "ready",
        title="Annex A themes",
    )
    for theme in report["themes"]:
        themes.add_row(
            theme["framework"],
            theme["group"],
            str(theme["controls"]),
            str(theme["applicable"]),
            str(theme["excluded"]),
            str(theme["undecided"]),
            str(theme["implemented"]),
            f"{theme['readiness']}%",
        )
    console.print(themes)

    if not report["findings"]:
        console.print("[green]No findings.[/]")
        return
    findings = new_table("severity", "code", "clause", "count", "what", "fix", title="Findings")
    for finding in report["findings"]:
        what = finding["message"]
        if finding["examples"]:
            what += " (e.g. " + ", ".join(finding["examples"][:5]) + ")"
        findings.add_row(
            SEVERITY_STYLE[finding["severity"]],
            finding["code"],
            finding["clause"],
            str(finding["count"]),
            what,
            finding["fix"],
        )
    console.print(findings)
