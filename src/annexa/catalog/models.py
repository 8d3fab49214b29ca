"""Read-only views of catalog content that the rest of Annexa codes against."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from annexa.errors import NotFound

if TYPE_CHECKING:  # the schema (pydantic) loads only when a document is validated
    from annexa.catalog.schema import FrameworkDoc


@dataclass(frozen=True)
class Requirement:
    ref: str
    title: str
    kind: str
    group: str
    new_in_2022: bool = False
    description: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "title": self.title,
            "kind": self.kind,
            "group": self.group,
            "new_in_2022": self.new_in_2022,
            "description": self.description,
        }


@dataclass(frozen=True)
class Group:
    id: str
    title: str


@dataclass(frozen=True)
class Framework:
    id: str
    name: str
    version: str
    publisher: str
    description: str
    groups: list[Group]
    requirements: list[Requirement]
    builtin: bool = True
    source_format: str = "annexa"
    _index: dict[str, Requirement] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {r.ref.casefold(): r for r in self.requirements})

    @classmethod
    def from_doc(
        cls, doc: FrameworkDoc, *, builtin: bool, source_format: str = "annexa"
    ) -> Framework:
        return cls(
            id=doc.id,
            name=doc.name,
            version=doc.version,
            publisher=doc.publisher,
            description=doc.description,
            groups=[Group(g.id, g.title) for g in doc.groups],
            requirements=[
                Requirement(
                    ref=r.ref,
                    title=r.title,
                    kind=r.kind,
                    group=r.group,
                    new_in_2022=r.new_in_2022,
                    description=r.description,
                )
                for r in doc.requirements
            ],
            builtin=builtin,
            source_format=source_format,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Framework:
        """The inverse of :meth:`to_dict`, for content validated before (the cache)."""
        return cls(
            id=data["id"],
            name=data["name"],
            version=data["version"],
            publisher=data["publisher"],
            description=data["description"],
            groups=[Group(g["id"], g["title"]) for g in data["groups"]],
            requirements=[Requirement(**r) for r in data["requirements"]],
            builtin=data["builtin"],
        )

    def find(self, ref: str) -> Requirement | None:
        """The requirement ``ref`` names, or None.

        Matching ignores case and surrounding space. An exact match wins; otherwise a ref
        without its ``A.`` prefix (``5.7``) finds ``A.5.7``. So in ISO/IEC 27001 ``5.1`` is
        clause 5.1 and ``A.5.1`` is the Annex A control.
        """
        key = (ref or "").strip().casefold()
        if not key:
            return None
        found = self._index.get(key)
        if found is None and not key.startswith("a."):
            found = self._index.get("a." + key)
        return found

    def requirement(self, ref: str) -> Requirement:
        found = self.find(ref)
        if found is None:
            raise NotFound(
                f"{self.id} has no requirement {ref!r}",
                field="ref",
                fix=f"see `annexa catalog show {self.id}` for its refs",
            )
        return found

    def has(self, ref: str) -> bool:
        return self.find(ref) is not None

    def controls(self) -> list[Requirement]:
        return [r for r in self.requirements if r.kind == "control"]

    def clauses(self) -> list[Requirement]:
        return [r for r in self.requirements if r.kind == "clause"]

    def group(self, group_id: str) -> Group:
        for group in self.groups:
            if group.id.casefold() == group_id.strip().casefold():
                return group
        raise NotFound(
            f"{self.id} has no group {group_id!r}",
            field="group",
            fix="use one of: " + ", ".join(g.id for g in self.groups),
        )

    def in_group(self, group_id: str) -> list[Requirement]:
        wanted = self.group(group_id).id
        return [r for r in self.requirements if r.group == wanted]

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "version": self.version,
            "requirements": len(self.requirements),
            "controls": len(self.controls()),
            "builtin": self.builtin,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "version": self.version,
            "publisher": self.publisher,
            "description": self.description,
            "builtin": self.builtin,
            "groups": [{"id": g.id, "title": g.title} for g in self.groups],
            "requirements": [r.to_dict() for r in self.requirements],
        }


@dataclass(frozen=True)
class MappingSet:
    """A built-in mapping file, summarised."""

    source: str
    target: str
    description: str
    count: int
