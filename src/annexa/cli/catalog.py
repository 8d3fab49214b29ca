"""`annexa catalog`: browse frameworks and mappings, import an organisation's own framework."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from annexa.catalog import (
    Framework,
    get_framework,
    import_framework,
    list_frameworks,
    list_mappings,
    map_requirement,
)
from annexa.catalog.schema import KINDS
from annexa.cli.common import JsonFlag, State, console, emit, new_app, new_table, state
from annexa.errors import AnnexaError, InvalidInput, NotFound
from annexa.store.db import default_database_url, normalise_url

app = new_app("Frameworks, their requirements and the mappings between them.")


def _database_exists(current: State) -> bool:
    """False for a SQLite file that is not there: opening it would create an empty one."""
    url = make_url(normalise_url(current.db_url or default_database_url()))
    if url.get_backend_name() != "sqlite":
        return True
    return bool(url.database) and url.database != ":memory:" and Path(url.database).is_file()


@contextmanager
def _org_session(current: State) -> Iterator[tuple[Session, int] | None]:
    """A read session and org id when a ready database with an organisation is there.

    Browsing built-ins must work without any database, so every store problem here
    means "no imported frameworks", not an error.
    """
    if not _database_exists(current):
        yield None
        return
    with ExitStack() as stack:
        found: tuple[Session, int] | None
        try:
            session = stack.enter_context(current.reading())
            found = (session, current.organisation(session).id)
        except (AnnexaError, SQLAlchemyError):
            found = None
        yield found


def _lookup(ctx: typer.Context, framework_id: str) -> Framework:
    try:
        return get_framework(framework_id)
    except NotFound:
        with _org_session(state(ctx)) as found:
            if found is None:
                raise
            session, org_id = found
            return get_framework(framework_id, session, org_id)


@app.command("list")
def list_(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """List frameworks: the built-in ones and those your organisation imported."""
    with _org_session(state(ctx)) as found:
        frameworks = list_frameworks(*found) if found else list_frameworks()
        rows = [fw.summary() for fw in frameworks]

    def render() -> None:
        table = new_table()
        table.add_column("id", no_wrap=True)
        for header in ("name", "version", "requirements", "controls", "built-in"):
            table.add_column(header)
        for row in rows:
            table.add_row(
                row["id"],
                row["name"],
                row["version"],
                str(row["requirements"]),
                str(row["controls"]),
                "yes" if row["builtin"] else "imported",
            )
        console.print(table)

    emit({"frameworks": rows}, as_json, render)


@app.command("show")
def show(
    ctx: typer.Context,
    framework: Annotated[str, typer.Argument(help="Framework id, e.g. iso27001-2022.")],
    kind: Annotated[
        str | None, typer.Option("--kind", help="Only this kind: " + ", ".join(KINDS) + ".")
    ] = None,
    group: Annotated[
        str | None, typer.Option("--group", help="Only this group (id, e.g. technological).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Show a framework and its requirements."""
    fw = _lookup(ctx, framework)
    requirements = fw.requirements
    if kind is not None:
        wanted = kind.strip().lower()
        if wanted not in KINDS:
            raise InvalidInput(
                f"unknown kind {kind!r}", field="--kind", fix="use one of: " + ", ".join(KINDS)
            )
        requirements = [r for r in requirements if r.kind == wanted]
    if group is not None:
        try:
            group_id = fw.group(group).id
        except NotFound as exc:
            raise NotFound(exc.message, field="--group", fix=exc.fix) from None
        requirements = [r for r in requirements if r.group == group_id]
    data: dict[str, Any] = fw.to_dict()
    data["requirements"] = [r.to_dict() for r in requirements]

    def render() -> None:
        console.print(f"[bold]{fw.name}[/] ({fw.id}, {fw.publisher}, version {fw.version})")
        if fw.description:
            console.print(fw.description, style="dim")
        table = new_table()
        table.add_column("ref", no_wrap=True)
        for header in ("title", "kind", "group", "new"):
            table.add_column(header)
        for r in requirements:
            table.add_row(r.ref, r.title, r.kind, r.group, "new" if r.new_in_2022 else "")
        console.print(table)

    emit(data, as_json, render)


@app.command("map")
def map_(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(metavar="FROM", help="Framework of the ref.")],
    target: Annotated[str, typer.Argument(metavar="TO", help="Framework to map onto.")],
    ref: Annotated[str, typer.Argument(help="Requirement ref in FROM, e.g. A.5.14.")],
    as_json: JsonFlag = False,
) -> None:
    """Show which requirements of TO a requirement of FROM corresponds to."""
    source_fw = get_framework(source)
    target_fw = get_framework(target)
    requirement = source_fw.requirement(ref)
    pairs = map_requirement(source_fw.id, target_fw.id, requirement.ref)
    data = {
        "source": {
            "framework": source_fw.id,
            "ref": requirement.ref,
            "title": requirement.title,
        },
        "target_framework": target_fw.id,
        "targets": [
            {"ref": t_ref, "relationship": rel, "title": target_fw.requirement(t_ref).title}
            for t_ref, rel in pairs
        ],
    }

    def render() -> None:
        console.print(f"[bold]{requirement.ref}[/] {requirement.title} ({source_fw.id})")
        if not pairs:
            console.print(f"no corresponding requirement in {target_fw.id}")
            return
        table = new_table(f"{target_fw.id} ref", "title", "relationship")
        for item in data["targets"]:
            table.add_row(item["ref"], item["title"], item["relationship"])
        console.print(table)

    emit(data, as_json, render)


@app.command("mappings")
def mappings(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """List the mapping sets between frameworks (usable in both directions)."""
    rows = [
        {"source": m.source, "target": m.target, "count": m.count, "description": m.description}
        for m in list_mappings()
    ]

    def render() -> None:
        table = new_table("source", "target", "mapped refs")
        for row in rows:
            table.add_row(row["source"], row["target"], str(row["count"]))
        console.print(table)

    emit({"mappings": rows}, as_json, render)


@app.command("import")
def import_(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="Framework YAML: Annexa or CISO Assistant format.")],
    framework_id: Annotated[
        str | None, typer.Option("--id", help="Store under this id instead of the file's.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Import a framework for your organisation."""
    current = state(ctx)
    with current.transaction() as session:
        org = current.organisation(session)
        fw = import_framework(session, org.id, file, framework_id=framework_id)
    data = {**fw.summary(), "source_format": fw.source_format, "groups": len(fw.groups)}
    emit(
        data,
        as_json,
        lambda: console.print(
            f"[green]✓[/] imported [bold]{fw.id}[/] ({fw.name}): "
            f"{data['requirements']} requirements from a {fw.source_format} file"
        ),
    )
