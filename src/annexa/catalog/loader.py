"""Reading catalog YAML: the built-in data files (validated once, then cached) and user files."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from annexa.catalog.data import data_files
from annexa.catalog.schema import FrameworkDoc, MappingDoc, first_issue
from annexa.errors import InvalidInput

# The C loader is several times faster on the built-in files; fall back when libyaml is absent.
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

Doc = TypeVar("Doc", bound=BaseModel)


# Aliases let a few lines of YAML stand for billions of values ("billion laughs"); a
# document that expands beyond this many nodes is refused before anything walks it.
MAX_EXPANDED_NODES = 1_000_000


def _expanded_nodes(root: yaml.Node) -> int:
    """How many nodes the document holds once every alias is expanded (linear time:
    a node shared through aliases is counted once per use from a memo)."""
    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        if isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        else:
            sizes[id(node)] = 1
            continue
        if children_done:
            total = 1 + sum(sizes[id(child)] for child in children)
            sizes[id(node)] = min(total, MAX_EXPANDED_NODES + 1)
        else:
            stack.append((node, True))
            stack.extend((child, False) for child in children if id(child) not in sizes)
    return sizes[id(root)]


def parse_yaml(text: str, source: str, field: str = "file") -> Any:
    """Parse YAML text, turning syntax errors into one line naming the file and line."""
    try:
        if "*" in text:  # aliases: measure what they expand to first
            root = yaml.compose(text, Loader=_SafeLoader)
            if root is not None and _expanded_nodes(root) > MAX_EXPANDED_NODES:
                raise InvalidInput(
                    f"{source} expands to more than {MAX_EXPANDED_NODES:,} values through "
                    "YAML aliases",
                    field=field,
                    fix="write the values out, or use fewer nested aliases",
                )
        return yaml.load(text, Loader=_SafeLoader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InvalidInput(
            f"{source} is not valid YAML{where}: {problem}",
            field=field,
            fix="fix the YAML syntax (indentation, quotes, colons)",
        ) from exc


def read_yaml_file(path: str | Path) -> Any:
    file = Path(path)
    if not file.is_file():
        raise InvalidInput(
            f"no file at {str(file)!r}", field="file", fix="pass the path of a YAML file"
        )
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(
            f"cannot read {str(file)!r}: {exc}", field="file", fix="pass a UTF-8 YAML file"
        ) from exc
    return parse_yaml(text, file.name)


def validate_document(model: type[Doc], data: Any, source: str) -> Doc:
    """Validate ``data`` as ``model``; errors name the source, the field path and a fix."""
    if not isinstance(data, dict):
        raise InvalidInput(
            f"{source} must hold a YAML mapping at the top level",
            field="(document)",
            fix="start the file with `id:` (framework) or `source:` (mapping)",
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        path, message, fix = first_issue(exc)
        raise InvalidInput(f"{message} (in {source})", field=path, fix=fix) from exc


def check_mapping_refs(
    mapping: MappingDoc, source: FrameworkDoc, target: FrameworkDoc, origin: str
) -> None:
    """Every ref in a mapping set must exist in its framework, spelled exactly."""
    source_refs = {r.ref for r in source.requirements}
    target_refs = {r.ref for r in target.requirements}
    for index, entry in enumerate(mapping.mappings):
        if entry.source not in source_refs:
            raise InvalidInput(
                f"{entry.source!r} is not a requirement of {source.id} (in {origin})",
                field=f"mappings[{index}].source",
                fix=f"use a ref from `annexa catalog show {source.id}`",
            )
        for t_index, item in enumerate(entry.targets):
            if item.ref not in target_refs:
                raise InvalidInput(
                    f"{item.ref!r} is not a requirement of {target.id} (in {origin})",
                    field=f"mappings[{index}].targets[{t_index}].ref",
                    fix=f"use a ref from `annexa catalog show {target.id}`",
                )


@cache
def builtin_frameworks() -> dict[str, FrameworkDoc]:
    """The frameworks shipped with Annexa, by id, in file-name order."""
    frameworks: dict[str, FrameworkDoc] = {}
    for name, text in data_files("frameworks"):
        doc = validate_document(FrameworkDoc, parse_yaml(text, name), name)
        expected = name.rsplit("/", 1)[-1].rsplit(".", 1)[0]
        if doc.id != expected:
            # One framework per file, named after it, keeps the data folder browsable.
            raise InvalidInput(
                f"id {doc.id!r} does not match the file name (in {name})",
                field="id",
                fix=f"rename the file to {doc.id}.yaml or set id: {expected}",
            )
        if doc.id in frameworks:
            raise InvalidInput(f"duplicate framework id {doc.id!r} (in {name})", field="id")
        frameworks[doc.id] = doc
    return frameworks


@cache
def builtin_mappings() -> dict[tuple[str, str], MappingDoc]:
    """The mapping sets shipped with Annexa, by (source, target), refs checked."""
    frameworks = builtin_frameworks()
    mappings: dict[tuple[str, str], MappingDoc] = {}
    for name, text in data_files("mappings"):
        doc = validate_document(MappingDoc, parse_yaml(text, name), name)
        for field in ("source", "target"):
            if getattr(doc, field) not in frameworks:
                raise InvalidInput(
                    f"unknown framework {getattr(doc, field)!r} (in {name})",
                    field=field,
                    fix="use the id of a built-in framework",
                )
        key = (doc.source, doc.target)
        if key in mappings or key[::-1] in mappings:
            raise InvalidInput(
                f"a mapping set between {doc.source} and {doc.target} already exists (in {name})",
                field="source",
                fix="keep one file per pair of frameworks",
            )
        check_mapping_refs(doc, frameworks[doc.source], frameworks[doc.target], name)
        mappings[key] = doc
    return mappings
