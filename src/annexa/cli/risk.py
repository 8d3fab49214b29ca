"""``annexa risk``: the risk register, its matrix and the threat library (6.1.2, 6.1.3)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

import annexa.risk as risk_management
from annexa.cli.common import (
    AnnexaGroup,
    JsonFlag,
    actor_of,
    console,
    emit,
    new_app,
    new_table,
    state,
    write_pieces,
)
from annexa.errors import InvalidInput
from annexa.risk.register import DEFAULT_FRAMEWORK, current_level

if TYPE_CHECKING:
    from annexa.risk.matrix import RiskMatrix

app = new_app(
    "Risk assessment and treatment (ISO/IEC 27001 6.1.2, 6.1.3, 8.2, 8.3): "
    "identify, rate, treat and accept risks."
)
matrix_app = typer.Typer(
    cls=AnnexaGroup,
    help="Show or replace the organisation's risk matrix.",
    invoke_without_command=True,
    no_args_is_help=False,
    rich_markup_mode="rich",
)
app.add_typer(matrix_app, name="matrix")

Likelihood = Annotated[
    int | None, typer.Option("--likelihood", help="Likelihood on the matrix scale (1 = lowest).")
]
Impact = Annotated[
    int | None, typer.Option("--impact", help="Impact on the matrix scale (1 = lowest).")
]
RefArg = Annotated[str, typer.Argument(help="Risk ref, e.g. R-0001.")]


def _styled_level(matrix: RiskMatrix, level: str | None, score: int | None) -> str:
    if level is None:
        return "[dim]—[/]"
    colour = matrix.colour(level)
    return f"[{colour}]{level} ({score})[/]"


def _status_text(risk: dict[str, Any]) -> str:
    acceptance = risk["acceptance"]
    if acceptance and acceptance["expired"]:
        return "[bold red]expired[/]"  # the acceptance lapsed: decide again
    return risk["status"]


def _render_risk(risk: dict[str, Any], matrix: RiskMatrix) -> None:
    table = new_table(show_header=False, box=None, title=f"{risk['ref']} — {risk['title']}")
    table.add_column(style="bold")
    table.add_column()
    inherent, residual = risk["inherent"], risk["residual"]
    acceptance = risk["acceptance"]
    rows = [
        ("status", _status_text(risk)),
        ("owner", risk["owner"] or ""),
        ("description", risk["description"] or ""),
        ("threat", " ".join(filter(None, [risk["threat_id"], risk["threat"]]))),
        ("vulnerability", risk["vulnerability"] or ""),
        ("assets", ", ".join(risk["assets"])),
        (
            "inherent",
            _styled_level(matrix, inherent["level"], inherent["score"])
            + (
                f"  likelihood {inherent['likelihood']} x impact {inherent['impact']}"
                if inherent["score"]
                else ""
            ),
        ),
        (
            "residual",
            _styled_level(matrix, residual["level"], residual["score"])
            + (
                f"  likelihood {residual['likelihood']} x impact {residual['impact']}"
                if residual["score"]
                else ""
            ),
        ),
        ("treatment", risk["treatment"] or ""),
        ("plan", risk["treatment_plan"] or ""),
        ("controls", ", ".join(risk["controls"])),
        ("due", risk["due_date"] or ""),
        (
            "review",
            (risk["review_date"] or "")
            + (" [bold red](overdue)[/]" if risk["review_overdue"] else ""),
        ),
        (
            "acceptance",
            f"{acceptance['approver']} on {acceptance['accepted_on']}, "
            f"expires {acceptance['expires_on']}"
            + (" [bold red](expired)[/]" if acceptance["expired"] else "")
            if acceptance
            else "",
        ),
    ]
    for label, value in rows:
        if value:
            table.add_row(label, value)
    console.print(table)


def _show_one(ctx: typer.Context, ref: str, message: str, as_json: bool) -> None:
    """After a write, print the risk as it now stands (read in a fresh session)."""
    current = state(ctx)
    with current.reading() as session:
        org = current.organisation(session)
        data = risk_management.risk_to_dict(session, risk_management.get_risk(session, org, ref))
        matrix = risk_management.get_matrix(org)

    def render() -> None:
        console.print(f"[green]✓[/] {message}", highlight=False)
        _render_risk(data, matrix)

    emit(data, as_json, render)


@app.command("add")
def add(
    ctx: typer.Context,
    title: Annotated[str, typer.Argument(help="Short title of the risk.")],
    description: Annotated[str | None, typer.Option("--description")] = None,
    threat_id: Annotated[
        str | None, typer.Option("--threat-id", help="A threat library id, e.g. AI-03.")
    ] = None,
    threat: Annotated[
        str | None, typer.Option("--threat", help="Threat text (default: the library name).")
    ] = None,
    vulnerability: Annotated[str | None, typer.Option("--vulnerability")] = None,
    owner: Annotated[str | None, typer.Option("--owner", help="The risk owner.")] = None,
    asset: Annotated[
        list[str] | None, typer.Option("--asset", help="An affected asset (repeatable).")
    ] = None,
    likelihood: Likelihood = None,
    impact: Impact = None,
    review_date: Annotated[
        str | None, typer.Option("--review-date", help="Next review, YYYY-MM-DD.")
    ] = None,
    framework: Annotated[
        str, typer.Option("--framework", help="Framework whose controls treat it.")
    ] = DEFAULT_FRAMEWORK,
    as_json: JsonFlag = False,
) -> None:
    """Add a risk to the register, optionally rated at once."""
    current = state(ctx)
    with current.transaction() as session:
        org = current.organisation(session)
        risk = risk_management.add_risk(
            session,
            org,
            title=title,
            description=description,
            threat_id=threat_id,
            threat=threat,
            vulnerability=vulnerability,
            owner=owner,
            asset_names=asset or (),
            likelihood=likelihood,
            impact=impact,
            review_date=review_date,
            framework=framework,
        )
        ref = risk.ref
    _show_one(ctx, ref, f"risk [bold]{ref}[/] added", as_json)


@app.command("list")
def list_(
    ctx: typer.Context,
    level: Annotated[
        str | None,
        typer.Option("--level", help="Current level (residual, else inherent), e.g. High."),
    ] = None,
    owner: Annotated[str | None, typer.Option("--owner")] = None,
    status: Annotated[
        str | None,
        typer.Option(
            "--status", help="identified, assessed, treated, accepted or expired (acceptance)."
        ),
    ] = None,
    treatment: Annotated[
        str | None, typer.Option("--treatment", help="modify, retain, avoid, share or none.")
    ] = None,
    overdue: Annotated[
        bool, typer.Option("--overdue", help="Only risks whose review date has passed.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """List the risk register."""
    current = state(ctx)
    filters = {
        "level": level,
        "owner": owner,
        "status": status,
        "treatment": treatment,
        "overdue": True if overdue else None,
    }
    if as_json:
        # Built by the database: the same document as list_risks, several times faster,
        # read with Core alone (no ORM to import).
        from annexa.risk.register_json import register_json

        with current.snapshot() as connection:
            org_id = current.organisation_id(connection)
            write_pieces(register_json(connection, org_id, **filters))
        return
    with current.reading() as session:
        org = current.organisation(session)
        matrix = risk_management.get_matrix(org)
        risks = risk_management.list_risks(session, org, **filters)
    table = new_table(
        "ref", "title", "owner", "inherent", "residual", "treatment", "status", "review"
    )
    table.columns[0].no_wrap = True
    for risk in risks:
        level_now = current_level(risk)
        style = matrix.colour(level_now) if level_now else None
        inherent, residual = risk["inherent"], risk["residual"]
        review = risk["review_date"] or ""
        if risk["review_overdue"]:
            review = f"[bold red]{review}[/]"
        table.add_row(
            f"[{style}]{risk['ref']}[/]" if style else risk["ref"],
            risk["title"],
            risk["owner"] or "",
            _styled_level(matrix, inherent["level"], inherent["score"]),
            _styled_level(matrix, residual["level"], residual["score"]),
            risk["treatment"] or "",
            _status_text(risk),
            review,
        )
    console.print(table)
    console.print(f"{len(risks)} risk{'s' if len(risks) != 1 else ''}", highlight=False)


@app.command("show")
def show(ctx: typer.Context, ref: RefArg, as_json: JsonFlag = False) -> None:
    """Show one risk."""
    current = state(ctx)
    with current.reading() as session:
        org = current.organisation(session)
        data = risk_management.risk_to_dict(session, risk_management.get_risk(session, org, ref))
        matrix = risk_management.get_matrix(org)
    emit(data, as_json, lambda: _render_risk(data, matrix))


@app.command("assess")
def assess_(
    ctx: typer.Context,
    ref: RefArg,
    likelihood: Likelihood = None,
    impact: Impact = None,
    residual: Annotated[
        bool, typer.Option("--residual", help="Rate the residual risk (after treatment).")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Rate a risk's likelihood and impact on the matrix."""
    current = state(ctx)
    with current.transaction() as session:
        org = current.organisation(session)
        risk = risk_management.assess(session, org, ref, likelihood, impact, residual=residual)
        ref = risk.ref
    kind = "residual" if residual else "inherent"
    _show_one(ctx, ref, f"{kind} risk of [bold]{ref}[/] rated", as_json)


@app.command("treat")
def treat_(
    ctx: typer.Context,
    ref: RefArg,
    option: Annotated[str, typer.Option("--option", help="modify, retain, avoid or share.")],
    plan: Annotated[str | None, typer.Option("--plan", help="The treatment plan.")] = None,
    control: Annotated[
        list[str] | None,
        typer.Option(
            "--control",
            help="A control that treats it, e.g. A.8.12 or iso42001-2023:A.6.2.6 (repeatable).",
        ),
    ] = None,
    framework: Annotated[
        str | None,
        typer.Option("--framework", help="Framework of bare control refs (default: the risk's)."),
    ] = None,
    due: Annotated[str | None, typer.Option("--due", help="Plan due date, YYYY-MM-DD.")] = None,
    residual_likelihood: Annotated[int | None, typer.Option("--residual-likelihood")] = None,
    residual_impact: Annotated[int | None, typer.Option("--residual-impact")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Decide how a risk is treated; controls chosen become applicable in the SoA."""
    current = state(ctx)
    with current.transaction() as session:
        org = current.organisation(session)
        risk = risk_management.treat(
            session,
            org,
            ref,
            option,
            plan=plan,
            controls=control or (),
            framework=framework,
            due_date=due,
            residual_likelihood=residual_likelihood,
            residual_impact=residual_impact,
            actor=actor_of(session),
        )
        ref, option_chosen = risk.ref, risk.treatment
    _show_one(ctx, ref, f"[bold]{ref}[/] treated: {option_chosen}", as_json)


@app.command("accept")
def accept_(
    ctx: typer.Context,
    ref: RefArg,
    approver: Annotated[
        str | None, typer.Option("--approver", help="Who accepts the residual risk.")
    ] = None,
    expires: Annotated[
        str | None, typer.Option("--expires", help="When the acceptance lapses, YYYY-MM-DD.")
    ] = None,
    rationale: Annotated[str | None, typer.Option("--rationale")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Record formal acceptance of a risk's residual level."""
    current = state(ctx)
    with current.transaction() as session:
        org = current.organisation(session)
        risk = risk_management.accept(session, org, ref, approver, expires, rationale)
        ref = risk.ref
    _show_one(ctx, ref, f"residual risk of [bold]{ref}[/] accepted", as_json)


@app.command("update")
def update_(
    ctx: typer.Context,
    ref: RefArg,
    owner: Annotated[str | None, typer.Option("--owner", help="'' clears it.")] = None,
    description: Annotated[str | None, typer.Option("--description")] = None,
    review_date: Annotated[
        str | None, typer.Option("--review-date", help="YYYY-MM-DD; '' clears it.")
    ] = None,
    threat: Annotated[str | None, typer.Option("--threat")] = None,
    vulnerability: Annotated[str | None, typer.Option("--vulnerability")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Change a risk's owner, description, review date, threat or vulnerability."""
    current = state(ctx)
    with current.transaction() as session:
        org = current.organisation(session)
        risk = risk_management.update_risk(
            session,
            org,
            ref,
            owner=owner,
            description=description,
            review_date=review_date,
            threat=threat,
            vulnerability=vulnerability,
        )
        ref = risk.ref
    _show_one(ctx, ref, f"[bold]{ref}[/] updated", as_json)


@app.command("threats")
def threats(
    category: Annotated[
        str | None,
        typer.Option("--category", help="ai, cyber, people, physical, environmental, …"),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """The threat library, with suggested controls."""
    data = [threat.to_dict() for threat in risk_management.list_threats(category)]

    def render() -> None:
        table = new_table("id", "threat", "category", "suggested controls")
        for item in data:
            refs = ", ".join(
                c["ref"] if c["framework"] == DEFAULT_FRAMEWORK else f"{c['framework']}:{c['ref']}"
                for c in item["suggested_controls"]
            )
            table.add_row(item["id"], item["name"], item["category"], refs)
        console.print(table)

    emit({"threats": data}, as_json, render)


# --- matrix ------------------------------------------------------------------------------


def _render_matrix(matrix: RiskMatrix) -> None:
    grid = new_table(title="Risk matrix (score = likelihood x impact)", show_lines=True)
    grid.add_column("likelihood ↓  impact →", style="bold")
    for index, label in enumerate(matrix.impact, start=1):
        grid.add_column(f"{index} {label}", justify="center")
    for row, lk in zip(matrix.grid(), range(matrix.likelihood_size, 0, -1), strict=True):
        cells = [f"[{matrix.colour(r.level)}]{r.score} {r.level}[/]" for r in row]
        grid.add_row(f"{lk} {matrix.likelihood[lk - 1]}", *cells)
    console.print(grid)
    bands = ", ".join(
        f"[{matrix.colour(b.name)}]{b.name}[/] {b.min}-{b.max}"
        for b in sorted(matrix.levels, key=lambda b: b.min)
    )
    console.print(f"levels: {bands}")
    console.print(
        f"acceptance threshold: residual score ≤ {matrix.acceptance_threshold} may be "
        "retained without formal acceptance",
        highlight=False,
    )


@matrix_app.callback()
def matrix_show(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Show the organisation's risk matrix."""
    if ctx.invoked_subcommand is not None:
        return
    current = state(ctx)
    with current.reading() as session:
        matrix = risk_management.get_matrix(current.organisation(session))
    emit(matrix.to_dict(), as_json, lambda: _render_matrix(matrix))


def _read_matrix_file(path: Path) -> Any:
    import yaml

    if not path.is_file():
        raise InvalidInput(
            f"no file at {str(path)!r}", field="--file", fix="pass the path of a YAML file"
        )
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InvalidInput(
            f"cannot read {path.name}: {str(exc).splitlines()[0]}",
            field="--file",
            fix="pass a UTF-8 YAML (or JSON) file",
        ) from exc


@matrix_app.command("set")
def matrix_set(
    ctx: typer.Context,
    file: Annotated[
        Path, typer.Option("--file", help="YAML with likelihood, impact, levels, threshold.")
    ],
    as_json: JsonFlag = False,
) -> None:
    """Replace the risk matrix; stored risk levels are re-rated under the new bands."""
    data = _read_matrix_file(file)
    current = state(ctx)
    with current.transaction() as session:
        matrix = risk_management.set_matrix(session, current.organisation(session), data)
    emit(matrix.to_dict(), as_json, lambda: _render_matrix(matrix))
