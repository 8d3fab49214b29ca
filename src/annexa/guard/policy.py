"""Guard policies: what to do with each entity, per classification and destination.

A small YAML format, validated by pydantic::

    version: 1
    default_action: tag            # see ACTIONS: allow, redact, mask, tag, pseudonymise, ...
    default_threshold: 0.5
    classifications:
      secret: block
      restricted: {action: mask, keep_last: 4}
    entities:
      EMAIL_ADDRESS: pseudonymise
      URL: allow
    thresholds: {PHONE_NUMBER: 0.6}
    destinations:
      public-chatbot: {default_action: block}
      azure-openai: {entities: {PERSON: vault}}
    terms:                         # organisation-defined terms (Aho-Corasick)
      - {value: "Project Nightingale", entity_type: CODE_NAME, classification: restricted}
    patterns:                      # custom RE2 patterns
      - {name: matter, entity_type: MATTER_NUMBER, regex: 'M-\\d{6}', classification: confidential}
    allow: ["support@example.com"]
    deny: ["Globex"]
    context: {US_SSN: ["employee number"]}
    disabled: [URL]
    ner:                           # optional names and places tier (spaCy, offline)
      model: en_core_web_sm        # an installed pipeline's name, or its folder
      entities: [PERSON, LOCATION]
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import re2
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from annexa.errors import InvalidInput

Action = Literal["allow", "redact", "mask", "tag", "pseudonymise", "fake", "vault", "block"]
ACTIONS: tuple[str, ...] = Action.__args__  # type: ignore[attr-defined]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Rule(_Model):
    action: Action
    keep_last: int = Field(default=4, ge=0, le=16)


RuleSpec = Action | Rule


def _rule(spec: RuleSpec | None) -> Rule | None:
    if spec is None:
        return None
    return spec if isinstance(spec, Rule) else Rule(action=spec)


class Destination(_Model):
    default_action: Action | None = None
    classifications: dict[str, RuleSpec] = Field(default_factory=dict)
    entities: dict[str, RuleSpec] = Field(default_factory=dict)


class Term(_Model):
    value: str = Field(min_length=2, max_length=200)
    entity_type: str = "ORG_TERM"
    classification: str = "confidential"


class CustomPattern(_Model):
    name: str
    entity_type: str
    regex: str
    score: float = Field(default=0.9, ge=0, le=1)
    classification: str = "confidential"
    context: list[str] = Field(default_factory=list)
    max_length: int = Field(default=64, ge=1, le=4096)

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re2.compile(value)
        except re2.error as exc:
            raise ValueError(f"not a valid RE2 pattern: {exc}") from None
        return value


class NerSettings(_Model):
    """The optional NER tier: which local spaCy pipeline, which entities, what score."""

    backend: Literal["spacy"] = "spacy"
    model: str = Field(min_length=1, max_length=500)
    entities: list[Literal["PERSON", "LOCATION", "ORGANIZATION", "NRP"]] = Field(
        default_factory=lambda: ["PERSON", "LOCATION"], min_length=1
    )
    score: float = Field(default=0.85, ge=0, le=1)


class Policy(_Model):
    version: Literal[1] = 1
    default_action: Action = "tag"
    default_threshold: float = Field(default=0.5, ge=0, le=1)
    classifications: dict[str, RuleSpec] = Field(default_factory=dict)
    entities: dict[str, RuleSpec] = Field(default_factory=dict)
    thresholds: dict[str, float] = Field(default_factory=dict)
    destinations: dict[str, Destination] = Field(default_factory=dict)
    terms: list[Term] = Field(default_factory=list)
    patterns: list[CustomPattern] = Field(default_factory=list)
    allow: list[str] = Field(default_factory=list)
    deny: list[str] = Field(default_factory=list)
    context: dict[str, list[str]] = Field(default_factory=dict)
    disabled: list[str] = Field(default_factory=list)
    ner: NerSettings | None = None

    def rule_for(self, entity_type: str, classification: str, destination: str | None) -> Rule:
        dest = self.destinations.get(destination) if destination else None
        if destination and dest is None:
            raise InvalidInput(
                f"unknown destination {destination!r}",
                field="destination",
                fix="use one of: " + (", ".join(sorted(self.destinations)) or "(none defined)"),
            )
        candidates: list[RuleSpec | None] = []
        if dest is not None:
            candidates += [dest.entities.get(entity_type), dest.classifications.get(classification)]
        candidates += [self.entities.get(entity_type), self.classifications.get(classification)]
        for spec in candidates:
            rule = _rule(spec)
            if rule is not None:
                return rule
        if dest is not None and dest.default_action is not None:
            return Rule(action=dest.default_action)
        return Rule(action=self.default_action)


def with_ner(policy: Policy, model: str) -> Policy:
    """``policy`` with its NER tier on the pipeline ``model``; the entities and score it
    names are kept."""
    settings = policy.ner.model_dump() if policy.ner else {}
    try:
        ner = NerSettings.model_validate({**settings, "model": model})
    except ValidationError as exc:
        raise InvalidInput(
            f"{model!r} is not a pipeline name: {exc.errors()[0]['msg']}",
            field="--ner",
            fix="give an installed spaCy pipeline's name (en_core_web_sm) or its folder",
        ) from None
    return policy.model_copy(update={"ner": ner})


def load_policy(path: str | Path) -> Policy:
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}", field="--policy") from None
    except yaml.YAMLError as exc:
        raise InvalidInput(f"{path} is not valid YAML: {exc}", field="--policy") from None
    return parse_policy(raw, source=str(path))


def parse_policy(raw: object, source: str = "policy") -> Policy:
    try:
        return Policy.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise InvalidInput(
            f"{source}: {first['msg']}",
            field=where,
            fix=f"see docs/guard.md for the policy format; actions are {', '.join(ACTIONS)}",
        ) from None
