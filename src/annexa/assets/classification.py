"""The information classification scheme (ISO/IEC 27001 A.5.12, A.5.13).

Each organisation may replace the default scheme with its own: ordered levels, least
sensitive first, and the tags that say what kind of information an asset holds. The
scheme is stored as JSON on the organisation and validated here on the way in and out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from annexa.errors import Conflict, InvalidInput
from annexa.store.models import Asset, Organisation
from annexa.validation import tag_list

_NAME = re.compile(r"[a-z0-9][a-z0-9_\-]{0,31}")


def _check_name(value: str) -> str:
    cleaned = value.strip().lower()
    if not _NAME.fullmatch(cleaned):
        raise ValueError(
            f"{value!r} is not a valid name: use lowercase letters, digits, '-' and '_'"
            " (at most 32 characters)"
        )
    return cleaned


class ClassificationLevel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    handling: str = ""

    _name = field_validator("name")(_check_name)


class ClassificationTag(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""

    _name = field_validator("name")(_check_name)


class ClassificationScheme(BaseModel):
    model_config = ConfigDict(extra="forbid")

    levels: list[ClassificationLevel] = Field(min_length=1)
    tags: list[ClassificationTag] = Field(default_factory=list)

    @field_validator("levels", "tags", mode="before")
    @classmethod
    def _accept_plain_names(cls, value: Any) -> Any:
        # A bare string in the YAML is shorthand for an entry with only a name.
        if isinstance(value, list):
            return [{"name": item} if isinstance(item, str) else item for item in value]
        return value

    @model_validator(mode="after")
    def _unique_names(self) -> ClassificationScheme:
        for label, names in (("level", self.level_names), ("tag", self.tag_names)):
            seen: set[str] = set()
            for name in names:
                if name in seen:
                    raise ValueError(f"{label} {name!r} appears more than once")
                seen.add(name)
        return self

    @property
    def level_names(self) -> list[str]:
        return [level.name for level in self.levels]

    @property
    def tag_names(self) -> list[str]:
        return [tag.name for tag in self.tags]

    def level(self, name: str) -> ClassificationLevel | None:
        return next((level for level in self.levels if level.name == name), None)

    def rank(self, name: str) -> int:
        """Position of a level, 0 for the least sensitive; -1 when unknown."""
        names = self.level_names
        return names.index(name) if name in names else -1


DEFAULT_SCHEME = ClassificationScheme(
    levels=[
        ClassificationLevel(
            name="public",
            description="Meant for anyone; publishing it does no harm.",
            handling="No restrictions. Check it is really meant to be public before release.",
        ),
        ClassificationLevel(
            name="internal",
            description="For staff and trusted contractors; a leak would embarrass, not harm.",
            handling="Keep on company systems. Share outside only with a business need.",
        ),
        ClassificationLevel(
            name="confidential",
            description="Client, personal or commercial information whose disclosure causes"
            " real harm.",
            handling="Need-to-know access, encrypted in transit and at rest, no personal"
            " accounts or unapproved AI tools.",
        ),
        ClassificationLevel(
            name="restricted",
            description="The most sensitive information: privileged, special-category or"
            " deal-critical material.",
            handling="Named individuals only, access logged and reviewed, never sent to"
            " external AI services without explicit approval.",
        ),
    ],
    tags=[
        ClassificationTag(name="client", description="Belongs to or concerns a client."),
        ClassificationTag(name="personal", description="Personal data under the GDPR."),
        ClassificationTag(name="financial", description="Financial or payment information."),
        ClassificationTag(name="health", description="Health data (a GDPR special category)."),
        ClassificationTag(
            name="privileged", description="Covered by legal professional privilege."
        ),
        ClassificationTag(
            name="special_category",
            description="GDPR Art. 9 special-category or Art. 10 criminal-offence data.",
        ),
    ],
)


def _describe(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"]) or "scheme"
        message = str(error["msg"]).removeprefix("Value error, ")
        problems.append(f"{where}: {message}")
    return "; ".join(problems)


def parse_scheme(data: Any, *, field: str = "--file") -> ClassificationScheme:
    """Validate a scheme given as plain data (from YAML, JSON or an API body)."""
    try:
        return ClassificationScheme.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(
            f"not a valid classification scheme: {_describe(exc)}",
            field=field,
            fix="give `levels` (a list, least sensitive first) and optionally `tags`,"
            " each entry with a `name`",
        ) from None


def scheme_from_yaml(text: str, *, field: str = "--file") -> ClassificationScheme:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidInput(
            f"cannot parse the YAML: {str(exc).splitlines()[0]}",
            field=field,
            fix="check the file's indentation and syntax",
        ) from None
    return parse_scheme(data, field=field)


def get_scheme(org: Organisation) -> ClassificationScheme:
    """The organisation's scheme, or the built-in default when it has none of its own."""
    if not org.classification_scheme:
        return DEFAULT_SCHEME
    # Stored schemes were validated on the way in; re-validating keeps callers typed.
    return parse_scheme(org.classification_scheme, field="classification_scheme")


def scheme_to_dict(scheme: ClassificationScheme) -> dict[str, Any]:
    return scheme.model_dump()


def set_scheme(
    session: Session, org: Organisation, scheme: ClassificationScheme | dict[str, Any]
) -> ClassificationScheme:
    """Replace the scheme, refusing to drop a level or tag that an asset still uses."""
    if not isinstance(scheme, ClassificationScheme):
        scheme = parse_scheme(scheme)
    rows = session.execute(
        select(Asset.name, Asset.classification, Asset.tags).where(Asset.org_id == org.id)
    ).all()
    levels, tags = set(scheme.level_names), set(scheme.tag_names)
    for label, missing in (
        ("level", _in_use(((r.name, [r.classification]) for r in rows), levels)),
        ("tag", _in_use(((r.name, r.tags or []) for r in rows), tags)),
    ):
        if missing:
            value, users = next(iter(sorted(missing.items())))
            sample = ", ".join(repr(u) for u in users[:3]) + (" …" if len(users) > 3 else "")
            raise Conflict(
                f"{label} {value!r} is used by {len(users)} asset(s) ({sample})"
                " and is missing from the new scheme",
                field=label,
                fix=f"keep {label} {value!r} in the scheme, or reclassify those assets first"
                " with `annexa asset update`",
            )
    org.classification_scheme = scheme.model_dump()
    session.flush()
    return scheme


def _in_use(rows: Iterable[tuple[str, list[str]]], allowed: set[str]) -> dict[str, list[str]]:
    missing: dict[str, list[str]] = {}
    for asset_name, values in rows:
        for value in values:
            if value not in allowed:
                missing.setdefault(value, []).append(asset_name)
    return missing


def validate_level(
    scheme: ClassificationScheme, value: str | None, field: str = "--classification"
) -> str:
    cleaned = (value or "").strip().lower()
    if cleaned not in scheme.level_names:
        allowed = ", ".join(scheme.level_names)
        raise InvalidInput(
            f"{value!r} is not a classification level; allowed: {allowed}",
            field=field,
            fix=f"use one of: {allowed} (see `annexa asset classification`)",
        )
    return cleaned


def validate_tags(
    scheme: ClassificationScheme, values: Iterable[str] | str | None, field: str = "--tag"
) -> list[str]:
    tags = tag_list(values, field)
    allowed = scheme.tag_names
    for tag in tags:
        if tag not in allowed:
            raise InvalidInput(
                f"{tag!r} is not a tag of the classification scheme; allowed:"
                f" {', '.join(allowed) or '(none)'}",
                field=field,
                fix="use one of the scheme's tags, or add it with"
                " `annexa asset classification set --file`",
            )
    return tags
