"""The audit log: events appended in the transaction of the change they describe.

:func:`install` hooks a session factory: ``after_flush`` turns every created, updated and
deleted ORM object into an event description (field-level before/after, sensitive fields
redacted), and ``before_commit`` appends the transaction's events to the log under the
lock of the single ``audit_head`` row: sequence numbers are assigned there, so they are
gap-free and in commit order even with concurrent writers on PostgreSQL. Bulk Core
statements, which the ORM does not see, call :func:`record_event` themselves.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import orjson
from sqlalchemy import Connection, event, func, insert, inspect, select
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.attributes import NO_VALUE

from annexa.audit import merkle
from annexa.audit.canonical import canonical_bytes, digest_of, jsonable
from annexa.audit.keys import Checkpoint, Signer, Verifier, parse_checkpoint, sign_checkpoint
from annexa.store import models as m
from annexa.store.models import utcnow

EVENT_VERSION = 1
PENDING = "audit_pending"
ACTIONS = ("create", "update", "delete")
AUDIT_TABLES = {"audit_event", "audit_node", "audit_head", "audit_checkpoint"}
# Never stored in an event: the SHA-256 of the canonical value is recorded instead.
SENSITIVE = re.compile(
    r"password|passwd|passphrase|secret|token|api_?key|private_?key|key_material|"
    r"credential|content",
    re.IGNORECASE,
)
SKIPPED_FIELDS = {"updated_at"}  # the event carries its own time

# The human id of a record, where one exists.
REFS: dict[type, Any] = {
    m.Organisation: lambda o: o.slug,
    m.ScopeItem: lambda o: f"{o.kind}:{o.name}",
    m.ContextIssue: lambda o: o.title,
    m.InterestedParty: lambda o: o.name,
    m.Supplier: lambda o: o.name,
    m.Asset: lambda o: o.name,
    m.AISystem: lambda o: o.name,
    m.Risk: lambda o: o.ref,
    m.RiskControl: lambda o: f"{o.framework}:{o.ref}",
    m.SoaEntry: lambda o: f"{o.framework}:{o.ref}",
    m.SoaVersion: lambda o: f"{o.framework}:v{o.number}",
    m.CustomFramework: lambda o: o.framework_id,
    m.User: lambda o: o.email,
    m.Membership: lambda o: f"user:{o.user_id}",
    m.ApiToken: lambda o: o.prefix,
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


def _item_label(obj: Any) -> Any:
    make = REFS.get(type(obj))
    if make is not None:
        return make(obj)
    return inspect(obj).identity[0] if inspect(obj).identity else None


def _org_slug(session: Session, org_id: int | None) -> str | Any | None:
    """The slug when known without a query; else a marker the append resolves in bulk."""
    if org_id is None:
        return None
    cache = session.info.setdefault("audit_org_slugs", {})
    if org_id not in cache:
        # Remember misses too: a batch of a thousand rows of one organisation would
        # otherwise look it up a thousand times; the append resolves markers in bulk.
        unresolved = session.info.setdefault("audit_org_unresolved", set())
        if org_id in unresolved:
            return _UNRESOLVED
        key = inspect(m.Organisation).identity_key_from_primary_key([org_id])
        org = session.identity_map.get(key)
        if org is None or "slug" not in inspect(org).dict:
            unresolved.add(org_id)
            return _UNRESOLVED
        cache[org_id] = org.slug
    return cache[org_id]


_UNRESOLVED = object()


_COLUMN_KEYS: dict[Any, list[tuple[str, bool]]] = {}


_LINKS: dict[Any, list[Any]] = {}


def _link_relationships(mapper: Any) -> list[Any]:
    """A mapper's many-to-many relationships, worked out once."""
    found = _LINKS.get(mapper)
    if found is None:
        found = [rel for rel in mapper.relationships if rel.secondary is not None]
        _LINKS[mapper] = found
    return found


def _column_keys(mapper: Any) -> list[tuple[str, bool]]:
    """(attribute key, sensitive?) of a mapper's audited columns, worked out once."""
    found = _COLUMN_KEYS.get(mapper)
    if found is None:
        found = [
            (p.key, bool(SENSITIVE.search(p.key)))
            for p in mapper.column_attrs
            if p.key not in SKIPPED_FIELDS
        ]
        _COLUMN_KEYS[mapper] = found
    return found


def _describe(session: Session, obj: Any, action: str) -> dict[str, Any] | None:
    state = inspect(obj)
    mapper = state.mapper
    changes: dict[str, Any] = {}
    if action == "create":
        values = state.dict
        for key, sensitive in _column_keys(mapper):
            value = values.get(key)
            if value is None:
                continue
            if sensitive:
                value = digest_of(value)
            elif not isinstance(value, str | int):
                value = jsonable(value)
            changes[key] = {"before": None, "after": value}
    elif action == "delete":
        for key, _ in _column_keys(mapper):
            value = _loaded(state, key)
            if value is not None:
                changes[key] = {"before": _value(key, value), "after": None}
    else:
        for prop in [mapper.attrs[key] for key, _ in _column_keys(mapper)]:
            hist = state.attrs[prop.key].history
            if not hist.added and not hist.deleted:
                continue
            if hist.deleted:
                before = hist.deleted[0]
            else:
                before = session.info.get("audit_befores", {}).get(id(obj), {}).get(prop.key)
            after = hist.added[0] if hist.added else None
            if before == after:
                continue
            changes[prop.key] = {
                "before": _value(prop.key, before),
                "after": _value(prop.key, after),
            }
    # Many-to-many links (risk ↔ assets, AI system ↔ assets) live in association rows the
    # ORM writes itself: record them as a list field of the owning record.
    if action != "delete":
        for rel in _link_relationships(mapper):
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
        identity = state.identity or ()
    else:
        identity = tuple(state.dict.get(c.key) for c in mapper.primary_key)
    # Only values already in memory: loading an expired attribute of a deleted row fails.
    loaded = SimpleNamespace(**state.dict)
    if isinstance(obj, m.Organisation):
        org_id = getattr(loaded, "id", None)
        slug = getattr(loaded, "slug", None)
        if org_id is not None and slug is not None:
            session.info.setdefault("audit_org_slugs", {})[org_id] = slug
    else:
        org_id = getattr(loaded, "org_id", None)
        slug = _org_slug(session, org_id)
    make_ref = REFS.get(type(obj))
    ref = None
    if make_ref is not None:
        try:
            ref = make_ref(loaded)
        except AttributeError:
            ref = None
    described = {
        "action": action,
        "type": mapper.local_table.name,
        "id": ",".join(str(v) for v in identity),
        "ref": ref,
        "org_id": org_id,
        "org": slug,
        "changes": changes,
    }
    if slug is _UNRESOLVED:
        del described["org"]
    cascaded = session.info.get("audit_cascades", {}).get(id(obj))
    if cascaded:
        described["cascaded"] = cascaded
    return described


def _audited(obj: Any) -> bool:
    return inspect(obj).mapper.local_table.name not in AUDIT_TABLES


def _before_flush(session: Session, _context: Any, _instances: Any) -> None:
    _unknown_befores(session)
    # An organisation's deletion cascades in the database; count what goes with it while
    # it is still there, so its event says so.
    doomed = [o for o in session.deleted if isinstance(o, m.Organisation)]
    if not doomed:
        return
    cascades = session.info.setdefault("audit_cascades", {})
    connection = session.connection()
    for org in doomed:
        counts = {}
        for table in m.Base.metadata.sorted_tables:
            if "org_id" in table.c and table.name not in AUDIT_TABLES:
                count = connection.scalar(
                    select(func.count()).select_from(table).where(table.c.org_id == org.id)
                )
                if count:
                    counts[str(table.name)] = count
        cascades[id(org)] = counts


def _unknown_befores(session: Session) -> None:
    """Read the stored value of attributes that were set without being loaded first
    (e.g. after ``expire_all``): the ORM's history then lacks the value they replace."""
    befores = session.info.setdefault("audit_befores", {})
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


def _after_flush(session: Session, _context: Any) -> None:
    pending = session.info.setdefault(PENDING, [])
    for objects, action in (
        (session.new, "create"),
        (session.dirty, "update"),
        (session.deleted, "delete"),
    ):
        described = [_describe(session, o, action) for o in list(objects) if _audited(o)]
        found = [d for d in described if d is not None]
        found.sort(key=lambda d: (d["type"], d["id"]))
        pending.extend(found)
    session.info.pop("audit_befores", None)
    session.info.pop("audit_cascades", None)


def _before_commit(session: Session) -> None:
    session.flush()
    pending = session.info.pop(PENDING, None)
    if pending:
        append(
            session.connection(),
            pending,
            actor=session.info.get("actor") or "unknown",
            request_id=session.info.get("request_id") or new_request_id(),
        )


def _forget(session: Session, *_args: Any) -> None:
    session.info.pop(PENDING, None)
    session.info.pop("audit_cascades", None)
    session.info.pop("audit_befores", None)
    session.info.pop("audit_org_slugs", None)
    session.info.pop("audit_org_unresolved", None)


def _transaction_started(session: Session, transaction: Any) -> None:
    if transaction.nested:  # a savepoint: remember where its events start
        marks = session.info.setdefault("audit_savepoints", {})
        marks[id(transaction)] = len(session.info.get(PENDING, ()))


def _soft_rollback(session: Session, previous: Any) -> None:
    if previous.nested:  # the savepoint's changes are gone: so are their events
        mark = session.info.get("audit_savepoints", {}).pop(id(previous), None)
        pending = session.info.get(PENDING)
        if mark is not None and pending is not None:
            del pending[mark:]


def _transaction_ended(session: Session, transaction: Any) -> None:
    if transaction.parent is None and not transaction.nested:
        _forget(session)
        session.info.pop("audit_savepoints", None)


def install(factory: sessionmaker[Session]) -> None:
    event.listen(factory, "before_flush", _before_flush)
    event.listen(factory, "after_flush", _after_flush)
    event.listen(factory, "before_commit", _before_commit)
    event.listen(factory, "after_transaction_create", _transaction_started)
    event.listen(factory, "after_soft_rollback", _soft_rollback)
    event.listen(factory, "after_transaction_end", _transaction_ended)


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
    " object_id, object_ref, request_id, body) VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}, {p},"
    " {p}, {p}, {p})"
)
_NODE_INSERT = "INSERT INTO audit_node (level, idx, hash) VALUES ({p}, {p}, {p})"
_HEAD_UPDATE = (
    "UPDATE audit_head SET size = {p}, frontier = {p}, updated_at = {p} WHERE id = 1 AND size = {p}"
)


def _sql(connection: Connection, template: str) -> str:
    # Plain driver SQL: appends run once per commit, and building SQLAlchemy statements
    # each time cost more than the inserts themselves.
    return template.format(p="?" if connection.dialect.paramstyle == "qmark" else "%s")


def _db_time(connection: Connection, when: dt.datetime) -> Any:
    if connection.dialect.name == "sqlite":  # SQLAlchemy's SQLite DateTime storage format
        return when.strftime("%Y-%m-%d %H:%M:%S.%f")
    return when


def _lock_head(connection: Connection) -> tuple[int, list[bytes]]:
    lock = "" if connection.dialect.name == "sqlite" else " FOR UPDATE"
    size, frontier = connection.exec_driver_sql(f"SELECT {_HEAD_COLUMNS}{lock}").one()
    return int(size), merkle.unpack(bytes(frontier))


def _resolve_slugs(connection: Connection, described: list[dict[str, Any]]) -> None:
    wanted = {d["org_id"] for d in described if "org" not in d and d.get("org_id") is not None}
    found: dict[int, str] = {}
    if wanted:
        found = dict(
            connection.execute(
                select(m.Organisation.id, m.Organisation.slug).where(m.Organisation.id.in_(wanted))
            ).all()
        )
    for d in described:
        if "org" not in d:
            d["org"] = found.get(d.get("org_id"))  # type: ignore[arg-type]


def _event_row(body: dict[str, Any], data: bytes, when: Any) -> tuple[Any, ...]:
    return (
        body["seq"],
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


def append(
    connection: Connection,
    described: list[dict[str, Any]],
    *,
    actor: str,
    request_id: str,
    when: dt.datetime | None = None,
) -> tuple[int, int]:
    """Append events; returns (first sequence number, new tree size)."""
    when = when or utcnow()
    stamp = when.isoformat(timespec="microseconds") + "Z"
    stored_when = _db_time(connection, when)
    _resolve_slugs(connection, described)
    size, frontier = _lock_head(connection)
    first = size
    events, nodes = [], []
    leaf_hash, append_leaf = merkle.leaf_hash, merkle.append_leaf
    for item in described:
        body = {
            "v": EVENT_VERSION,
            "seq": size,
            "time": stamp,
            "actor": actor,
            "request_id": request_id,
            **item,
        }
        data = canonical_bytes(body)
        nodes.extend(append_leaf(frontier, size, leaf_hash(data)))
        events.append(_event_row(body, data, stored_when))
        size += 1
    _store(connection, events, nodes, first, size, frontier, stored_when)
    return first, size


def _store(
    connection: Connection,
    events: list[tuple[Any, ...]],
    nodes: list[tuple[int, int, bytes]],
    old_size: int,
    size: int,
    frontier: list[bytes],
    when: Any,
) -> None:
    if events:
        connection.exec_driver_sql(_sql(connection, _EVENT_INSERT), events)
        connection.exec_driver_sql(_sql(connection, _NODE_INSERT), nodes)
    moved = connection.exec_driver_sql(
        _sql(connection, _HEAD_UPDATE), (size, merkle.pack(frontier), when, old_size)
    )
    if moved.rowcount != 1:
        raise RuntimeError("the audit log head moved during the append")


def bulk_append_bodies(
    connection: Connection, bodies: Iterator[dict[str, Any]], chunk: int = 20000
) -> int:
    """Append ready event bodies fast (benchmarks, imports): same bytes, same tree."""
    size, frontier = _lock_head(connection)
    start = size
    when = _db_time(connection, utcnow())
    events: list[tuple[Any, ...]] = []
    nodes: list[tuple[int, int, bytes]] = []
    for body in bodies:
        body = {**body, "seq": size}
        data = canonical_bytes(body)
        nodes.extend(merkle.append_leaf(frontier, size, merkle.leaf_hash(data)))
        events.append(_event_row(body, data, when))
        size += 1
        if len(events) >= chunk:
            connection.exec_driver_sql(_sql(connection, _EVENT_INSERT), events)
            connection.exec_driver_sql(_sql(connection, _NODE_INSERT), nodes)
            events, nodes = [], []
    _store(connection, events, nodes, start, size, frontier, when)
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
    leaf_hash, append_leaf, loads = merkle.leaf_hash, merkle.append_leaf, orjson.loads
    result_rows = connection.execution_options(stream_results=True, yield_per=10000).execute(query)
    for row in result_rows:
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
                f"event {seq}: its body says sequence {body.get('seq')} (reordered or rewritten)"
            )
            return result
        for offset, (column, key) in enumerate(EVENT_COLUMNS, start=3):
            value = row[offset]
            if value != body.get(key) and not (
                column == "object_id" and str(body.get(key)) == value
            ):
                result.problem = f"event {seq}: column {column} does not match its body (edited)"
                return result
        leaf = leaf_hash(data)
        if row[2] is not None and bytes(row[2]) != leaf:
            result.problem = f"event {seq}: its hash does not match the stored tree (edited)"
            return result
        append_leaf(frontier, size, leaf)
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
