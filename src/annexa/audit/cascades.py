"""What the database changes by itself when a row is deleted, found before it happens.

Foreign keys declared ``ON DELETE CASCADE`` or ``SET NULL`` let the database remove or
update rows the ORM never sees, so they would leave no event. Before each flush that
deletes something, :func:`expand` follows those keys from the deleted rows (breadth
first, a table at a time) and returns what will go with them:

* rows the database will delete: their values now, so each gets a ``delete`` event of its
  own (an organisation's deletion lists every record it takes with it);
* rows whose reference the database will null: ``update`` events;
* links in many-to-many tables: the owner's collection is changed through the ORM, so the
  owner's event records its new list of linked records, as for any other link change.

Rows the ORM deletes itself (relationship cascades) are left to the ORM.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Column, Table, select
from sqlalchemy.orm import Mapper, Session
from sqlalchemy.orm.attributes import instance_state

from annexa.store import models as m

_CHUNK = 500  # ids per IN list: far below every backend's parameter limit


@dataclass(frozen=True, slots=True)
class _ForeignKey:
    table: Table  # the referring table
    column: Column[Any]  # its referring column
    ondelete: str


@dataclass(frozen=True, slots=True)
class _Link:
    """A many-to-many relationship whose association table refers to a deleted row."""

    owner: Mapper[Any]
    key: str  # the owner's collection attribute
    owner_column: Column[Any]
    target_column: Column[Any]


@dataclass(slots=True)
class Cascade:
    """What one flush's deletions take with them in the database."""

    # (mapper, values by attribute key, (type, id) of the row whose deletion removes it)
    deleted: list[tuple[Mapper[Any], dict[str, Any], tuple[str, str]]] = field(default_factory=list)
    # (mapper, values by attribute key, attribute key the database sets to NULL)
    nulled: list[tuple[Mapper[Any], dict[str, Any], str]] = field(default_factory=list)
    # per deleted ORM object (by id()): rows removed with it, per table
    counts: dict[int, dict[str, int]] = field(default_factory=dict)


@functools.cache
def _mappers() -> dict[str, Mapper[Any]]:
    return {str(mp.local_table.name): mp for mp in m.Base.registry.mappers}


@functools.cache
def _links() -> dict[str, list[_Link]]:
    """Association tables (by name) and the relationships that write them."""
    found: dict[str, list[_Link]] = defaultdict(list)
    for mapper in m.Base.registry.mappers:
        for rel in mapper.relationships:
            if rel.secondary is None:
                continue
            owner_column = next(iter(rel.synchronize_pairs))[1]
            target_column = next(iter(rel.secondary_synchronize_pairs))[1]
            found[str(rel.secondary.name)].append(
                _Link(mapper, rel.key, owner_column, target_column)
            )
    return dict(found)


@functools.cache
def _referrers() -> dict[str, list[_ForeignKey]]:
    """For each table, the foreign keys of other tables that point at it."""
    found: dict[str, list[_ForeignKey]] = defaultdict(list)
    for table in m.Base.metadata.sorted_tables:
        for fk in table.foreign_keys:
            ondelete = (fk.ondelete or "").upper()
            if ondelete in ("CASCADE", "SET NULL"):
                found[str(fk.column.table.name)].append(_ForeignKey(table, fk.parent, ondelete))
    return dict(found)


def _chunks(ids: Iterable[Any]) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for ident in ids:
        batch.append(ident)
        if len(batch) == _CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


def _referring_rows(connection: Any, ref: _ForeignKey, ids: Iterable[Any]) -> Iterator[Any]:
    """The rows of ``ref.table`` whose foreign key holds one of ``ids``, in batches."""
    for batch in _chunks(ids):
        yield from connection.execute(select(ref.table).where(ref.column.in_(batch))).mappings()


def _key(row: Any, columns: list[Column[Any]]) -> Any:
    """A row's primary key: the value, or a tuple of values for a composite key."""
    if len(columns) == 1:
        return row[columns[0]]
    return tuple(row[c] for c in columns)


def _attribute_values(mapper: Mapper[Any], row: Any) -> dict[str, Any]:
    return {
        mapper.get_property_by_column(column).key: row[column]
        for column in mapper.local_table.columns
    }


def expand(session: Session, audited: Any) -> Cascade | None:
    """Follow ``ON DELETE`` rules from the rows this flush deletes (``audited(mapper)``
    says which tables are logged). Links are changed in the session; the rest is returned."""
    seeds = [o for o in session.deleted if audited(instance_state(o).mapper)]
    if not seeds:
        return None
    referrers, links, mappers = _referrers(), _links(), _mappers()
    gone: dict[str, set[Any]] = defaultdict(set)  # table → ids deleted in this flush
    frontier: dict[str, dict[Any, Any]] = defaultdict(dict)  # table → {id: counting key}
    orm_deleted: dict[tuple[str, Any], Any] = {}
    for obj in seeds:
        state = instance_state(obj)
        if state.identity is None or len(state.identity) != 1:
            continue
        table = str(state.mapper.local_table.name)
        gone[table].add(state.identity[0])
        frontier[table][state.identity[0]] = id(obj)
        orm_deleted[table, state.identity[0]] = obj
    cascade = Cascade()
    connection = session.connection()
    nullable: list[tuple[_ForeignKey, set[Any]]] = []
    unlinked: list[tuple[str, str, set[Any]]] = []
    while frontier:
        table, ids = frontier.popitem()
        for ref in referrers.get(table, ()):
            child = str(ref.table.name)
            if child in links:
                unlinked.append((child, table, set(ids)))
                continue
            if ref.ondelete == "SET NULL":
                nullable.append((ref, set(ids)))
                continue
            mapper = mappers.get(child)
            if mapper is None or not audited(mapper):
                continue
            key_columns = list(mapper.local_table.primary_key.columns)
            for row in _referring_rows(connection, ref, ids):
                ident = _key(row, key_columns)
                if ident in gone[child]:
                    continue
                gone[child].add(ident)
                parent_id = row[ref.column]
                root = ids[parent_id]
                frontier[child][ident] = root
                counts = cascade.counts.setdefault(root, {})
                counts[child] = counts.get(child, 0) + 1
                cascade.deleted.append(
                    (mapper, _attribute_values(mapper, row), (table, str(parent_id)))
                )
    for ref, ids in nullable:
        _null_references(session, connection, ref, ids, gone, cascade)
    for association, table, ids in unlinked:
        _unlink(session, association, table, ids, gone, orm_deleted)
    return cascade


def _null_references(
    session: Session,
    connection: Any,
    ref: _ForeignKey,
    ids: set[Any],
    gone: dict[str, set[Any]],
    cascade: Cascade,
) -> None:
    child = str(ref.table.name)
    mapper = _mappers().get(child)
    if mapper is None:
        return
    key_columns = list(mapper.local_table.primary_key.columns)
    attribute = mapper.get_property_by_column(ref.column).key
    for row in _referring_rows(connection, ref, ids):
        if _key(row, key_columns) in gone[child]:
            continue
        loaded = session.identity_map.get(
            mapper.identity_key_from_primary_key([row[c] for c in key_columns])
        )
        if loaded is not None:
            # In the session: let the ORM write the NULL, so the object in memory and its
            # event agree.
            setattr(loaded, attribute, None)
        else:
            cascade.nulled.append((mapper, _attribute_values(mapper, row), attribute))


def _unlink(
    session: Session,
    association: str,
    table: str,
    ids: set[Any],
    gone: dict[str, set[Any]],
    orm_deleted: dict[tuple[str, Any], Any],
) -> None:
    """Take deleted rows of ``table`` out of the collections that link to them through
    ``association``; links whose owner is deleted go with the owner."""
    for link in _links()[association]:
        if not any(str(fk.column.table.name) == table for fk in link.target_column.foreign_keys):
            continue  # the deleted rows own these links
        owner_table = str(link.owner.local_table.name)
        target_class = link.owner.relationships[link.key].mapper.class_
        for batch in _chunks(sorted(ids)):
            pairs = session.connection().execute(
                select(link.owner_column, link.target_column).where(link.target_column.in_(batch))
            )
            with session.no_autoflush:
                for owner_id, target_id in pairs.all():
                    if owner_id in gone[owner_table]:
                        continue  # the owner goes too: its links go with it
                    owner = session.get(link.owner.class_, owner_id)
                    target = orm_deleted.get((table, target_id)) or session.get(
                        target_class, target_id
                    )
                    collection = getattr(owner, link.key)
                    if target in collection:
                        collection.remove(target)
