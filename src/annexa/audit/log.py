"""The audit log: events appended in the transaction of the change they describe.

:func:`annexa.audit.hooks.install` hooks a session factory (this module loads on the first
flush): ``after_flush`` turns every created, updated and
deleted ORM object into an event description (field-level before/after, sensitive fields
redacted), and ``before_commit`` appends the transaction's events to the log under the
lock of the single ``audit_head`` row: sequence numbers are assigned there, so they are
gap-free and in commit order even with concurrent writers on PostgreSQL. Bulk Core
statements, which the ORM does not see, call :func:`record_event` themselves.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import itertools
import operator
import re
import sqlite3
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Connection, insert, inspect, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import NO_VALUE, instance_state

from annexa.audit import cascades, merkle
from annexa.audit.canonical import canonical_bytes, digest_of, jsonable
from annexa.audit.hooks import BEFORES, CASCADE, ORG_SLUGS, PENDING
from annexa.audit.keys import Checkpoint, Signer, Verifier, parse_checkpoint, sign_checkpoint
from annexa.store import models as m
from annexa.store.models import utcnow

EVENT_VERSION = 1
ACTIONS = ("create", "update", "delete")
AUDIT_TABLES = {"audit_event", "audit_node", "audit_head", "audit_checkpoint"}
# Never described by events, not even as digests, nor when an organisation's deletion
# cascades to them: the guard's vault holds sealed values of prompts and documents, kept
# for their time-to-live only. An append-only log would keep forever what the purge
# deletes (placeholder, entity type and timing per value, and a stable keyed digest per
# value, enough to link prompts that held the same value); the entries are the guard's
# working data, not records of the ISMS. (The vault writes with Core statements, which
# the ORM hooks do not see; this also covers any ORM use.)
UNAUDITED_TABLES = {"guard_vault_entry", "guard_vault_counter"}
# Never stored in an event: the SHA-256 of the canonical value is recorded instead.
SENSITIVE = re.compile(
    r"password|passwd|passphrase|secret|token|api_?key|private_?key|key_material|"
    r"credential|content",
    re.IGNORECASE,
)
# The event carries its own time; a browser session's last activity is refreshed while
# someone reads pages and is no change to the ISMS (its sign-in and sign-out are events);
# a risk's register document is the rest of its row again, written by the database.
SKIPPED_FIELDS = {"updated_at", "last_seen_at", "listing"}

# The human id of a record, where one exists: made from the row's values in memory (a
# mapping of attribute key to value; a missing key means "not known", and no ref).
REFS: dict[type, Callable[[Any], Any]] = {
    m.Organisation: lambda o: o["slug"],
    m.ScopeItem: lambda o: f"{o['kind']}:{o['name']}",
    m.ContextIssue: lambda o: o["title"],
    m.InterestedParty: lambda o: o["name"],
    m.Supplier: lambda o: o["name"],
    m.Asset: lambda o: o["name"],
    m.AISystem: lambda o: o["name"],
    m.Risk: lambda o: o["ref"],
    m.RiskControl: lambda o: f"{o['framework']}:{o['ref']}",
    m.SoaEntry: lambda o: f"{o['framework']}:{o['ref']}",
    m.SoaVersion: lambda o: f"{o['framework']}:v{o['number']}",
    m.CustomFramework: lambda o: o["framework_id"],
    m.User: lambda o: o["email"],
    m.Membership: lambda o: f"user:{o['user_id']}",
    m.ApiToken: lambda o: o["prefix"],
    m.WebSession: lambda o: f"user:{o['user_id']}:{o['method']}",
    m.OidcProvider: lambda o: o["issuer"],
    m.UserIdentity: lambda o: f"user:{o['user_id']}",
}


def new_request_id() -> str:
    return uuid.uuid4().hex


# --- describing changes --------------------------------------------------------------


def _value(key: str, value: Any) -> Any:
    if value is None:
        return None
    if SENSITIVE.search(key):
        return digest_of(value)
    return jsonable(value)


def _loaded(state: Any, key: str) -> Any:
    value = state.attrs[key].loaded_value
    return None if value is NO_VALUE else value


class _Attributes:
    """An object's attributes as a mapping (loading them if need be), for :data:`REFS`."""

    __slots__ = ("obj",)

    def __init__(self, obj: Any) -> None:
        self.obj = obj

    def __getitem__(self, key: str) -> Any:
        return getattr(self.obj, key)


def _item_label(obj: Any) -> Any:
    make = REFS.get(type(obj))
    if make is not None:
        return make(_Attributes(obj))
    return inspect(obj).identity[0] if inspect(obj).identity else None


@dataclass(frozen=True, slots=True)
class _Plan:
    """What describing a mapper's rows needs, worked out once per mapper: the per-row
    work is then dictionary lookups only."""

    audited: bool
    table: str
    columns: tuple[tuple[str, bool], ...]  # (attribute key, sensitive?), audited columns
    plain: tuple[str, ...]  # the keys of the columns recorded as they are …
    sensitive: tuple[str, ...]  # … and of those recorded as a digest
    primary_key: tuple[str, ...]
    links: tuple[Any, ...]  # many-to-many relationships
    make_ref: Callable[[Any], Any] | None
    is_organisation: bool


_PLANS: dict[Any, _Plan] = {}


def _plan(mapper: Any) -> _Plan:
    plan = _PLANS.get(mapper)
    if plan is None:
        table = str(mapper.local_table.name)  # a plain str: drivers adapt a subclass slowly
        columns = tuple(
            (p.key, bool(SENSITIVE.search(p.key)))
            for p in mapper.column_attrs
            if p.key not in SKIPPED_FIELDS
        )
        plan = _Plan(
            audited=table not in AUDIT_TABLES and table not in UNAUDITED_TABLES,
            table=table,
            columns=columns,
            plain=tuple(key for key, sensitive in columns if not sensitive),
            sensitive=tuple(key for key, sensitive in columns if sensitive),
            primary_key=tuple(c.key for c in mapper.primary_key),
            links=tuple(rel for rel in mapper.relationships if rel.secondary is not None),
            make_ref=REFS.get(mapper.class_),
            is_organisation=issubclass(mapper.class_, m.Organisation),
        )
        _PLANS[mapper] = plan
    return plan


_UNRESOLVED = object()


def _org_slug(session: Session, org_id: int | None) -> str | Any | None:
    """The slug when known without a query; else a marker the append resolves in bulk."""
    if org_id is None:
        return None
    cache = session.info.get(ORG_SLUGS)
    if cache is None:
        cache = session.info[ORG_SLUGS] = {}
    slug = cache.get(org_id, _UNRESOLVED)
    if slug is _UNRESOLVED and org_id not in cache:
        # Remember misses too (as the marker): a batch of a thousand rows of one
        # organisation would otherwise look it up a thousand times; the append resolves
        # markers in bulk.
        key = inspect(m.Organisation).identity_key_from_primary_key([org_id])
        org = session.identity_map.get(key)
        if org is not None and "slug" in instance_state(org).dict:
            slug = org.slug
        cache[org_id] = slug
    return slug


# Values written into events as they are; anything else goes through jsonable().
_NATIVE = frozenset({str, int, bool})


def _describe(session: Session, state: Any, plan: _Plan, action: str) -> dict[str, Any] | None:
    values = state.dict  # only values already in memory: loading an expired attribute of
    # a deleted row fails, and loading any other would cost a query per row
    changes: dict[str, Any] = {}
    if action == "create":
        get = values.get
        for key in plan.plain:
            value = get(key)
            if value is not None:
                if value.__class__ not in _NATIVE:
                    value = jsonable(value)
                changes[key] = {"before": None, "after": value}
        for key in plan.sensitive:
            value = get(key)
            if value is not None:
                changes[key] = {"before": None, "after": digest_of(value)}
    elif action == "delete":
        for key, _ in plan.columns:
            value = _loaded(state, key)
            if value is not None:
                changes[key] = {"before": _value(key, value), "after": None}
    else:
        attrs = state.attrs
        befores = session.info.get(BEFORES, {}).get(id(state.obj()), {})
        for key, _ in plan.columns:
            hist = attrs[key].history
            if not hist.added and not hist.deleted:
                continue
            before = hist.deleted[0] if hist.deleted else befores.get(key)
            after = hist.added[0] if hist.added else None
            if before == after:
                continue
            changes[key] = {"before": _value(key, before), "after": _value(key, after)}
    # Many-to-many links (risk ↔ assets, AI system ↔ assets) live in association rows the
    # ORM writes itself: record them as a list field of the owning record.
    if plan.links and action != "delete":
        for rel in plan.links:
            hist = state.attrs[rel.key].history
            if not hist.added and not hist.deleted:
                continue
            before = sorted(map(str, map(_item_label, [*hist.unchanged, *hist.deleted])))
            after = sorted(map(str, map(_item_label, [*hist.unchanged, *hist.added])))
            if before != after:
                changes[rel.key] = {"before": before, "after": after}
    if not changes and action == "update":
        return None
    if action == "delete":
        identity = ",".join(map(str, state.identity or ()))
    else:
        identity = _identity(plan, values)
    described = _described(session, plan, action, identity, values, changes)
    cascade = session.info.get(CASCADE)
    if cascade is not None:
        cascaded = cascade.counts.get(id(state.obj()))
        if cascaded:
            described["cascaded"] = cascaded
    return described


def _identity(plan: _Plan, values: Any) -> str:
    if len(plan.primary_key) == 1:
        return str(values.get(plan.primary_key[0]))
    return ",".join(str(values.get(key)) for key in plan.primary_key)


def _described(
    session: Session,
    plan: _Plan,
    action: str,
    identity: str,
    values: Any,
    changes: dict[str, Any],
) -> dict[str, Any]:
    if plan.is_organisation:
        org_id = values.get("id")
        slug = values.get("slug")
        if org_id is not None and slug is not None:
            session.info.setdefault(ORG_SLUGS, {})[org_id] = slug
    else:
        org_id = values.get("org_id")
        slug = _org_slug(session, org_id) if org_id is not None else None
    ref = None
    if plan.make_ref is not None:
        try:
            ref = plan.make_ref(values)
        except KeyError:
            ref = None
    described = {
        "action": action,
        "type": plan.table,
        "id": identity,
        "ref": ref,
        "org_id": org_id,
        "changes": changes,
    }
    if slug is not _UNRESOLVED:
        described["org"] = slug
    return described


def _database_cascades(session: Session, cascade: cascades.Cascade) -> list[dict[str, Any]]:
    """Events for the rows the database deletes or nulls by itself in this flush."""
    found = []
    for mapper, values, (parent_type, parent_id) in cascade.deleted:
        plan = _plan(mapper)
        changes = {
            key: {"before": _value(key, values[key]), "after": None}
            for key, _ in plan.columns
            if values.get(key) is not None
        }
        described = _described(session, plan, "delete", _identity(plan, values), values, changes)
        described["cascaded_from"] = {"type": parent_type, "id": parent_id}
        found.append(described)
    for mapper, values, key in cascade.nulled:
        plan = _plan(mapper)
        changes = {key: {"before": _value(key, values[key]), "after": None}}
        found.append(_described(session, plan, "update", _identity(plan, values), values, changes))
    return found


def _audited(obj: Any) -> bool:
    return _plan(instance_state(obj).mapper).audited


def before_flush(session: Session, _context: Any, _instances: Any) -> None:
    _unknown_befores(session)
    if session.deleted:
        # What the database's ON DELETE rules will remove or null, found while it is
        # still there, so that every such row gets its own event.
        cascade = cascades.expand(session, lambda mapper: _plan(mapper).audited)
        if cascade is not None:
            session.info[CASCADE] = cascade


def _unknown_befores(session: Session) -> None:
    """Read the stored value of attributes that were set without being loaded first
    (e.g. after ``expire_all``): the ORM's history then lacks the value they replace."""
    befores = session.info.setdefault(BEFORES, {})
    for obj in session.dirty:
        if not _audited(obj):
            continue
        state = inspect(obj)
        if state.key is None:
            continue
        keys = [
            prop.key
            for prop in state.mapper.column_attrs
            if prop.key not in SKIPPED_FIELDS
            and state.committed_state.get(prop.key, None) is NO_VALUE
        ]
        if not keys:
            continue
        mapper = state.mapper
        columns = [mapper.columns[k] for k in keys]
        where = [col == value for col, value in zip(mapper.primary_key, state.key[1], strict=True)]
        row = session.connection().execute(select(*columns).where(*where)).first()
        if row is not None:
            befores[id(obj)] = dict(zip(keys, row, strict=True))


def _by_type_and_id(described: dict[str, Any]) -> tuple[str, str]:
    return described["type"], described["id"]


def after_flush(session: Session, _context: Any) -> None:
    pending = session.info.setdefault(PENDING, [])
    for objects, action in (
        (session.new, "create"),
        (session.dirty, "update"),
        (session.deleted, "delete"),
    ):
        found = []
        for obj in list(objects):
            state = instance_state(obj)
            plan = _plan(state.mapper)
            if plan.audited:
                described = _describe(session, state, plan, action)
                if described is not None:
                    found.append(described)
        found.sort(key=_by_type_and_id)
        pending.extend(found)
    cascade = session.info.pop(CASCADE, None)
    if cascade is not None:
        pending.extend(_database_cascades(session, cascade))
    session.info.pop(BEFORES, None)


def before_commit(session: Session) -> None:
    session.flush()
    pending = session.info.pop(PENDING, None)
    if pending:
        append(
            session.connection(),
            pending,
            actor=session.info.get("actor") or "unknown",
            request_id=session.info.get("request_id") or new_request_id(),
        )


def record_event(
    session: Session,
    *,
    action: str,
    object_type: str,
    object_id: Any,
    changes: dict[str, tuple[Any, Any]],
    ref: str | None = None,
    org_id: int | None = None,
) -> None:
    """Record a change made by a Core statement the ORM did not see (bulk updates).

    ``changes`` maps a field to ``(before, after)``; the event is appended at commit.
    """
    if action not in ACTIONS:
        raise ValueError(f"action must be one of {ACTIONS}")
    session.flush()  # earlier ORM changes come first in the log
    slug = _org_slug(session, org_id)
    session.info.setdefault(PENDING, []).append(
        {
            "action": action,
            "type": object_type,
            "id": str(object_id),
            "ref": ref,
            "org_id": org_id,
            "changes": {
                key: {"before": _value(key, before), "after": _value(key, after)}
                for key, (before, after) in changes.items()
            },
        }
    )
    if slug is not _UNRESOLVED:
        session.info[PENDING][-1]["org"] = slug


# --- appending -----------------------------------------------------------------------


_HEAD_COLUMNS = "size, frontier FROM audit_head WHERE id = 1"
_EVENT_INSERT = (
    "INSERT INTO audit_event (seq, recorded_at, org_id, org_slug, actor, action, object_type,"
    " object_id, object_ref, request_id, body) VALUES "
)
_EVENT_WIDTH = 11
_NODE_INSERT = "INSERT INTO audit_node (level, idx, hash) VALUES "
_NODE_WIDTH = 3
_HEAD_UPDATE = (
    "UPDATE audit_head SET size = {p}, frontier = {p}, updated_at = {p} WHERE id = 1 AND size = {p}"
)
# Rows per INSERT statement on SQLite. Multi-row VALUES beat executemany's row-by-row
# steps by a quarter of the write time of a batch; past a few hundred rows it no longer
# matters, and SQLite caps the parameters of one statement (999 before 3.32).
_ROWS_PER_INSERT = 500


def _sql(connection: Connection, template: str) -> str:
    # Plain driver SQL: appends run once per commit, and building SQLAlchemy statements
    # each time cost more than the inserts themselves.
    return template.format(p=_placeholder(connection))


def _placeholder(connection: Connection) -> str:
    return "?" if connection.dialect.paramstyle == "qmark" else "%s"


@functools.lru_cache(maxsize=64)
def _values_sql(head: str, placeholder: str, width: int, count: int) -> str:
    row = "(" + ", ".join([placeholder] * width) + ")"
    return head + ", ".join([row] * count)


def _insert_rows(connection: Connection, head: str, width: int, values: list[Any]) -> None:
    """Rows of ``width`` values, given one after the other in ``values``, through
    ``head`` (an ``INSERT … VALUES`` prefix)."""
    placeholder = _placeholder(connection)
    if connection.dialect.name != "sqlite":
        # psycopg pipelines an executemany of one prepared statement; long VALUES
        # lists measured no faster there.
        rows = list(zip(*[iter(values)] * width, strict=True))
        connection.exec_driver_sql(_values_sql(head, placeholder, width, 1), rows)
        return
    limit = _variable_limit(connection)
    step = max(1, min(_ROWS_PER_INSERT, limit // width)) * width
    for start in range(0, len(values), step):
        part = tuple(values[start : start + step])
        connection.exec_driver_sql(_values_sql(head, placeholder, width, len(part) // width), part)


def _variable_limit(connection: Connection) -> int:
    """How many ``?`` one SQLite statement may hold."""
    driver = connection.connection.driver_connection
    getlimit = getattr(driver, "getlimit", None)  # Python 3.11's sqlite3; not every build
    if getlimit is not None:
        return int(getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))
    # The compiled-in default: 32,766 since SQLite 3.32, 999 before.
    return 32_766 if connection.dialect.server_version_info >= (3, 32, 0) else 999


def _db_time(connection: Connection, when: dt.datetime) -> Any:
    if connection.dialect.name == "sqlite":  # SQLAlchemy's SQLite DateTime storage format
        return when.strftime("%Y-%m-%d %H:%M:%S.%f")
    return when


def _lock_head(connection: Connection) -> tuple[int, list[bytes]]:
    lock = "" if connection.dialect.name == "sqlite" else " FOR UPDATE"
    size, frontier = connection.exec_driver_sql(f"SELECT {_HEAD_COLUMNS}{lock}").one()
    return int(size), merkle.unpack(bytes(frontier))


def _resolve_slugs(connection: Connection, described: list[dict[str, Any]]) -> None:
    wanted = sorted(
        {d["org_id"] for d in described if "org" not in d and d.get("org_id") is not None}
    )
    found: dict[int, str] = {}
    if wanted:
        # Driver SQL: the SQLAlchemy statement cost more than the query, once per commit.
        terms = ", ".join([_placeholder(connection)] * len(wanted))
        sql = f"SELECT id, slug FROM {m.Organisation.__table__.name} WHERE id IN ({terms})"  # noqa: S608
        found = dict(connection.exec_driver_sql(sql, tuple(wanted)).all())
    for d in described:
        if "org" not in d:
            d["org"] = found.get(d.get("org_id"))  # type: ignore[arg-type]


class _Rows:
    """The rows an append writes, as flat lists of column values (the form multi-row
    INSERTs take): events, and the tree nodes the append completes, level by level."""

    __slots__ = ("events", "levels")

    def __init__(self) -> None:
        self.events: list[Any] = []  # _EVENT_WIDTH values an event
        self.levels: list[list[Any]] = [[]]  # per level: (level, index, hash) a node

    def add(
        self,
        bodies: Iterable[dict[str, Any]],
        size: int,
        frontier: list[bytes],
        common: dict[str, Any],
        when: Any,
    ) -> int:
        """Number, serialise and hash ``bodies`` (updated in place with ``common`` and
        their ``seq``) in one pass; returns the new tree size.

        The tree step is :func:`merkle.append_leaf` written out (no call and no list per
        event). The nodes of each level come in index order, and are written level by
        level, so the primary key index takes them in order.
        """
        events, levels = self.events, self.levels
        leaves = levels[0]
        sha256 = hashlib.sha256
        for body in bodies:
            body.update(common)
            body["seq"] = size
            data = canonical_bytes(body)
            h = sha256(b"\x00" + data).digest()
            leaves += (0, size, h)
            level, index = 0, size
            while index & 1:
                h = sha256(b"\x01" + frontier.pop() + h).digest()
                level += 1
                index >>= 1
                if level < len(levels):
                    levels[level] += (level, index, h)
                else:
                    levels.append([level, index, h])
            frontier.append(h)
            events += (
                size,
                when,
                body.get("org_id"),
                body.get("org"),
                body["actor"],
                body["action"],
                body["type"],
                body["id"],
                body.get("ref"),
                body["request_id"],
                data,
            )
            size += 1
        return size

    def write(self, connection: Connection) -> None:
        if self.events:
            _insert_rows(connection, _EVENT_INSERT, _EVENT_WIDTH, self.events)
            nodes = list(itertools.chain.from_iterable(self.levels))
            _insert_rows(connection, _NODE_INSERT, _NODE_WIDTH, nodes)
        self.events, self.levels = [], [[]]


def append(
    connection: Connection,
    described: list[dict[str, Any]],
    *,
    actor: str,
    request_id: str,
    when: dt.datetime | None = None,
) -> tuple[int, int]:
    """Append events; returns (first sequence number, new tree size).

    The descriptions become the event bodies (updated in place).
    """
    when = when or utcnow()
    common = {
        "v": EVENT_VERSION,
        "time": when.isoformat(timespec="microseconds") + "Z",
        "actor": actor,
        "request_id": request_id,
    }
    stored_when = _db_time(connection, when)
    _resolve_slugs(connection, described)
    size, frontier = _lock_head(connection)
    first = size
    rows = _Rows()
    size = rows.add(described, size, frontier, common, stored_when)
    rows.write(connection)
    _move_head(connection, first, size, frontier, stored_when)
    return first, size


def _move_head(
    connection: Connection, old_size: int, size: int, frontier: list[bytes], when: Any
) -> None:
    moved = connection.exec_driver_sql(
        _sql(connection, _HEAD_UPDATE), (size, merkle.pack(frontier), when, old_size)
    )
    if moved.rowcount != 1:
        raise RuntimeError("the audit log head moved during the append")


def bulk_append_bodies(
    connection: Connection, bodies: Iterable[dict[str, Any]], chunk: int = 20000
) -> int:
    """Append ready event bodies fast (benchmarks, imports): same bytes, same tree.

    Each body gets its ``seq``; the caller's dictionaries are left as they are.
    """
    size, frontier = _lock_head(connection)
    start = size
    when = _db_time(connection, utcnow())
    rows = _Rows()
    batch: list[dict[str, Any]] = []
    for body in bodies:
        batch.append(dict(body))
        if len(batch) >= chunk:
            size = rows.add(batch, size, frontier, {}, when)
            rows.write(connection)
            batch = []
    size = rows.add(batch, size, frontier, {}, when)
    rows.write(connection)
    _move_head(connection, start, size, frontier, when)
    return size


# --- reading -------------------------------------------------------------------------


def tree_head(connection: Connection) -> tuple[int, bytes]:
    row = connection.execute(
        select(m.AuditHead.size, m.AuditHead.frontier).where(m.AuditHead.id == 1)
    ).one()
    return int(row.size), merkle.root_of(merkle.unpack(row.frontier))


def _lookup(connection: Connection, keys: set[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    if not keys:
        return {}
    # One driver statement of primary-key probes: both backends answer each
    # ``(level = ? AND idx = ?)`` term from the primary key index.
    ordered = sorted(keys)
    terms = " OR ".join(["(level = {p} AND idx = {p})"] * len(ordered))
    sql = _sql(connection, "SELECT level, idx, hash FROM audit_node WHERE " + terms)  # noqa: S608 - placeholders only
    rows = connection.exec_driver_sql(sql, tuple(v for key in ordered for v in key)).all()
    found = {(int(level), int(idx)): bytes(h) for level, idx, h in rows}
    missing = keys - found.keys()
    if missing:
        raise LookupError(f"the audit tree lacks node(s) {sorted(missing)[:3]}")
    return found


def inclusion_proof(connection: Connection, index: int, size: int) -> tuple[bytes, list[bytes]]:
    """The leaf hash of event ``index`` and its inclusion path in the tree of ``size``."""
    ranges = merkle.inclusion_ranges(index, size)
    found = _lookup(connection, merkle.nodes_needed(ranges) | {(0, index)})
    return found[(0, index)], merkle.hashes_for(ranges, found.__getitem__)


def consistency_proof(connection: Connection, first: int, second: int) -> list[bytes]:
    ranges = merkle.consistency_ranges(first, second)
    found = _lookup(connection, merkle.nodes_needed(ranges))
    return merkle.hashes_for(ranges, found.__getitem__)


def root_at(connection: Connection, size: int) -> bytes:
    if size == 0:
        return merkle.EMPTY_ROOT
    ranges = [(0, size)]
    found = _lookup(connection, merkle.nodes_needed(ranges))
    return merkle.hashes_for(ranges, found.__getitem__)[0]


# --- checkpoints ---------------------------------------------------------------------


def latest_checkpoint(connection: Connection) -> m.AuditCheckpoint | None:
    row = connection.execute(
        select(m.AuditCheckpoint.__table__).order_by(
            m.AuditCheckpoint.tree_size.desc(), m.AuditCheckpoint.id.desc()
        )
    ).first()
    return row  # type: ignore[return-value]


def issue_checkpoint(connection: Connection, signer: Signer) -> str:
    """Sign the current tree head unless the newest checkpoint already covers it."""
    size, frontier = _lock_head(connection)
    latest = latest_checkpoint(connection)
    if latest is not None and latest.tree_size == size:
        return latest.note
    root = merkle.root_of(frontier)
    note = sign_checkpoint(signer, size, root)
    connection.execute(
        insert(m.AuditCheckpoint).values(
            tree_size=size, root_hash=root, issued_at=utcnow(), note=note
        )
    )
    return note


# --- verification --------------------------------------------------------------------

EVENT_COLUMNS = (
    ("org_id", "org_id"),
    ("org_slug", "org"),
    ("actor", "actor"),
    ("action", "action"),
    ("object_type", "type"),
    ("object_id", "id"),
    ("object_ref", "ref"),
    ("request_id", "request_id"),
)


@dataclass
class Verification:
    events: int = 0
    checkpoints: int = 0
    root: bytes = merkle.EMPTY_ROOT
    problem: str | None = None
    held: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.problem is None


class _StoredTree:
    """The stored interior nodes, read as verification reaches them: per level in index
    order, ``chunk`` nodes a query, so memory stays small at any size. Plain DBAPI
    fetches: a million SQLAlchemy rows cost more than the query."""

    def __init__(self, connection: Connection, chunk: int = 8192) -> None:
        self.connection = connection
        self.chunk = chunk
        self.sql = _sql(
            connection,
            "SELECT idx, hash FROM audit_node WHERE level = {p} AND idx >= {p} AND idx < {p}",
        )
        self.read: dict[int, tuple[int, dict[int, bytes]]] = {}  # level: (end, hashes)

    def get(self, level: int, index: int) -> bytes | None:
        read = self.read.get(level)
        if read is None or index >= read[0]:
            end = index + self.chunk
            cursor = self.connection.connection.cursor()  # in the connection's transaction
            try:
                cursor.execute(self.sql, (level, index, end))
                hashes = {i: bytes(h) for i, h in cursor.fetchall()}
            finally:
                cursor.close()
            read = self.read[level] = (end, hashes)
        return read[1].get(index)


def _column_problem(row: Any, body: dict[str, Any]) -> str | None:
    for offset, (column, key) in enumerate(EVENT_COLUMNS, start=3):
        value = row[offset]
        if value != body.get(key) and not (column == "object_id" and str(body.get(key)) == value):
            return f"column {column} does not match its body (edited)"
    return None


def _node_problem(level: int, index: int, stored: bytes | None) -> str:
    first, last = index << level, ((index + 1) << level) - 1
    node = f"the stored tree node at level {level}, index {index} (events {first}-{last})"
    if stored is None:
        return f"{node} is missing"
    return f"{node} does not match the events (edited)"


def _extra_node(connection: Connection, size: int) -> tuple[int, int] | None:
    """A stored node outside the tree of ``size`` leaves, if any.

    Verification has found every node of that tree (level ``l`` holds indexes below
    ``size >> l``) and the primary key makes them unique, so one count tells whether
    there is anything else; only then are the levels searched for it.
    """
    expected = sum(size >> level for level in range(size.bit_length()))
    count = connection.exec_driver_sql("SELECT count(*) FROM audit_node").scalar()
    if count == expected:
        return None
    levels = connection.exec_driver_sql("SELECT DISTINCT level FROM audit_node").scalars()
    outside = _sql(
        connection,
        "SELECT min(idx) FROM audit_node WHERE level = {p} AND (idx < 0 OR idx >= {p})",
    )
    for level in sorted(int(level) for level in levels):
        found = connection.exec_driver_sql(
            outside, (level, size >> level if level >= 0 else 0)
        ).scalar()
        if found is not None:
            return level, int(found)
    return None  # pragma: no cover - the count said otherwise


def verify_log(
    connection: Connection, verifier: Verifier | None, held: list[Checkpoint] | None = None
) -> Verification:
    """Recompute the tree from the events and hold every checkpoint against it.

    Stops at the first problem, which names the event or checkpoint concerned.
    """
    result = Verification()
    held = held or []
    stored = connection.execute(
        select(m.AuditCheckpoint.id, m.AuditCheckpoint.tree_size, m.AuditCheckpoint.note).order_by(
            m.AuditCheckpoint.tree_size, m.AuditCheckpoint.id
        )
    ).all()
    wanted = {int(size) for _, size, _ in stored} | {c.size for c in held}
    roots: dict[int, bytes] = {0: merkle.EMPTY_ROOT}
    frontier: list[bytes] = []
    size = 0
    node = m.AuditNode
    ev = m.AuditEvent
    query = (
        select(
            ev.seq,
            ev.body,
            node.hash,
            *(getattr(ev, column) for column, _ in EVENT_COLUMNS),
        )
        .outerjoin(node, (node.level == 0) & (node.idx == ev.seq))
        .order_by(ev.seq)
    )
    loads, sha256 = orjson.loads, hashlib.sha256
    copies = operator.itemgetter(*(key for _, key in EVENT_COLUMNS))
    tree = _StoredTree(connection)
    result_rows = connection.execution_options(stream_results=True, yield_per=10000).execute(query)
    for rows in result_rows.partitions():
        for row in rows:
            seq = row[0]
            if seq != size:
                result.problem = (
                    f"event {size} is missing (the next stored event is {seq})"
                    if seq > size
                    else f"event {seq} appears out of order"
                )
                return result
            data = bytes(row[1])
            try:
                body = loads(data)
            except orjson.JSONDecodeError:
                result.problem = f"event {seq}: its body is not valid JSON (edited)"
                return result
            if body.get("seq") != seq:
                result.problem = (
                    f"event {seq}: its body says sequence {body.get('seq')}"
                    " (reordered or rewritten)"
                )
                return result
            try:
                copied = row[3:] == copies(body)
            except KeyError:
                copied = False
            if not copied:
                problem = _column_problem(row, body)
                if problem is not None:
                    result.problem = f"event {seq}: {problem}"
                    return result
            # The tree step of merkle.append_leaf, written out so that every stored node
            # it completes is compared with the recomputed one on the way.
            h = sha256(b"\x00" + data).digest()
            if row[2] is None:
                result.problem = f"event {seq}: its leaf hash is missing from the stored tree"
                return result
            if row[2] != h:
                result.problem = f"event {seq}: its hash does not match the stored tree (edited)"
                return result
            level, index = 0, size
            while index & 1:
                h = sha256(b"\x01" + frontier.pop() + h).digest()
                level += 1
                index >>= 1
                stored_node = tree.get(level, index)
                if stored_node != h:
                    result.problem = _node_problem(level, index, stored_node)
                    return result
            frontier.append(h)
            size += 1
            if size in wanted:
                roots[size] = merkle.root_of(frontier)
    result.events = size
    result.root = merkle.root_of(frontier)
    head_size, head_root = tree_head(connection)
    if head_size != size:
        result.problem = (
            f"the log holds {size} events but its head records {head_size}: "
            + (
                "events after {size} were deleted (truncated)"
                if head_size > size
                else "events were added outside the log"
            )
        ).format(size=size)
        return result
    if head_root != result.root:
        result.problem = "the recorded tree head does not match the events (rewritten)"
        return result
    extra = _extra_node(connection, size)
    if extra is not None:
        result.problem = (
            f"the stored tree holds a node no event accounts for (level {extra[0]}, "
            f"index {extra[1]}): added outside the log"
        )
        return result
    for checkpoint_id, tree_size, note in stored:
        label = f"checkpoint #{checkpoint_id} (size {tree_size})"
        problem = _check_checkpoint(note, verifier, roots, size, label, int(tree_size))
        if problem:
            result.problem = problem
            return result
        result.checkpoints += 1
    for checkpoint in held:
        label = f"the held checkpoint (size {checkpoint.size})"
        if verifier is not None and not checkpoint.signed_by(verifier):
            result.problem = f"{label}: not signed by this log's key"
            return result
        if checkpoint.size > size:
            result.problem = f"{label}: the log now holds only {size} events (truncated)"
            return result
        if roots[checkpoint.size] != checkpoint.root:
            result.problem = (
                f"{label}: the log does not extend it; history before event "
                f"{checkpoint.size} was rewritten"
            )
            return result
        if 0 < checkpoint.size < size:
            proof = consistency_proof(connection, checkpoint.size, size)
            if not merkle.verify_consistency(
                checkpoint.size, size, checkpoint.root, result.root, proof
            ):
                result.problem = f"{label}: the stored tree gives no valid consistency proof"
                return result
        result.held.append(f"size {checkpoint.size}")
    return result


def _check_checkpoint(
    note: str,
    verifier: Verifier | None,
    roots: dict[int, bytes],
    size: int,
    label: str,
    column_size: int,
) -> str | None:
    try:
        checkpoint = parse_checkpoint(note)
    except ValueError as exc:
        return f"{label}: malformed ({exc})"
    if checkpoint.size != column_size:
        return f"{label}: its note says size {checkpoint.size}"
    if verifier is not None:
        if checkpoint.origin != verifier.name:
            return f"{label}: origin {checkpoint.origin!r} is not this log's"
        if not checkpoint.signed_by(verifier):
            return f"{label}: signature does not verify with this log's key"
    if checkpoint.size > size:
        return f"{label}: the log holds only {size} events (truncated)"
    if roots.get(checkpoint.size) != checkpoint.root:
        return f"{label}: root hash does not match the events (history rewritten)"
    return None
