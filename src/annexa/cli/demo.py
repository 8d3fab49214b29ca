"""`annexa demo`: load the demo law firm."""

from __future__ import annotations

from typing import Annotated

import typer

from annexa.cli.common import JsonFlag, console, emit, state


def demo(
    ctx: typer.Context,
    reset: Annotated[
        bool, typer.Option("--reset", help="Replace the demo organisation if it exists.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Load the demo: a 40-person law firm adopting AI (creates the schema if needed)."""
    from sqlalchemy import func, select

    from annexa.demo import load_demo, remove_demo
    from annexa.store.models import AISystem, Asset, Risk, SoaEntry, Supplier

    current = state(ctx)
    current.database(must_be_ready=False).upgrade()
    with (
        console.status("loading the demo organisation…") as spinner,
        current.transaction() as session,
    ):
        replaced = remove_demo(session) if reset else False
        org = load_demo(session, progress=lambda label: spinner.update(f"loading {label}…"))

        def count(model: type) -> int:
            return session.scalar(
                select(func.count()).select_from(model).where(model.org_id == org.id)
            )

        data = {
            "organisation": org.slug,
            "name": org.name,
            "replaced": replaced,
            "assets": count(Asset),
            "ai_systems": count(AISystem),
            "suppliers": count(Supplier),
            "risks": count(Risk),
            "soa_decisions": count(SoaEntry),
        }
    emit(
        data,
        as_json,
        lambda: console.print(
            f"[green]✓[/] demo organisation [bold]{data['name']}[/] ({data['organisation']}): "
            f"{data['assets']} assets, {data['ai_systems']} AI systems, "
            f"{data['suppliers']} suppliers, {data['risks']} risks, "
            f"{data['soa_decisions']} SoA decisions"
        ),
    )
