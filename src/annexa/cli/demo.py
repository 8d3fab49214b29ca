import typer


def demo(ctx: typer.Context) -> None:
    """Demo (being built)."""
