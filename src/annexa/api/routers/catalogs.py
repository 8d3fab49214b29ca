"""Frameworks, their requirements and cross-framework mappings (built-in catalogs)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from annexa.api.deps import Authenticated, Paging, page
from annexa.catalog import get_framework, list_frameworks, map_requirement
from annexa.catalog.schema import KINDS
from annexa.errors import InvalidInput, NotFound
from annexa.risk import list_threats

router = APIRouter(tags=["catalogs"])


@router.get("/catalogs", summary="Built-in frameworks")
def catalogs(caller: Authenticated, paging: Paging) -> dict[str, Any]:
    rows = [fw.summary() for fw in list_frameworks()]
    return page(rows, paging, ("id", "name"))


@router.get("/catalogs/{fw}", summary="One framework and its requirements")
def catalog(
    caller: Authenticated,
    fw: str,
    kind: Annotated[str | None, Query(max_length=32)] = None,
    group: Annotated[str | None, Query(max_length=64)] = None,
) -> dict[str, Any]:
    framework = get_framework(fw)
    requirements = framework.requirements
    if kind is not None:
        wanted = kind.strip().lower()
        if wanted not in KINDS:
            raise InvalidInput(
                f"unknown kind {kind!r}", field="kind", fix="use one of: " + ", ".join(KINDS)
            )
        requirements = [r for r in requirements if r.kind == wanted]
    if group is not None:
        try:
            group_id = framework.group(group).id
        except NotFound as exc:
            raise NotFound(exc.message, field="group", fix=exc.fix) from None
        requirements = [r for r in requirements if r.group == group_id]
    data: dict[str, Any] = framework.to_dict()
    data["requirements"] = [r.to_dict() for r in requirements]
    return data


@router.get("/catalogs/{fw}/map/{target}/{ref}", summary="What a requirement maps to")
def catalog_map(caller: Authenticated, fw: str, target: str, ref: str) -> dict[str, Any]:
    source_fw = get_framework(fw)
    target_fw = get_framework(target)
    requirement = source_fw.requirement(ref)
    pairs = map_requirement(source_fw.id, target_fw.id, requirement.ref)
    return {
        "source": {"framework": source_fw.id, "ref": requirement.ref, "title": requirement.title},
        "target_framework": target_fw.id,
        "targets": [
            {"ref": t_ref, "relationship": rel, "title": target_fw.requirement(t_ref).title}
            for t_ref, rel in pairs
        ],
    }


@router.get("/threats", summary="The threat library, with suggested controls")
def threats(
    caller: Authenticated,
    paging: Paging,
    category: Annotated[str | None, Query(max_length=32)] = None,
) -> dict[str, Any]:
    try:
        rows = [t.to_dict() for t in list_threats(category)]
    except InvalidInput as exc:
        raise InvalidInput(exc.message, field="category", fix=exc.fix) from None
    return page(rows, paging, ("id", "name", "category"))
