"""The threat library: common threats with the controls that usually treat them."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from annexa.errors import InvalidInput, NotFound

Category = Literal[
    "ai", "cyber", "people", "physical", "environmental", "supplier", "operational", "legal"
]
CATEGORIES: tuple[str, ...] = Category.__args__  # type: ignore[attr-defined]


class ControlRef(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    framework: str = Field(min_length=1)
    ref: str = Field(pattern=r"^A\.\d+(\.\d+)+$")

    def key(self) -> str:
        return f"{self.framework}:{self.ref}"


class Threat(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^(AI|T)-\d{2}$")
    name: str = Field(min_length=3, max_length=120)
    category: Category
    description: str = Field(min_length=20)
    suggested_controls: list[ControlRef] = Field(min_length=1)

    @model_validator(mode="after")
    def _no_repeats(self) -> Threat:
        keys = [control.key() for control in self.suggested_controls]
        if len(set(keys)) != len(keys):
            raise ValueError(f"{self.id}: a suggested control is listed twice")
        return self

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "category": self.category,
            "description": self.description,
            "suggested_controls": [control.model_dump() for control in self.suggested_controls],
        }


class ThreatLibrary(BaseModel):
    model_config = ConfigDict(extra="forbid")

    threats: list[Threat] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> ThreatLibrary:
        seen: set[str] = set()
        for threat in self.threats:
            if threat.id in seen:
                raise ValueError(f"duplicate threat id {threat.id!r}")
            seen.add(threat.id)
        return self


def parse_library(text: str, source: str = "threats.yaml") -> ThreatLibrary:
    try:
        return ThreatLibrary.model_validate(yaml.safe_load(text))
    except (yaml.YAMLError, ValidationError) as exc:
        raise InvalidInput(
            f"{source} is not a valid threat library: {str(exc).splitlines()[0]}",
            field="threats",
        ) from exc


@cache
def library() -> ThreatLibrary:
    """The built-in library, validated once per process."""
    text = resources.files("annexa.risk").joinpath("data", "threats.yaml").read_text("utf-8")
    return parse_library(text)


def list_threats(category: str | None = None) -> list[Threat]:
    threats = library().threats
    if category is None:
        return list(threats)
    wanted = category.strip().lower()
    if wanted not in CATEGORIES:
        raise InvalidInput(
            f"{category!r} is not a threat category",
            field="--category",
            fix=f"use one of: {', '.join(CATEGORIES)}",
        )
    return [threat for threat in threats if threat.category == wanted]


def get_threat(threat_id: str, field: str = "--threat-id") -> Threat:
    wanted = (threat_id or "").strip().upper()
    for threat in library().threats:
        if threat.id == wanted:
            return threat
    raise NotFound(
        f"no threat {threat_id!r} in the threat library",
        field=field,
        fix="see `annexa risk threats` for the ids",
    )
