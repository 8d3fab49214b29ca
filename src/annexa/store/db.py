"""Opening a database, running migrations and scoping work to one transaction."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache, cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, Executable, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError

from annexa.errors import InvalidInput, StoreUnavailable

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

ENV_DATABASE_URL = "ANNEXA_DATABASE_URL"
DEFAULT_SQLITE_FILE = "annexa.db"
MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def default_database_url() -> str:
    """``ANNEXA_DATABASE_URL`` when set, else a SQLite file in the working directory."""
    return os.environ.get(ENV_DATABASE_URL) or f"sqlite:///{DEFAULT_SQLITE_FILE}"


def normalise_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs and route them to the psycopg 3 driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def _enable_sqlite_integrity(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


_BIND_SUFFIX = re.compile(r"_\d+$")


def _refuse_nul_characters(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
    """Refuse text holding NUL characters, on every backend, before it reaches the database.

    PostgreSQL cannot store them at all (its driver raises a data error) and SQLite would;
    refusing them everywhere keeps both backends alike and turns the error into bad input
    that names the field.
    """
    # One statement can reach the cursor many times with the same parameters (the ORM
    # inserts rows one by one on SQLite): look at them once, not once per row.
    if context is None or getattr(context, "_annexa_nul_checked", False):
        return
    context._annexa_nul_checked = True
    compiled = getattr(context, "compiled_parameters", None) or ()
    for params in compiled:
        for key, value in params.items():
            if isinstance(value, str) and "\x00" in value:
                field = _BIND_SUFFIX.sub("", key)
                raise InvalidInput(
                    f"{field} contains a NUL character",
                    field=field,
                    fix="remove the \\0 character from the text",
                )


class Database:
    """One database: an engine, a session factory and the migration entry point."""

    def __init__(self, url: str):
        self.url = normalise_url(url)
        try:
            parsed = make_url(self.url)
        except ArgumentError as exc:
            raise InvalidInput(
                f"cannot parse database URL {url!r}",
                field="--db",
                fix="use sqlite:///path/to/annexa.db or postgresql://user@host/dbname",
            ) from exc
        self.dialect = parsed.get_backend_name()
        if self.dialect not in {"sqlite", "postgresql"}:
            raise InvalidInput(
                f"unsupported database {self.dialect!r}",
                field="--db",
                fix="use a sqlite:/// or postgresql:// URL",
            )
        if self.dialect == "sqlite" and parsed.database not in (None, "", ":memory:"):
            folder = Path(parsed.database).expanduser().resolve().parent
            if not folder.is_dir():
                raise StoreUnavailable(
                    f"folder {str(folder)!r} does not exist",
                    field="--db",
                    fix="create the folder or point --db at an existing one",
                )
        if self.dialect == "sqlite":
            # SQLite from the sqlean.py wheel (a current release) rather than the one the
            # operating system links Python's sqlite3 against (3.40 on Debian 12): years of
            # fixes, JSON functions a quarter faster and ORDER BY inside aggregates, which
            # the risk register's JSON uses. Same DB-API, same file format.
            import sqlean

            self.engine: Engine = create_engine(self.url, future=True, module=sqlean)
        else:
            # No JIT compilation: Annexa's queries are interactive reports over at most a
            # few hundred thousand rows, where compiling (30-40 ms a query here) costs
            # more than it saves; the planner's cost estimates for per-row subqueries
            # (the readiness tallies) crossed its threshold and made `status` slower.
            # (after any options the URL gives: connect_args would replace them)
            given = parsed.query.get("options", ())
            options = " ".join(((given,) if isinstance(given, str) else given) + ("-c jit=off",))
            self.engine = create_engine(self.url, future=True, connect_args={"options": options})
        if self.dialect == "sqlite":
            event.listen(self.engine, "connect", _enable_sqlite_integrity)
        event.listen(self.engine, "before_cursor_execute", _refuse_nul_characters)

    @property
    def sqlite_file(self) -> str | None:
        """The SQLite database file, when this is one (the audit key lives next to it)."""
        if self.dialect != "sqlite":
            return None
        database = make_url(self.url).database
        return None if database in (None, "", ":memory:") else database

    @cached_property
    def _sessions(self) -> sessionmaker[Session]:
        """The session factory, made on first use: a report read through :meth:`snapshot`
        never imports the ORM."""
        from sqlalchemy.orm import sessionmaker

        from annexa.audit.hooks import install

        factory = sessionmaker(self.engine, expire_on_commit=False)
        install(factory)  # every change committed through a session is an event
        return factory

    # -- migrations -------------------------------------------------------
    def _alembic_config(self):  # type: ignore[no-untyped-def]
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        config.attributes["engine"] = self.engine
        return config

    def upgrade(self) -> str:
        """Create or upgrade the schema to the newest migration; safe to repeat."""
        from alembic import command

        try:
            command.upgrade(self._alembic_config(), "head")
        except (OperationalError, DBAPIError) as exc:
            raise StoreUnavailable(
                f"cannot open the database: {_first_line(exc)}",
                field="--db",
                fix="check the URL, that the server is running and that you may write to it",
            ) from exc
        return self.current_revision() or ""

    def current_revision(self) -> str | None:
        """The schema revision recorded in the database; None when it has no schema."""
        # Asked of the catalog directly: SQLAlchemy's inspector costs more than the rest of
        # a small command's queries on PostgreSQL, and every command starts here.
        if self.dialect == "postgresql":
            exists = text("SELECT to_regclass('alembic_version') IS NOT NULL")
        else:
            exists = text(
                "SELECT count(*) > 0 FROM sqlite_master"
                " WHERE type = 'table' AND name = 'alembic_version'"
            )
        with self.engine.connect() as connection:
            if not connection.execute(exists).scalar():
                return None
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()

    def head_revision(self) -> str:
        return head_revision()

    def ensure_ready(self) -> None:
        """Refuse to work on a database that was never initialised or is out of date."""
        try:
            current = self.current_revision()
        except (OperationalError, DBAPIError) as exc:
            raise StoreUnavailable(
                f"cannot open the database: {_first_line(exc)}",
                field="--db",
                fix="check the URL, that the server is running and that you may read it",
            ) from exc
        if current is None:
            raise StoreUnavailable(
                "the database has no Annexa schema",
                field="--db",
                fix="run `annexa init` (or `annexa demo`) first",
            )
        head = head_revision()
        if current != head:
            raise StoreUnavailable(
                f"the database schema is at {current}, this Annexa needs {head}",
                field="--db",
                fix="run `annexa init` to upgrade it",
            )

    def table_names(self) -> list[str]:
        return inspect(self.engine).get_table_names()

    # -- sessions ---------------------------------------------------------
    @contextmanager
    def transaction(self, actor: str = "cli", request_id: str | None = None) -> Iterator[Session]:
        """One unit of work: everything inside commits together or not at all.

        Every change it makes is appended to the audit log at commit, in the same database
        transaction, under ``actor`` and ``request_id`` (a fresh one when not given).
        """
        from annexa.audit.log import new_request_id

        session = self._sessions()
        session.info["actor"] = actor
        session.info["request_id"] = request_id or new_request_id()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A session for reads only, all of them from one snapshot of the database (a
        report built from many queries never mixes states when someone writes meanwhile);
        anything it flushes is rolled back."""
        session = self._sessions()
        try:
            self._begin_snapshot(session)
            yield session
        finally:
            session.rollback()
            session.close()

    @contextmanager
    def snapshot(self) -> Iterator[Connection]:
        """:meth:`reading` for Core: a connection whose reads all come from one snapshot of
        the database; anything it would write is rolled back."""
        with self.engine.connect() as connection:
            try:
                if self.dialect == "postgresql":  # (see _begin_snapshot)
                    connection.execution_options(isolation_level="REPEATABLE READ")
                elif self.sqlite_file is not None:
                    connection.exec_driver_sql("BEGIN")
                yield connection
            finally:
                connection.rollback()

    def _begin_snapshot(self, session: Session) -> None:
        if self.dialect == "postgresql":
            # Must be the session's first use of its connection: the level applies to
            # the transaction it starts (and is reset when the connection goes back).
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        elif self.sqlite_file is not None:
            # Python's sqlite3 begins a transaction only before a write, so each SELECT
            # would otherwise see the database as it is at that moment. (An in-memory
            # database shares one connection with writers: left as it is.)
            session.connection().exec_driver_sql("BEGIN")

    def ping(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()


def core_connection(db: Connection | Session) -> Connection:
    """The Core connection to run statements on: ``db`` itself, or a session's."""
    return db if isinstance(db, Connection) else db.connection()


def fetch_tuples(connection: Connection, statement: Executable) -> list[tuple[Any, ...]]:
    """Plain DBAPI tuples, skipping SQLAlchemy's row objects (a third of the fetch time on
    large reads).

    Only for columns that need no result processing on either backend: integers and
    text (dates cast to text in the statement).
    """
    result = connection.execute(statement)
    try:
        return result.cursor.fetchall()
    finally:
        result.close()


@cache
def head_revision() -> str:
    """The newest migration, read from the numbered file names.

    Migrations form one numbered line (0001, 0002, …; see scripts/new-migration), so the
    newest file is the head. Reading names instead of loading Alembic keeps every command's
    start-up fast; a test checks this agrees with Alembic's own view.
    """
    names = sorted(path.name for path in (MIGRATIONS_DIR / "versions").glob("[0-9]*_*.py"))
    return names[-1].split("_", 1)[0]


def _first_line(exc: BaseException) -> str:
    text_ = str(getattr(exc, "orig", None) or exc).strip()
    return text_.splitlines()[0] if text_ else exc.__class__.__name__


def open_database(url: str | None = None) -> Database:
    return Database(url or default_database_url())
