"""``annexa guard``: find and mask sensitive data in text.

``scan`` and ``redact`` need no database; ``redact --vault``, ``restore`` and ``vault purge``
work on the organisation's persistent vault (``--db``, ``--org``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from annexa.cli.common import (
    JsonFlag,
    cli_actor,
    console,
    emit,
    error_console,
    escape,
    new_app,
    new_table,
    print_json,
    state,
)
from annexa.errors import InvalidInput

app = new_app("Find and mask sensitive data in prompts, documents and model output.")

vault_app = new_app("The organisation's vault of reversible placeholders.")
app.add_typer(vault_app, name="vault")

EXIT_BLOCKED = 3
EXIT_NOT_SCANNED = 4

Files = Annotated[
    list[Path] | None, typer.Argument(help="Files to read; standard input when none.")
]
PolicyOpt = Annotated[
    Path | None, typer.Option("--policy", help="YAML policy (see docs/guard.md).")
]
NerOpt = Annotated[
    str | None,
    typer.Option(
        "--ner",
        help="Also find names and places (PERSON, LOCATION) with this installed spaCy "
        "pipeline, by name or folder (offline); instead of the policy's ner.model.",
    ),
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


def _guard(policy: Path | None, ner: str | None = None):  # type: ignore[no-untyped-def]
    from annexa.guard import Guard, Policy, load_policy, with_ner

    key = os.environ.get("ANNEXA_GUARD_KEY")
    chosen = load_policy(policy) if policy else Policy()
    if ner is not None:
        chosen = with_ner(chosen, ner)
    try:
        return Guard(chosen, key=key.encode() if key else None)
    except InvalidInput as exc:
        if ner is not None and exc.field == "ner.model":  # the pipeline came from --ner
            raise InvalidInput(exc.message, field="--ner", fix=exc.fix) from None
        raise


@app.command("scan")
def scan(
    files: Files = None,
    policy: PolicyOpt = None,
    ner: NerOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """List sensitive data found. Exit 4 if anything could not be scanned."""
    guard = _guard(policy, ner)
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
        table = new_table("source", "entity", "start", "end", "score", "text")
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


@app.command("injection")
def injection(
    files: Files = None,
    threshold: Annotated[
        float,
        typer.Option(
            "--threshold",
            min=0.01,
            max=1.0,
            help="Score from which a text counts as suspicious (0.5: one strong signal or "
            "two weaker ones).",
        ),
    ] = 0.5,
    as_json: JsonFlag = False,
) -> None:
    """Score texts for prompt injection and jailbreak attempts. Exit 3 if any is
    suspicious (as `redact` exits 3 when the policy blocks)."""
    from annexa.guard import detect_injection

    results = []
    for name, text in _inputs(files):
        report = detect_injection(text, threshold=threshold)
        signals = [{**s.to_dict(), "text": text[s.start : s.end][:200]} for s in report.signals]
        results.append({"source": name, **report.to_dict(), "signals": signals})

    def render() -> None:
        table = new_table("source", "score", "verdict", "rule", "where", "text")
        for res in results:
            verdict = "[bold red]suspicious[/]" if res["suspicious"] else "[green]clear[/]"
            signals = res["signals"] or [None]
            for k, signal in enumerate(signals):
                table.add_row(
                    res["source"] if k == 0 else "",
                    f"{res['score']:.2f}" if k == 0 else "",
                    verdict if k == 0 else "",
                    signal["rule"] if signal else "",
                    f"{signal['start']}-{signal['end']}" if signal else "",
                    escape(repr(signal["text"])[1:-1][:60]) if signal else "",
                )
        console.print(table)

    emit({"results": results}, as_json, render)
    if any(res["suspicious"] for res in results):
        raise typer.Exit(EXIT_BLOCKED)


@app.command("redact")
def redact(
    ctx: typer.Context,
    files: Files = None,
    policy: PolicyOpt = None,
    destination: Annotated[
        str | None, typer.Option(help="Destination named in the policy.")
    ] = None,
    vault: Annotated[
        bool,
        typer.Option(
            "--vault",
            help="Use the organisation's persistent vault (--db, --org): placeholders that "
            "`annexa guard restore` and the API turn back into the originals. Without "
            "--policy: the organisation's policy file if the server has one, else the "
            "vault action for everything.",
        ),
    ] = False,
    ttl: Annotated[
        str | None,
        typer.Option(
            "--ttl",
            help="With --vault: how long the originals stay restorable, in seconds or "
            "with s, m, h, d (default 1h, at most 366d).",
        ),
    ] = None,
    ner: NerOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """Print the text with sensitive data replaced. Exit 3 if the policy blocks it,
    4 if it could not be fully scanned (nothing is printed then)."""
    from annexa.guard import Blocked, GuardError, ScanError

    if ttl is not None and not vault:
        raise InvalidInput("--ttl applies to the vault", field="--ttl", fix="add --vault")
    inputs = _inputs(files)
    if vault:
        redacted = _redact_with_vault(ctx, inputs, policy, destination, ttl, ner)
    else:
        redacted = _redact_plain(inputs, policy, destination, ner)
    outputs = []
    for name, outcome in redacted:
        if isinstance(outcome, Blocked):
            error_console.print(f"[bold red]blocked:[/] {escape(name)}: {escape(str(outcome))}")
            raise typer.Exit(EXIT_BLOCKED)
        if isinstance(outcome, ScanError):
            error_console.print(f"[bold red]error:[/] {escape(name)}: {escape(str(outcome))}")
            raise typer.Exit(EXIT_NOT_SCANNED)
        if isinstance(outcome, GuardError):
            fix = (
                "add --vault for the vault action"
                if "vault" in str(outcome)
                else "set ANNEXA_GUARD_KEY for pseudonymise/fake"
            )
            raise InvalidInput(str(outcome), field="--policy", fix=fix)
        outputs.append(
            {
                "source": name,
                "text": outcome.text,
                "findings": [
                    {**f.to_dict(), "action": a, "text": None}
                    for f, a in zip(outcome.findings, outcome.actions, strict=True)
                ],
            }
        )
    if as_json:
        print_json({"results": outputs})
    else:
        for out in outputs:
            sys.stdout.write(out["text"])


def _attempt(guard, text: str, destination: str | None, state_):  # type: ignore[no-untyped-def]
    """The redaction, or the guard's refusal (blocked, not scanned, a key missing)."""
    from annexa.guard import Blocked, GuardError, ScanError

    try:
        return guard.redact(text, destination=destination, state=state_)
    except (Blocked, ScanError, GuardError) as exc:
        return exc


def _redact_plain(inputs, policy, destination, ner):  # type: ignore[no-untyped-def]
    from annexa.guard import RedactionState

    guard = _guard(policy, ner)
    done = []
    for name, text in inputs:
        outcome = _attempt(guard, text, destination, RedactionState(key=guard.key))
        done.append((name, outcome))
        if isinstance(outcome, Exception):
            break
    return done


def _redact_with_vault(ctx, inputs, policy, destination, ttl, ner):  # type: ignore[no-untyped-def]
    """Each file in its own transaction: one batch of vault writes each, whose locks are
    taken in one order (concurrent writers cannot deadlock). A refused file stops the run;
    what earlier files vaulted is never printed and simply expires."""
    from annexa.guard import load_policy, with_ner
    from annexa.guard.service import (
        DEFAULT_TTL,
        check_destination,
        guard_for,
        master_key,
        org_guard,
        parse_ttl,
        policy_for,
    )

    seconds = parse_ttl(ttl) if ttl is not None else DEFAULT_TTL
    current = state(ctx)
    db = current.database()
    chosen = load_policy(policy) if policy else None
    key = None
    done = []
    for name, text in inputs:
        with db.transaction(actor=cli_actor()) as session:
            org = current.organisation(session)
            policy_ = chosen or policy_for(org.slug)
            if ner is not None:
                policy_ = with_ner(policy_, ner)
            check_destination(policy_, destination)
            guard = guard_for(policy_)
            key = key or master_key(db.sqlite_file, create=True)  # once all else is right
            assert key is not None
            vaulted = org_guard(session.connection(), org.id, key, ttl=seconds)
            outcome = _attempt(guard, text, destination, vaulted.state())
            if isinstance(outcome, Exception):
                session.rollback()
        done.append((name, outcome))
        if isinstance(outcome, Exception):
            break
    return done


@app.command("restore")
def restore(
    ctx: typer.Context,
    files: Files = None,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="The input is JSON (a chat message, a tool call): restore inside its "
            "strings at any depth, JSON held in strings included; print JSON.",
        ),
    ] = False,
) -> None:
    """Put the originals back for the organisation's vault placeholders.

    Uses --db and --org. Unknown, expired and foreign placeholders stay as they are; a
    warning says how many."""
    import orjson

    from annexa.guard.service import master_key, org_guard
    from annexa.guard.service import restore as restore_data

    inputs = _inputs(files)
    documents = []
    for name, text in inputs:
        if as_json:
            try:
                documents.append(orjson.loads(text))
            except orjson.JSONDecodeError as exc:
                raise InvalidInput(
                    f"{name} is not JSON: {exc}", field="FILES", fix="drop --json for plain text"
                ) from None
        else:
            documents.append(text)
    current = state(ctx)
    db = current.database()
    key = master_key(db.sqlite_file, create=False)
    if key is None:
        error_console.print(
            "[yellow]warning:[/] no guard master key: nothing was ever vaulted with it, "
            "nothing is restored"
        )
    left = 0
    results = []
    with db.reading() as session:
        org = current.organisation(session)
        vault = org_guard(session.connection(), org.id, key).vault if key else None
        for document in documents:
            done = restore_data(vault, document, as_json=as_json)
            left += done.unresolved
            results.append(done.data)
    for result in results:
        if as_json:
            print_json(result)
        else:
            sys.stdout.write(result)
    if left:
        error_console.print(
            f"[yellow]warning:[/] {left} placeholder{'s' if left != 1 else ''} not restored "
            "(unknown, expired, or vaulted for another organisation or key)"
        )


@vault_app.command("purge")
def vault_purge(
    ctx: typer.Context,
    all_orgs: Annotated[
        bool, typer.Option("--all-orgs", help="Every organisation's, not only --org's.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Delete expired vault entries (they are never restored anyway).

    Placeholder numbers are not reused afterwards."""
    import time

    from annexa.guard.vault_db import purge_expired

    current = state(ctx)
    db = current.database()
    with db.transaction(actor=cli_actor()) as session:
        org = None if all_orgs else current.organisation(session)
        purged = purge_expired(
            session.connection(), time.time(), org_id=org.id if org is not None else None
        )
    data = {"organisation": org.slug if org is not None else None, "purged": purged}
    emit(
        data,
        as_json,
        lambda: console.print(
            f"[green]✓[/] {purged} expired vault entr{'ies' if purged != 1 else 'y'} purged"
        ),
    )
