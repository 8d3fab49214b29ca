"""``annexa audit``: read, prove and verify the tamper-evident audit log."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from annexa.cli.common import (
    JsonFlag,
    console,
    emit,
    error_console,
    escape,
    new_app,
    new_table,
    print_json,
    state,
)
from annexa.errors import InvalidInput, NotFound
from annexa.validation import plain_number

app = new_app("Tamper-evident audit log: events, signed checkpoints, proofs and verification.")

EXIT_TAMPERED = 1


def _signer(ctx: typer.Context, *, required: bool = True):  # type: ignore[no-untyped-def]
    from annexa.audit.keys import ENV_KEY, load_signer

    signer = load_signer(state(ctx).database().sqlite_file)
    if signer is None and required:
        raise NotFound(
            "this database has no audit signing key",
            field=ENV_KEY,
            fix="run `annexa init` to create one, or set ANNEXA_AUDIT_KEY / ANNEXA_AUDIT_KEY_FILE",
        )
    return signer


def _summary(changes: dict[str, Any]) -> str:
    return ", ".join(sorted(changes))


@app.command("log")
def log(
    ctx: typer.Context,
    since: Annotated[
        str | None, typer.Option("--since", help="Only events at or after this UTC date-time.")
    ] = None,
    object_: Annotated[
        str | None,
        typer.Option("--object", help="Only events about TYPE:ID, e.g. risk:R-0001 or risk:12."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """List audit events, oldest first (with --org: that organisation's only)."""
    from sqlalchemy import or_, select

    from annexa.store.models import AuditEvent
    from annexa.validation import parse_datetime

    current = state(ctx)
    query = select(AuditEvent.body).order_by(AuditEvent.seq)
    start = parse_datetime(since, "--since")
    if start is not None:
        if start.tzinfo is not None:
            import datetime as dt

            start = start.astimezone(dt.UTC).replace(tzinfo=None)
        query = query.where(AuditEvent.recorded_at >= start)
    if object_:
        kind, sep, ident = object_.partition(":")
        if not sep or not kind or not ident:
            raise InvalidInput(
                f"{object_!r} is not TYPE:ID", field="--object", fix="e.g. --object risk:R-0001"
            )
        query = query.where(
            AuditEvent.object_type == kind,
            or_(AuditEvent.object_id == ident, AuditEvent.object_ref == ident),
        )
    if current.org:
        wanted = [AuditEvent.org_slug == current.org]
        number = plain_number(current.org)
        if number is not None:
            wanted.append(AuditEvent.org_id == number)
        query = query.where(or_(*wanted))
    with current.reading() as session:
        events = [orjson.loads(bytes(body)) for body in session.scalars(query)]

    def render() -> None:
        table = new_table("seq", "time (UTC)", "actor", "action", "object", "fields")
        for e in events:
            label = f"{e['type']}:{e.get('ref') or e['id']}"
            table.add_row(
                str(e["seq"]),
                e["time"][:19],
                escape(e["actor"]),
                e["action"],
                escape(label),
                escape(_summary(e.get("changes", {}))),
            )
        console.print(table)

    emit({"events": events}, as_json, render)


@app.command("checkpoint")
def checkpoint(ctx: typer.Context) -> None:
    """Sign the current tree head (if it grew) and print the checkpoint (a C2SP signed note)."""
    from annexa.audit.log import issue_checkpoint

    signer = _signer(ctx)
    with state(ctx).database().engine.begin() as connection:
        note = issue_checkpoint(connection, signer)
    sys.stdout.write(note)


@app.command("public-key")
def public_key(ctx: typer.Context) -> None:
    """Print the verifier key for checkpoints (C2SP note key: name+hexkeyid+base64)."""
    sys.stdout.write(_signer(ctx).verifier.encode() + "\n")


@app.command("verify")
def verify(
    ctx: typer.Context,
    checkpoint_files: Annotated[
        list[Path] | None,
        typer.Option(
            "--checkpoint",
            help="A checkpoint kept earlier: the log must extend it. Repeatable.",
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ] = None,
    key: Annotated[
        str | None,
        typer.Option("--key", help="Verifier key (name+hexid+base64) instead of the local key."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Recompute the tree from the events; check every checkpoint. Exit 1 if tampered."""
    from annexa.audit.keys import Verifier, parse_checkpoint
    from annexa.audit.log import verify_log

    if key:
        try:
            verifier = Verifier.decode(key)
        except ValueError as exc:
            raise InvalidInput(
                str(exc), field="--key", fix="use `annexa audit public-key`"
            ) from exc
    else:
        verifier = _signer(ctx).verifier
    held = []
    problem = None
    for path in checkpoint_files or []:
        try:
            held.append(parse_checkpoint(path.read_text(encoding="utf-8")))
        except (ValueError, UnicodeDecodeError) as exc:
            problem = f"the held checkpoint {path}: malformed ({exc})"
            break
    with state(ctx).database().engine.connect() as connection:
        result = verify_log(connection, verifier, held) if problem is None else None
    if result is not None:
        problem = result.problem
    data = {
        "ok": problem is None,
        "events": result.events if result else 0,
        "root": result.root.hex() if result else None,
        "checkpoints": result.checkpoints if result else 0,
        "held_checkpoints": len(result.held) if result else 0,
        "problem": problem,
    }
    if as_json:
        print_json(data)
    elif problem is None:
        console.print(
            f"[green]✓[/] audit log intact: {data['events']} events, root {data['root']}, "
            f"{data['checkpoints']} checkpoints"
            + (f", extends {data['held_checkpoints']} held checkpoint(s)" if held else "")
        )
    if problem is not None:
        if not as_json:
            error_console.print(f"[bold red]tampered:[/] {escape(problem)}", soft_wrap=True)
        raise typer.Exit(EXIT_TAMPERED)


def _checkpoint_covering(ctx: typer.Context, connection, index: int, size: int) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    """The newest checkpoint, signed now when the log grew since (and a key is at hand)."""
    from annexa.audit.keys import parse_checkpoint
    from annexa.audit.log import issue_checkpoint, latest_checkpoint

    latest = latest_checkpoint(connection)
    if latest is None or latest.tree_size < size:
        signer = _signer(ctx, required=latest is None or latest.tree_size <= index)
        if signer is not None:
            note = issue_checkpoint(connection, signer)
            return parse_checkpoint(note).size, note
    return parse_checkpoint(latest.note).size, latest.note


@app.command("proof")
def proof(
    ctx: typer.Context,
    index: Annotated[int, typer.Option("--index", help="Event sequence number (leaf index).")],
    as_json: JsonFlag = False,
) -> None:
    """Inclusion proof of one event in the newest signed checkpoint (RFC 9162 §2.1.3)."""
    from annexa.audit.log import inclusion_proof, tree_head

    with state(ctx).database().engine.begin() as connection:
        size, _ = tree_head(connection)
        if not 0 <= index < size:
            raise InvalidInput(
                f"there is no event {index} (the log holds {size})",
                field="--index",
                fix=f"use 0 … {size - 1}" if size else "record a change first",
            )
        tree_size, note = _checkpoint_covering(ctx, connection, index, size)
        leaf, path = inclusion_proof(connection, index, tree_size)
    data = {
        "leaf_index": index,
        "tree_size": tree_size,
        "leaf_hash": leaf.hex(),
        "inclusion_path": [h.hex() for h in path],
        "checkpoint": note,
    }
    emit(
        data,
        as_json,
        lambda: console.print(
            f"event {index} in tree of {tree_size}: leaf {data['leaf_hash']}, "
            f"{len(path)} hashes\n" + "\n".join(data["inclusion_path"])
        ),
    )


@app.command("consistency")
def consistency(
    ctx: typer.Context,
    first: Annotated[int, typer.Option("--from", help="The older tree size.")],
    second: Annotated[int, typer.Option("--to", help="The newer tree size.")],
    as_json: JsonFlag = False,
) -> None:
    """Consistency proof between two tree sizes (RFC 9162 §2.1.4)."""
    from annexa.audit.log import consistency_proof, tree_head

    with state(ctx).database().engine.connect() as connection:
        size, _ = tree_head(connection)
        if not 0 < first <= second <= size:
            raise InvalidInput(
                f"need 0 < --from ≤ --to ≤ {size} (the log's size), got {first} and {second}",
                field="--from",
                fix="pick sizes of checkpoints you hold",
            )
        path = consistency_proof(connection, first, second)
    data = {"first_size": first, "second_size": second, "proof": [h.hex() for h in path]}
    emit(data, as_json, lambda: console.print("\n".join(data["proof"]) or "(empty proof)"))


@app.command("export")
def export(
    ctx: typer.Context,
    directory: Annotated[Path, typer.Argument(help="Folder to write (created if missing).")],
    as_json: JsonFlag = False,
) -> None:
    """Write events.jsonl, checkpoints.jsonl and public-key.txt for an independent verifier."""
    from sqlalchemy import select

    from annexa.store.models import AuditCheckpoint, AuditEvent

    signer = _signer(ctx)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInput(
            f"cannot create {str(directory)!r}: {exc.strerror}",
            field="DIR",
            fix="pick a writable folder",
        ) from exc
    with state(ctx).database().engine.connect() as connection:
        count = 0
        with (directory / "events.jsonl").open("wb") as out:
            rows = connection.execution_options(stream_results=True, yield_per=10000).execute(
                select(AuditEvent.body).order_by(AuditEvent.seq)
            )
            for (body,) in rows:
                out.write(bytes(body) + b"\n")
                count += 1
        checkpoints = connection.execute(
            select(AuditCheckpoint.tree_size, AuditCheckpoint.note).order_by(
                AuditCheckpoint.tree_size, AuditCheckpoint.id
            )
        ).all()
    with (directory / "checkpoints.jsonl").open("wb") as out:
        for tree_size, note in checkpoints:
            out.write(orjson.dumps({"tree_size": tree_size, "note": note}) + b"\n")
    (directory / "public-key.txt").write_text(signer.verifier.encode() + "\n", encoding="utf-8")
    data = {"directory": str(directory), "events": count, "checkpoints": len(checkpoints)}
    emit(
        data,
        as_json,
        lambda: console.print(
            f"[green]✓[/] exported {count} events and {len(checkpoints)} checkpoints to "
            f"{escape(str(directory))}"
        ),
    )
