"""Reads that run beside the caller's own, on a second connection that sees its snapshot.

A large report on PostgreSQL spends a good part of its time waiting for the server while
the client is idle, then converting rows while the server is idle. Fetching the secondary
queries (a register's links, say) on a second connection in a thread overlaps the two:
the thread waits on its socket without holding the GIL while the caller converts rows.

The second connection imports the caller's snapshot (``pg_export_snapshot`` and ``SET
TRANSACTION SNAPSHOT``, as ``pg_dump --jobs`` does), so its rows come from exactly the
state of the database the caller reads. That holds only for a caller whose transaction is
REPEATABLE READ or SERIALIZABLE (one snapshot throughout, which
:meth:`annexa.store.db.Database.reading` begins) and has written nothing (its own changes
would be invisible to the second connection); the server is asked both. Anywhere else
(SQLite, a read-committed or writing transaction, a server that refuses a second
connection) the statements run on the caller's own connection when their rows are asked
for: the same rows, only later.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Executable
from sqlalchemy.exc import DBAPIError

from annexa.store.db import fetch_tuples

Rows = list[tuple[Any, ...]]

# The form PostgreSQL gives snapshot ids (00000003-0000001B-1): checked before the id is
# written into SET TRANSACTION SNAPSHOT, a utility statement that takes no parameters.
_SNAPSHOT_ID = re.compile(r"[0-9A-F]+-[0-9A-F]+(-[0-9]+)?")
_ONE_SNAPSHOT_LEVELS = ("repeatable read", "serializable")


@contextmanager
def fetched_alongside(
    connection: Connection, statements: Sequence[Executable]
) -> Iterator[Callable[[], list[Rows]]]:
    """Start fetching ``statements``; the yielded function returns their rows, in order.

    Leaving the block always waits for the second connection and hands it back.
    """
    fetch = _SideFetch(connection, statements)
    fetch.start()
    try:
        yield fetch.result
    finally:
        fetch.join()


class _SideFetch:
    def __init__(self, connection: Connection, statements: Sequence[Executable]) -> None:
        self._connection = connection
        self._statements = tuple(statements)
        self._thread: threading.Thread | None = None
        self._rows: list[Rows] | None = None
        self._error: BaseException | None = None

    def start(self) -> None:
        snapshot = self._shareable_snapshot()
        if snapshot is None:
            return
        self._thread = threading.Thread(
            target=self._run, args=(snapshot,), name="annexa-fetch-alongside", daemon=True
        )
        self._thread.start()

    def _shareable_snapshot(self) -> str | None:
        if self._connection.dialect.name != "postgresql":
            return None
        snapshot, level, written = self._connection.exec_driver_sql(
            "SELECT pg_export_snapshot(), current_setting('transaction_isolation'),"
            " txid_current_if_assigned()"
        ).one()
        if level not in _ONE_SNAPSHOT_LEVELS or written is not None:
            return None
        return snapshot if _SNAPSHOT_ID.fullmatch(snapshot or "") else None

    def _run(self, snapshot: str) -> None:
        try:
            options = {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
            with self._connection.engine.connect().execution_options(**options) as side:
                side.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
                self._rows = [fetch_tuples(side, statement) for statement in self._statements]
                side.rollback()
        except BaseException as exc:  # raised in the caller's thread, or fallen back from
            self._error = exc

    def join(self) -> None:
        if self._thread is not None:
            self._thread.join()

    def result(self) -> list[Rows]:
        self.join()
        if self._error is not None and not isinstance(self._error, DBAPIError):
            raise self._error
        if self._rows is not None:
            return self._rows
        # Not started, or the second connection failed (too many connections, say): the
        # caller's own connection holds the same snapshot and gives the same rows.
        return [fetch_tuples(self._connection, statement) for statement in self._statements]
