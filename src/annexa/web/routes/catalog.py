"""The catalog browser: frameworks, their requirements by group, and what a requirement
maps to in the other frameworks (:func:`annexa.catalog.map_requirement`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from annexa.catalog import (
    SOA_FRAMEWORKS,
    get_framework,
    list_frameworks,
    list_mappings,
    map_requirement,
)
from annexa.catalog.schema import KINDS
from annexa.errors import AnnexaError, InvalidInput
from annexa.web.deps import OrgPage, Reader
from annexa.web.export import column, table_response
from annexa.web.render import render

router = APIRouter(prefix="/o/{slug}/catalog")

COLUMNS = (
    column("Ref", "ref", 12),
    column("Title", "title", 60),
    column("Kind", "kind", 10),
    column("Group", "group", 14),
    column("Description", "description", 60),
)


@router.get("")
def catalog(page: Reader) -> Response:
    frameworks = [fw.summary() for fw in list_frameworks(page.session, page.org.id)]
    return render(
        page.request,
        "catalog.html",
        {
            "page": page,
            "nav": "catalog",
            "frameworks": frameworks,
            "mappings": list_mappings(),
            "soa_frameworks": SOA_FRAMEWORKS,
        },
    )


def _requirements(page: OrgPage, fw_id: str) -> tuple[Any, list[Any], dict[str, Any]]:
    framework = get_framework(fw_id, page.session, page.org.id)
    params = page.request.query_params
    groups = {g.id.casefold(): g.id for g in framework.groups}
    group = groups.get((params.get("group") or "").casefold())
    kind = params.get("kind") if params.get("kind") in KINDS else None
    q = (params.get("q") or "").strip()[:200] or None
    rows = framework.requirements
    if group:
        rows = [r for r in rows if r.group == group]
    if kind:
        rows = [r for r in rows if r.kind == kind]
    if q:
        needle = q.casefold()
        rows = [r for r in rows if needle in r.ref.casefold() or needle in r.title.casefold()]
    return framework, rows, {"group": group, "kind": kind, "q": q}


@router.get("/{fw}/export.{fmt}")
def export(page: Reader, fw: str, fmt: str) -> Response:
    if fmt not in ("csv", "xlsx"):
        raise InvalidInput(f"{fmt!r} is not an export format", field="format", fix="csv or xlsx")
    framework, rows, _ = _requirements(page, fw)
    return table_response(
        fmt, f"catalog-{framework.id}", framework.id, COLUMNS, [r.to_dict() for r in rows]
    )


@router.get("/{fw}")
def framework_page(page: Reader, fw: str) -> Response:
    framework, rows, filters = _requirements(page, fw)
    return render(
        page.request,
        "catalog_framework.html",
        {
            "page": page,
            "nav": "catalog",
            "framework": framework,
            "rows": rows,
            "filters": filters,
            "params": filters,
            "kinds": KINDS,
            "group_titles": {g.id: g.title for g in framework.groups},
        },
    )


@router.get("/{fw}/{ref}")
def requirement_page(page: Reader, fw: str, ref: str) -> Response:
    framework = get_framework(fw, page.session, page.org.id)
    requirement = framework.requirement(ref)
    targets = set()
    for mapping in list_mappings():
        if mapping.source == framework.id:
            targets.add(mapping.target)
        elif mapping.target == framework.id:
            targets.add(mapping.source)
    mapped = []
    for target_id in sorted(targets):
        target = get_framework(target_id)
        try:
            pairs = map_requirement(framework.id, target_id, requirement.ref)
        except AnnexaError:
            continue
        mapped.append(
            {
                "framework": target_id,
                "name": target.name,
                "targets": [
                    {"ref": t_ref, "relationship": rel, "title": target.requirement(t_ref).title}
                    for t_ref, rel in pairs
                ],
            }
        )
    groups = {g.id: g.title for g in framework.groups}
    return render(
        page.request,
        "catalog_requirement.html",
        {
            "page": page,
            "nav": "catalog",
            "framework": framework,
            "requirement": requirement,
            "group_title": groups.get(requirement.group, requirement.group),
            "mapped": mapped,
            "in_soa": framework.id in SOA_FRAMEWORKS and requirement.kind == "control",
        },
    )
