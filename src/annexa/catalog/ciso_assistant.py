"""Converting a CISO Assistant library file into our framework document.

A CISO Assistant library has a top-level ``urn`` and ``objects.framework`` holding a flat
list of ``requirement_nodes``; the tree is given by ``parent_urn``. Assessable nodes are
the requirements; the nearest non-assessable ancestor becomes the group.
"""

from __future__ import annotations

from typing import Any

from annexa.catalog.schema import MAX_REF_LENGTH
from annexa.errors import InvalidInput
from annexa.validation import slugify

NODES = "objects.framework.requirement_nodes"
FALLBACK_GROUP = ("general", "General")


def is_ciso_assistant(data: Any) -> bool:
    return (
        isinstance(data, dict)
        and "urn" in data
        and isinstance(data.get("objects"), dict)
        and "framework" in data["objects"]
    )


def _text(value: Any) -> str:
    return str(value).strip() if value is not None else ""


def _short(text: str, limit: int = 200) -> str:
    first = text.splitlines()[0].strip() if text else ""
    return first if len(first) <= limit else first[: limit - 1].rstrip() + "…"


def _required(node: dict[str, Any], key: str, path: str) -> str:
    value = _text(node.get(key))
    if not value:
        raise InvalidInput(
            f"is missing (CISO Assistant node {node.get('urn') or '?'})",
            field=f"{path}.{key}",
            fix=f"give the node a `{key}`",
        )
    return value


def _framework(data: dict[str, Any]) -> dict[str, Any]:
    framework = data["objects"]["framework"]
    if not isinstance(framework, dict):
        raise InvalidInput(
            "must be a mapping", field="objects.framework", fix="check the library file"
        )
    nodes = framework.get("requirement_nodes")
    if not isinstance(nodes, list) or not nodes:
        raise InvalidInput(
            "must be a non-empty list",
            field=NODES,
            fix="export the library with its requirement nodes",
        )
    return framework


def convert(data: dict[str, Any], framework_id: str | None = None) -> dict[str, Any]:
    """Our framework document (a plain dict, still to be validated) from a library."""
    framework = _framework(data)
    nodes_by_urn: dict[str, dict[str, Any]] = {}
    for index, node in enumerate(framework["requirement_nodes"]):
        path = f"{NODES}[{index}]"
        if not isinstance(node, dict):
            raise InvalidInput("must be a mapping", field=path, fix="check the library file")
        urn = _required(node, "urn", path).lower()
        if urn in nodes_by_urn:
            raise InvalidInput(
                f"duplicate urn {urn!r}", field=f"{path}.urn", fix="give every node its own urn"
            )
        nodes_by_urn[urn] = node

    groups: dict[str, str] = {}
    requirements: list[dict[str, Any]] = []
    seen_refs: set[str] = set()
    for index, node in enumerate(framework["requirement_nodes"]):
        if not node.get("assessable", False):
            continue
        path = f"{NODES}[{index}]"
        # Some libraries leave ref_id out of sub-requirements; the urn's tail is stable.
        ref = _text(node.get("ref_id")) or _text(node.get("urn")).rsplit(":", 1)[-1]
        if len(ref) > MAX_REF_LENGTH:
            raise InvalidInput(
                f"is longer than {MAX_REF_LENGTH} characters",
                field=f"{path}.ref_id",
                fix="shorten the ref_id",
            )
        if ref.casefold() in seen_refs:
            raise InvalidInput(
                f"duplicate ref_id {ref!r} among assessable nodes",
                field=f"{path}.ref_id",
                fix="give every assessable node its own ref_id",
            )
        seen_refs.add(ref.casefold())
        # Some libraries put the whole requirement in `description` and leave `name` out.
        title = _text(node.get("name")) or _short(_text(node.get("description")))
        if not title:
            raise InvalidInput(
                "is missing and there is no description to use instead",
                field=f"{path}.name",
                fix="give the node a `name`",
            )
        group_id, group_title = _group_of(node, nodes_by_urn, f"{path}.parent_urn")
        groups.setdefault(group_id, group_title)
        requirements.append(
            {
                "ref": ref,
                "title": title,
                "kind": "control",
                "group": group_id,
                "description": _text(node.get("description")) or None,
            }
        )
    if not requirements:
        raise InvalidInput(
            "has no assessable node",
            field=NODES,
            fix="mark the requirements with `assessable: true`",
        )
    name = _text(framework.get("name")) or _text(data.get("name"))
    return {
        "id": framework_id or slugify(_text(framework.get("ref_id")) or name or "imported"),
        "name": name or framework_id or "Imported framework",
        "version": _text(data.get("version")) or "1",
        "publisher": _text(data.get("provider")) or _text(data.get("packager")) or "unknown",
        "description": _text(framework.get("description")) or _text(data.get("description")),
        "groups": [{"id": gid, "title": title} for gid, title in groups.items()],
        "requirements": requirements,
    }


def _group_of(
    node: dict[str, Any], nodes_by_urn: dict[str, dict[str, Any]], path: str
) -> tuple[str, str]:
    seen: set[str] = set()
    parent_urn = _text(node.get("parent_urn")).lower()
    while parent_urn:
        if parent_urn in seen:
            raise InvalidInput("forms a cycle", field=path, fix="fix the parent_urn chain")
        seen.add(parent_urn)
        parent = nodes_by_urn.get(parent_urn)
        if parent is None:
            raise InvalidInput(
                f"names {parent_urn!r}, which is not a node of this framework",
                field=path,
                fix="point parent_urn at an existing node",
            )
        if not parent.get("assessable", False):
            ref_id = _text(parent.get("ref_id"))
            name = _text(parent.get("name"))
            group_id = (ref_id or name)[:64]
            if group_id:
                return group_id, (name or ref_id)[:200]
        parent_urn = _text(parent.get("parent_urn")).lower()
    return FALLBACK_GROUP
