"""The catalog API: frameworks (built-in and imported), cross-framework mappings, imports."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Row, select

from annexa.catalog.cache import builtin_framework_views
from annexa.catalog.models import Framework, MappingSet
from annexa.errors import Conflict, NotFound
from annexa.store.tables import custom_framework

# The YAML reader and the pydantic schema load when something is parsed or validated:
# reading the built-in frameworks from the cache (most commands) needs neither.
if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from annexa.catalog.schema import FrameworkDoc, MappingDoc

# Frameworks whose Annex A is the subject of a Statement of Applicability.
SOA_FRAMEWORKS: tuple[str, ...] = ("iso27001-2022", "iso42001-2023")

# Reading a mapping backwards swaps which side is the narrower one.
_INVERSE = {"equal": "equal", "subset": "superset", "superset": "subset", "intersect": "intersect"}


@cache
def _builtins() -> dict[str, Framework]:
    return builtin_framework_views()


def _validate(model: type[Any], data: Any, source: str) -> Any:
    from annexa.catalog.loader import validate_document

    return validate_document(model, data, source)


def _key(framework_id: str) -> str:
    return (framework_id or "").strip().lower()


def _custom_row(session: Connection | Session, org_id: int, framework_id: str) -> Row[Any] | None:
    return session.execute(
        select(custom_framework).where(
            custom_framework.c.org_id == org_id, custom_framework.c.framework_id == framework_id
        )
    ).first()


def _from_row(row: Row[Any]) -> Framework:
    from annexa.catalog.schema import FrameworkDoc

    doc = _validate(FrameworkDoc, row.document, f"imported framework {row.framework_id}")
    return Framework.from_doc(doc, builtin=False, source_format=row.source_format)


def get_framework(
    framework_id: str, session: Connection | Session | None = None, org_id: int | None = None
) -> Framework:
    """A built-in framework, or one the organisation imported (when session and org given)."""
    key = _key(framework_id)
    found = _builtins().get(key)
    if found is not None:
        return found
    if session is not None and org_id is not None:
        row = _custom_row(session, org_id, key)
        if row is not None:
            return _from_row(row)
    raise NotFound(
        f"unknown framework {framework_id!r}",
        field="framework",
        fix="see `annexa catalog list`",
    )


def list_frameworks(
    session: Connection | Session | None = None, org_id: int | None = None
) -> list[Framework]:
    """Built-ins first (SoA frameworks leading), then the organisation's imports by id."""
    builtins = sorted(
        _builtins().values(),
        key=lambda f: (f.id not in SOA_FRAMEWORKS, f.id),
    )
    if session is None or org_id is None:
        return builtins
    rows = session.execute(
        select(custom_framework)
        .where(custom_framework.c.org_id == org_id)
        .order_by(custom_framework.c.framework_id)
    )
    return builtins + [_from_row(row) for row in rows]


def list_mappings() -> list[MappingSet]:
    from annexa.catalog.loader import builtin_mappings

    return [
        MappingSet(doc.source, doc.target, doc.description, len(doc.mappings))
        for doc in builtin_mappings().values()
    ]


def _mapping_between(source_fw: str, target_fw: str) -> tuple[MappingDoc, bool]:
    """The mapping set and whether it is stored in the asked direction."""
    from annexa.catalog.loader import builtin_mappings

    mappings = builtin_mappings()
    if (source_fw, target_fw) in mappings:
        return mappings[(source_fw, target_fw)], True
    if (target_fw, source_fw) in mappings:
        return mappings[(target_fw, source_fw)], False
    raise NotFound(
        f"no mapping between {source_fw} and {target_fw}",
        field="framework",
        fix="see `annexa catalog mappings` for the available mapping sets",
    )


def map_requirement(source_fw: str, target_fw: str, ref: str) -> list[tuple[str, str]]:
    """``(target_ref, relationship)`` pairs for one requirement, in either direction.

    The relationship always describes the requirement asked about (in ``source_fw``)
    relative to each target. An empty list means the requirement exists but nothing maps.
    """
    source = get_framework(source_fw)
    target = get_framework(target_fw)
    doc, forward = _mapping_between(source.id, target.id)
    wanted = source.requirement(ref).ref
    if forward:
        for entry in doc.mappings:
            if entry.source == wanted:
                return [(t.ref, t.relationship) for t in entry.targets]
        return []
    pairs = [
        (entry.source, _INVERSE[t.relationship])
        for entry in doc.mappings
        for t in entry.targets
        if t.ref == wanted
    ]
    order = {r.ref: index for index, r in enumerate(target.requirements)}
    return sorted(pairs, key=lambda pair: order.get(pair[0], len(order)))


def _read_document(path: str | Path, framework_id: str | None) -> tuple[FrameworkDoc, str]:
    from annexa.catalog.loader import read_yaml_file

    return _document_of(read_yaml_file(path), Path(path).name, framework_id)


def _document_of(data: Any, name: str, framework_id: str | None) -> tuple[FrameworkDoc, str]:
    from annexa.catalog import ciso_assistant
    from annexa.catalog.schema import FrameworkDoc

    if ciso_assistant.is_ciso_assistant(data):
        converted = ciso_assistant.convert(data, framework_id)
        return _validate(FrameworkDoc, converted, name), "ciso-assistant"
    if isinstance(data, dict) and framework_id:
        data = {**data, "id": framework_id}
    return _validate(FrameworkDoc, data, name), "annexa"


def import_framework(
    session: Session, org_id: int, path: str | Path, *, framework_id: str | None = None
) -> Framework:
    """Import a framework file (our format or a CISO Assistant library) for one organisation.

    Everything is checked before the row is added, so a failed import writes nothing.
    ``framework_id`` overrides the id in the file (handy when it clashes).
    """
    doc, source_format = _read_document(path, _key(framework_id) if framework_id else None)
    return _store_import(session, org_id, doc, source_format)


def import_framework_text(
    session: Session,
    org_id: int,
    text: str,
    *,
    framework_id: str | None = None,
    source: str = "the framework",
    field: str = "yaml",
) -> Framework:
    """:func:`import_framework` of YAML (or JSON) text rather than a file: the API's import.
    ``source`` names the text in error messages, ``field`` in a YAML syntax error."""
    from annexa.catalog.loader import parse_yaml

    data = parse_yaml(text, source, field)
    doc, source_format = _document_of(data, source, _key(framework_id) if framework_id else None)
    return _store_import(session, org_id, doc, source_format)


def _store_import(
    session: Session, org_id: int, doc: FrameworkDoc, source_format: str
) -> Framework:
    if doc.id in _builtins():
        raise Conflict(
            f"{doc.id!r} is a built-in framework",
            field="id",
            fix="give the imported framework another id (`id:` in the file or --id)",
        )
    if _custom_row(session, org_id, doc.id) is not None:
        raise Conflict(
            f"framework {doc.id!r} was already imported",
            field="id",
            fix="give it another id (`id:` in the file or --id)",
        )
    from annexa.store.models import CustomFramework  # writes go through the ORM (audit log)

    row = CustomFramework(
        org_id=org_id,
        framework_id=doc.id,
        source_format=source_format,
        document=doc.model_dump(mode="json"),
    )
    session.add(row)
    session.flush()
    return Framework.from_doc(doc, builtin=False, source_format=source_format)


def validate_import_file(path: str | Path) -> Framework:
    """Check a file as :func:`import_framework` would, without a database."""
    doc, source_format = _read_document(path, None)
    return Framework.from_doc(doc, builtin=False, source_format=source_format)
