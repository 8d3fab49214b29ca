"""The vault's entries in the Annexa database, per organisation (SQLite and PostgreSQL).

:class:`DatabaseStore` works inside the caller's transaction (a connection, e.g. a
session's): the entries a redaction creates commit with it or not at all. Placeholder
numbers come from one counter row per organisation and entity type, incremented by an
upsert that locks the row, so they are unique across processes; a value vaulted by two
transactions at once is stored once (the unique index on the digest: the loser takes the
winner's placeholder).

Locks are taken in one order, so concurrent redactions on PostgreSQL cannot deadlock:
existing entries (to push their expiry, or to replace an expired one) by id, then counters
by entity type, then the new entries. Rows are written with Core statements, which the
audit log's ORM hooks do not see; the tables are also excluded from it by name.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from sqlalchemy import Connection, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from annexa.errors import StoreUnavailable
from annexa.guard.keys import org_key
from annexa.guard.vault import Item, Vault
from annexa.store.models import GuardVaultCounter, GuardVaultEntry

ENTRY = GuardVaultEntry.__table__
COUNTER = GuardVaultCounter.__table__
CHUNK = 500  # placeholders per IN (...) list
ATTEMPTS = 5
# An entry's expiry is pushed only when it would gain more than this (a tenth of the
# time-to-live, at most a minute): a value repeated in every prompt does not rewrite (and,
# on PostgreSQL, lock) its row on every call.
SLACK_MAX = 60.0


def _when(seconds: float) -> dt.datetime:
    """POSIX seconds as the naive UTC datetimes the schema stores."""
    return dt.datetime.fromtimestamp(seconds, dt.UTC).replace(tzinfo=None)


def _chunks(values: list[Any]) -> Iterable[list[Any]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


class DatabaseStore:
    """One organisation's vault entries, read and written through ``connection``."""

    def __init__(self, connection: Connection, org_id: int):
        self.connection = connection
        self.org_id = org_id
        name = connection.dialect.name
        self._insert = postgresql.insert if name == "postgresql" else sqlite.insert

    # -- writing ------------------------------------------------------------------

    def put_many(self, items: list[Item], now: float, expires: float) -> list[str]:
        by_digest: dict[bytes, tuple[str, Callable[[str], bytes]]] = {}
        for kind, digest, seal in items:
            by_digest.setdefault(digest, (kind, seal))
        found = self._existing(list(by_digest), now, expires)
        for _ in range(ATTEMPTS):
            missing = [d for d in by_digest if d not in found]
            if not missing:
                return [found[digest] for _, digest, _ in items]
            found.update(self._insert_new(missing, by_digest, now, expires))
        raise StoreUnavailable(
            "could not store the vault entries (concurrent writers kept conflicting)",
            fix="try again",
        )

    def _existing(self, digests: list[bytes], now: float, expires: float) -> dict[bytes, str]:
        """Live entries for these digests (their expiry pushed); expired ones deleted."""
        rows = []
        for chunk in _chunks(digests):
            rows += self.connection.execute(
                select(ENTRY.c.id, ENTRY.c.digest, ENTRY.c.placeholder, ENTRY.c.expires_at).where(
                    ENTRY.c.org_id == self.org_id, ENTRY.c.digest.in_(chunk)
                )
            ).all()
        now_at, expires_at = _when(now), _when(expires)
        slack = dt.timedelta(seconds=min(SLACK_MAX, (expires - now) / 10))
        found = {}
        for row in sorted(rows, key=lambda r: r.id):  # one lock order for every writer
            if row.expires_at >= now_at:
                if row.expires_at + slack < expires_at:
                    pushed = self.connection.execute(
                        update(ENTRY)
                        .where(ENTRY.c.id == row.id, ENTRY.c.expires_at >= now_at)
                        .values(expires_at=expires_at)
                    )
                    if not pushed.rowcount:  # purged meanwhile: issue a new one
                        continue
                found[bytes(row.digest)] = row.placeholder
            else:
                self.connection.execute(
                    delete(ENTRY).where(ENTRY.c.id == row.id, ENTRY.c.expires_at < now_at)
                )
        return found

    def _insert_new(
        self,
        digests: list[bytes],
        by_digest: dict[bytes, tuple[str, Callable[[str], bytes]]],
        now: float,
        expires: float,
    ) -> dict[bytes, str]:
        """Number and insert entries for these digests, kind by kind (counters locked in
        name order, rows inserted in digest order); a digest another transaction stored
        meanwhile takes that transaction's placeholder."""
        kinds: dict[str, list[bytes]] = {}
        for digest in digests:  # numbered in the order of the text …
            kinds.setdefault(by_digest[digest][0], []).append(digest)
        created_at, expires_at = _when(now), _when(expires)
        found: dict[bytes, str] = {}
        for kind in sorted(kinds):
            group = kinds[kind]
            last = self._allocate(kind, len(group))
            rows = []
            for number, digest in enumerate(group, start=last - len(group) + 1):
                placeholder = f"<{kind}_{number}>"
                rows.append(
                    {
                        "org_id": self.org_id,
                        "placeholder": placeholder,
                        "entity_type": kind,
                        "digest": digest,
                        "sealed": by_digest[digest][1](placeholder),
                        "created_at": created_at,
                        "expires_at": expires_at,
                    }
                )
            rows.sort(key=lambda row: row["digest"])  # … inserted in one order for all
            for chunk in _chunks(rows):
                for digest, placeholder in self.connection.execute(
                    self._insert(ENTRY)
                    .values(chunk)
                    .on_conflict_do_nothing()
                    .returning(ENTRY.c.digest, ENTRY.c.placeholder)
                ):
                    found[bytes(digest)] = placeholder
            lost = [d for d in group if d not in found]
            if lost:  # stored by a concurrent writer (now committed): use theirs when live
                for digest, placeholder in self._live(
                    ENTRY.c.digest, ENTRY.c.placeholder, lost, created_at
                ):
                    found[bytes(digest)] = placeholder
        return found

    def _allocate(self, kind: str, count: int) -> int:
        """Reserve ``count`` numbers for ``kind``; returns the last one. The upsert locks the
        counter row until the transaction ends: numbers are unique across writers."""
        statement = self._insert(COUNTER).values(
            org_id=self.org_id, entity_type=kind, last_number=count
        )
        statement = statement.on_conflict_do_update(
            index_elements=[COUNTER.c.org_id, COUNTER.c.entity_type],
            set_={"last_number": COUNTER.c.last_number + count},
        ).returning(COUNTER.c.last_number)
        return int(self.connection.execute(statement).scalar_one())

    # -- reading, purging -----------------------------------------------------------

    def sealed(self, placeholders: Iterable[str], now: float) -> dict[str, bytes]:
        wanted = sorted(set(placeholders))
        live = self._live(ENTRY.c.placeholder, ENTRY.c.sealed, wanted, _when(now))
        return {placeholder: bytes(sealed) for placeholder, sealed in live}

    def _live(
        self, key: Any, value: Any, wanted: list[Any], at: dt.datetime
    ) -> Iterator[tuple[Any, Any]]:
        """``(key, value)`` of this organisation's entries whose ``key`` is one of
        ``wanted`` and that have not expired at ``at``, a chunk of keys per query."""
        for chunk in _chunks(wanted):
            yield from self.connection.execute(
                select(key, value).where(
                    ENTRY.c.org_id == self.org_id, key.in_(chunk), ENTRY.c.expires_at >= at
                )
            )

    def purge(self, now: float) -> int:
        return purge_expired(self.connection, now, org_id=self.org_id)

    def count(self) -> int:
        return int(
            self.connection.scalar(
                select(func.count()).select_from(ENTRY).where(ENTRY.c.org_id == self.org_id)
            )
            or 0
        )


def purge_expired(connection: Connection, now: float, *, org_id: int | None = None) -> int:
    """Delete expired entries (of one organisation, or of all); returns how many. Counters
    stay: a number is never issued twice, so an old placeholder in a kept transcript can
    never restore someone else's value."""
    statement = delete(ENTRY).where(ENTRY.c.expires_at < _when(now))
    if org_id is not None:
        statement = statement.where(ENTRY.c.org_id == org_id)
    return int(connection.execute(statement).rowcount or 0)


def organisation_vault(
    connection: Connection,
    org_id: int,
    master_key: bytes,
    *,
    ttl: float = 3600.0,
    clock: Callable[[], float] = time.time,
) -> Vault:
    """The organisation's persistent vault: its derived key, its entries in the database."""
    return Vault(
        org_key(master_key, org_id, "vault"),
        ttl=ttl,
        clock=clock,
        store=DatabaseStore(connection, org_id),
    )
