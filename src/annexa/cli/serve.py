"""``annexa serve``: the web UI and the REST API in one process (uvicorn), over the CLI's
services."""

from __future__ import annotations

import typer

from annexa.cli.common import console, state
from annexa.errors import InvalidInput


def serve(ctx: typer.Context, host: str, port: int) -> None:
    from annexa.accounts import user_count

    current = state(ctx)
    db = current.database()
    with db.reading() as session:
        users = user_count(session)
    if users == 0:
        raise InvalidInput(
            "the database has no users, so nobody could sign in",
            field="user",
            fix="create one first: `annexa user add you@example.com --name 'Your Name' "
            "--org SLUG --role admin` (then sign in to the web UI, or create an API token "
            "with `annexa token create you@example.com --scope write`)",
        )
    import uvicorn

    from annexa.api.app import create_app

    app = create_app(db.url)
    shown = f"[{host}]" if ":" in host else host
    console.print(
        f"Annexa on [bold]http://{shown}:{port}/[/] — web UI at /, REST API at /api/v1 "
        "(docs at /api/docs). Ctrl+C stops it.",
        highlight=False,
    )
    # The access log names method, path and status only: never headers, so never tokens
    # or session cookies.
    uvicorn.run(app, host=host, port=port, proxy_headers=False, server_header=False)
