"""The pydantic schema of catalog documents: one framework per file, one mapping set per file.

Checks that need only one document (unique refs, known groups, slug ids) live here; checks
that need two documents (do a mapping's refs exist in both frameworks?) live in the loader.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

SLUG_PATTERN = r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$"

RequirementKind = Literal["clause", "control", "criterion", "article"]
KINDS: tuple[str, ...] = ("clause", "control", "criterion", "article")

Relationship = Literal["equal", "subset", "superset", "intersect"]
RELATIONSHIPS: tuple[str, ...] = ("equal", "subset", "superset", "intersect")

# Requirement refs end up in ``String(32)`` columns (risk_control.ref, soa_entry.ref).
MAX_REF_LENGTH = 32


class DocumentIssue(ValueError):
    """A cross-field problem that knows the path of the offending field.

    Pydantic keeps the original exception in ``error["ctx"]["error"]``, which lets
    :func:`first_issue` report ``requirements[3].ref`` instead of the document root.
    """

    def __init__(self, path: str, message: str, fix: str):
        super().__init__(message)
        self.path = path
        self.fix = fix


class _Strict(BaseModel):
    # Unknown keys are almost always typos (``titel:``); refusing them beats ignoring them.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class GroupDoc(_Strict):
    id: str = Field(min_length=1, max_length=64)
    title: str = Field(min_length=1, max_length=200)


class RequirementDoc(_Strict):
    ref: str = Field(min_length=1, max_length=MAX_REF_LENGTH)
    title: str = Field(min_length=1, max_length=300)
    kind: RequirementKind
    group: str = Field(min_length=1, max_length=64)
    new_in_2022: bool = False
    description: str | None = None


class FrameworkDoc(_Strict):
    id: str = Field(pattern=SLUG_PATTERN, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    version: str = Field(min_length=1, max_length=64)
    publisher: str = Field(min_length=1, max_length=200)
    description: str = ""
    groups: list[GroupDoc] = Field(min_length=1)
    requirements: list[RequirementDoc] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> FrameworkDoc:
        group_ids: set[str] = set()
        for index, group in enumerate(self.groups):
            if group.id in group_ids:
                raise DocumentIssue(
                    f"groups[{index}].id",
                    f"duplicate group id {group.id!r}",
                    "give every group its own id",
                )
            group_ids.add(group.id)
        # Refs are looked up case-insensitively, so they must be unique that way too.
        seen: set[str] = set()
        for index, requirement in enumerate(self.requirements):
            key = requirement.ref.casefold()
            if key in seen:
                raise DocumentIssue(
                    f"requirements[{index}].ref",
                    f"duplicate ref {requirement.ref!r}",
                    "give every requirement its own ref",
                )
            seen.add(key)
            if requirement.group not in group_ids:
                raise DocumentIssue(
                    f"requirements[{index}].group",
                    f"group {requirement.group!r} is not declared in groups",
                    "add it to groups or use one of: " + ", ".join(sorted(group_ids)),
                )
        return self


class TargetDoc(_Strict):
    ref: str = Field(min_length=1, max_length=MAX_REF_LENGTH)
    relationship: Relationship


class MappingEntryDoc(_Strict):
    source: str = Field(min_length=1, max_length=MAX_REF_LENGTH)
    targets: list[TargetDoc] = Field(min_length=1)


class MappingDoc(_Strict):
    """Links between two frameworks.

    ``relationship`` describes the SOURCE requirement relative to the TARGET one:
    ``equal`` same scope; ``subset`` the source is narrower than (covered by) the target;
    ``superset`` the source is wider; ``intersect`` they overlap only in part.
    """

    source: str = Field(pattern=SLUG_PATTERN, max_length=64)
    target: str = Field(pattern=SLUG_PATTERN, max_length=64)
    description: str = ""
    mappings: list[MappingEntryDoc] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> MappingDoc:
        if self.source == self.target:
            raise DocumentIssue("target", "must differ from source", "map between two frameworks")
        seen: set[str] = set()
        for index, entry in enumerate(self.mappings):
            if entry.source in seen:
                raise DocumentIssue(
                    f"mappings[{index}].source",
                    f"{entry.source!r} appears twice",
                    "list all targets of a source ref in one entry",
                )
            seen.add(entry.source)
            targets: set[str] = set()
            for t_index, target in enumerate(entry.targets):
                if target.ref in targets:
                    raise DocumentIssue(
                        f"mappings[{index}].targets[{t_index}].ref",
                        f"{target.ref!r} appears twice for {entry.source!r}",
                        "list each target once",
                    )
                targets.add(target.ref)
        return self


def _format_loc(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def _fix_for(error: dict[str, Any], path: str) -> str:
    kind = error.get("type", "")
    name = path.rsplit(".", 1)[-1] or "the field"
    if kind == "missing":
        return f"add `{name}`"
    if kind == "extra_forbidden":
        return f"remove `{name}` or check its spelling (see docs/catalog-format.md)"
    if kind == "literal_error":
        return f"use one of the allowed values for `{name}`"
    if kind == "string_pattern_mismatch":
        return "use lowercase letters, digits and hyphens, e.g. my-framework-2024"
    return "see docs/catalog-format.md for the expected format"


def first_issue(exc: ValidationError) -> tuple[str, str, str]:
    """``(field path, message, fix)`` for the first problem pydantic found."""
    error = exc.errors()[0]
    path = _format_loc(tuple(error.get("loc", ())))
    original = (error.get("ctx") or {}).get("error")
    if isinstance(original, DocumentIssue):
        path = f"{path}.{original.path}" if path else original.path
        return path, str(original), original.fix
    return path or "(document)", error.get("msg", "is invalid"), _fix_for(error, path)
