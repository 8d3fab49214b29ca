"""``annexa guard``: find and mask sensitive data in text (no database needed)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from annexa.cli.common import JsonFlag, console, emit, error_console, new_app, print_json
from annexa.errors import InvalidInput

app = new_app("Find and mask sensitive data in prompts, documents and model output.")

EXIT_BLOCKED = 3
EXIT_NOT_SCANNED = 4

Files = Annotated[
    list[Path] | None, typer.Argument(help="Files to read; standard input when none.")
]
PolicyOpt = Annotated[
    Path | None, typer.Option("--policy", help="YAML policy (see docs/guard.md).")
]


def _inputs(files: list[Path] | None) -> list[tuple[str, str]]:
    if not files:
        return [("-", sys.stdin.read())]
    out = []
    for path in files:
        try:
            out.append((str(path), path.read_text(encoding="utf-8")))
        except OSError as exc:
            raise InvalidInput(
                f"cannot read {path}: {exc.strerror}", field="FILES", fix="pass readable files"
            ) from None
        except UnicodeDecodeError:
            raise InvalidInput(
                f"{path} is not UTF-8 text", field="FILES", fix="convert it to UTF-8 first"
            ) from None
    return out


def _guard(policy: Path | None):  # type: ignore[no-untyped-def]
    from annexa.guard import Guard, load_policy

    key = os.environ.get("ANNEXA_GUARD_KEY")
    return Guard(load_policy(policy) if policy else None, key=key.encode() if key else None)


@app.command("scan")
def scan(
    files: Files = None,
    policy: PolicyOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """List sensitive data found. Exit 4 if anything could not be scanned."""
    guard = _guard(policy)
    results = []
    failed = False
    for name, text in _inputs(files):
        result = guard.scan(text)
        failed |= result.status != "ok"
        results.append(
            {
                "source": name,
                "status": result.status,
                "errors": result.errors,
                "findings": [f.to_dict() for f in result],
            }
        )

    def render() -> None:
        table = Table("source", "entity", "start", "end", "score", "text")
        for res in results:
            for f in res["findings"]:
                table.add_row(
                    res["source"],
                    f["entity_type"],
                    str(f["start"]),
                    str(f["end"]),
                    f"{f['score']:.2f}",
                    escape(f["text"][:60]),
                )
        console.print(table)

    emit({"results": results}, as_json, render)
    if failed:
        error_console.print("[bold red]error:[/] not fully scanned; treat as unsafe")
        raise typer.Exit(EXIT_NOT_SCANNED)


@app.command("redact")
def redact(
    files: Files = None,
    policy: PolicyOpt = None,
    destination: Annotated[
        str | None, typer.Option(help="Destination named in the policy.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Print the text with sensitive data replaced. Exit 3 if the policy blocks it,
    4 if it could not be fully scanned (nothing is printed then)."""
    from annexa.guard import Blocked, GuardError, RedactionState, ScanError

    guard = _guard(policy)
    outputs = []
    for name, text in _inputs(files):
        state = RedactionState(key=guard.key)
        try:
            result = guard.redact(text, destination=destination, state=state)
        except Blocked as exc:
            error_console.print(f"[bold red]blocked:[/] {escape(name)}: {escape(str(exc))}")
            raise typer.Exit(EXIT_BLOCKED) from None
        except ScanError as exc:
            error_console.print(f"[bold red]error:[/] {escape(name)}: {escape(str(exc))}")
            raise typer.Exit(EXIT_NOT_SCANNED) from None
        except GuardError as exc:
            raise InvalidInput(
                str(exc), field="--policy", fix="set ANNEXA_GUARD_KEY for pseudonymise/fake"
            ) from None
        outputs.append(
            {
                "source": name,
                "text": result.text,
                "findings": [
                    {**f.to_dict(), "action": a, "text": None}
                    for f, a in zip(result.findings, result.actions, strict=True)
                ],
            }
        )
    if as_json:
        print_json({"results": outputs})
    else:
        for out in outputs:
            sys.stdout.write(out["text"])
