"""What every command shares: the chosen database and organisation, output and errors."""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, cast

import orjson
import typer
from typer.core import TyperGroup

from annexa.errors import AnnexaError
from annexa.store.db import Database, open_database

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table
    from sqlalchemy import Connection, Row
    from sqlalchemy.orm import Session

    from annexa.store.models import Organisation


class _ConsoleOnFirstUse:
    """A Rich console made when something is first printed through it.

    Commands that answer in JSON never print through Rich, and importing it costs some
    100 M instructions (~35 ms), a twentieth of a command's start-up.
    """

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._console: Console | None = None

    def __getattr__(self, name: str) -> Any:
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._options)
        return getattr(self._console, name)


console = cast("Console", _ConsoleOnFirstUse())
error_console = cast("Console", _ConsoleOnFirstUse(stderr=True))


def escape(text: str) -> str:
    """``rich.markup.escape``, imported on first use (see :class:`_ConsoleOnFirstUse`)."""
    from rich.markup import escape as escape_markup

    return escape_markup(text)


def new_table(*headers: Any, **options: Any) -> Table:
    """A ``rich.table.Table``, imported on first use (see :class:`_ConsoleOnFirstUse`)."""
    from rich.table import Table

    return Table(*headers, **options)


JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]

EXIT_INPUT_ERROR = 2


class AnnexaGroup(TyperGroup):
    """Turns an :class:`AnnexaError` anywhere below into one line on stderr and exit 2."""

    def invoke(self, ctx: typer.Context) -> Any:
        try:
            return super().invoke(ctx)
        except AnnexaError as exc:
            error_console.print(
                f"[bold red]error:[/] {escape(exc.one_line())}", highlight=False, soft_wrap=True
            )
            raise typer.Exit(EXIT_INPUT_ERROR) from None


def new_app(help_text: str) -> typer.Typer:
    return typer.Typer(
        cls=AnnexaGroup, help=help_text, no_args_is_help=True, rich_markup_mode="rich"
    )


@dataclass
class State:
    db_url: str | None = None
    org: str | None = None
    _db: Database | None = field(default=None, repr=False)

    def database(self, *, must_be_ready: bool = True) -> Database:
        if self._db is None:
            self._db = open_database(self.db_url)
        if must_be_ready:
            self._db.ensure_ready()
        return self._db

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with self.database().transaction(actor=cli_actor()) as session:
            yield session
        self.checkpoint_after_write()

    def checkpoint_after_write(self) -> None:
        """Every CLI write ends with a signed checkpoint of the audit log, when a key exists.

        A failure here leaves the committed change and its event in place (the next write
        or `annexa audit checkpoint` signs them), so it warns instead of failing.
        """
        from sqlalchemy.exc import SQLAlchemyError

        from annexa.audit.keys import load_signer
        from annexa.audit.log import issue_checkpoint

        db = self.database()
        try:
            signer = load_signer(db.sqlite_file)
            if signer is not None:
                with db.engine.begin() as connection:
                    issue_checkpoint(connection, signer)
        except (AnnexaError, SQLAlchemyError, OSError) as exc:
            error_console.print(f"[yellow]warning:[/] no audit checkpoint signed: {exc}")

    @contextmanager
    def reading(self) -> Iterator[Session]:
        with self.database().reading() as session:
            yield session

    @contextmanager
    def snapshot(self) -> Iterator[Connection]:
        """A read-only Core connection (``Database.snapshot``): for reports that need no ORM."""
        with self.database().snapshot() as connection:
            yield connection

    def organisation(self, session: Session) -> Organisation:
        from annexa.orgs import resolve_organisation

        return resolve_organisation(session, self.org)

    def organisation_record(self, db: Connection | Session) -> Row[Any]:
        """:meth:`organisation` as a plain row (see ``orgs.organisation_record``)."""
        from annexa.orgs.lookup import organisation_record

        return organisation_record(db, self.org)

    def organisation_id(self, db: Connection | Session) -> int:
        """The id of :meth:`organisation`, without loading it (see ``orgs.organisation_id``)."""
        from annexa.orgs.lookup import organisation_id

        return organisation_id(db, self.org)


def cli_actor() -> str:
    """Who runs the command: ``ANNEXA_ACTOR`` when set (e.g. by a wrapper that knows the
    person), else ``cli:<login name>``. Recorded on decisions and in the audit log."""
    explicit = os.environ.get("ANNEXA_ACTOR", "").strip()
    if explicit:
        return explicit[:200]
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no login name (some containers)
        return "cli"


def actor_of(session: Session) -> str:
    """Who is making the change in this unit of work (recorded on decisions and events)."""
    return str(session.info.get("actor") or "cli")


def state(ctx: typer.Context) -> State:
    root = ctx.find_root()
    if not isinstance(root.obj, State):
        root.obj = State()
    return root.obj


def print_json(data: Any) -> None:
    """Indented UTF-8 JSON on stdout; dates as ISO strings, anything else via str()."""
    options = orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS | orjson.OPT_APPEND_NEWLINE
    write_bytes(orjson.dumps(data, default=str, option=options))


def write_pieces(pieces: Iterable[bytes]) -> None:
    """Write encoded output as it is, piece by piece: a large document is not decoded only
    to be re-encoded."""
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None:  # a text-only stream (a test's StringIO)
        sys.stdout.write(b"".join(pieces).decode("utf-8"))
        return
    sys.stdout.flush()
    for piece in pieces:
        buffer.write(piece)
    buffer.flush()


def write_bytes(data: bytes) -> None:
    """Write encoded output as it is (see :func:`write_pieces`)."""
    write_pieces((data,))


def emit(data: Any, as_json: bool, render: Callable[[], None]) -> None:
    """JSON for scripts, or a Rich rendering for people."""
    if as_json:
        print_json(data)
    else:
        render()
