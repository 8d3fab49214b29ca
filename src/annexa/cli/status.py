import typer


def status(ctx: typer.Context) -> None:
    """Readiness (being built)."""
