"""What a scan returns."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal


class GuardError(Exception):
    """Base class for guard failures. Callers must treat any of these as "not cleared"."""


class ScanError(GuardError):
    """A detector failed: the text was not (fully) scanned and must not be treated as clean."""

    def __init__(self, message: str, errors: list[str]):
        super().__init__(message)
        self.errors = errors


class Blocked(GuardError):
    """The policy says this text must not be sent at all."""

    def __init__(self, message: str, findings: list[Finding]):
        super().__init__(message)
        self.findings = findings


@dataclass(frozen=True, slots=True)
class Finding:
    entity_type: str
    start: int
    end: int
    score: float
    text: str
    detector: str
    classification: str = "personal"

    def to_dict(self) -> dict:
        return asdict(self)


def _finding_factory():  # type: ignore[no-untyped-def]
    """``Finding(...)`` for the engine's hot loop: the frozen dataclass's ``__init__`` sets
    each field through ``object.__setattr__`` from Python; this sets the same slots
    through their descriptors. Same object (equal, same hash); keep it in step with the
    fields above (tests compare the two)."""
    new = object.__new__
    set0, set1, set2, set3, set4, set5, set6 = (
        Finding.__dict__[name].__set__
        for name in (
            "entity_type",
            "start",
            "end",
            "score",
            "text",
            "detector",
            "classification",
        )
    )

    def make(
        entity_type: str,
        start: int,
        end: int,
        score: float,
        text: str,
        detector: str,
        classification: str,
    ) -> Finding:
        finding = new(Finding)
        set0(finding, entity_type)
        set1(finding, start)
        set2(finding, end)
        set3(finding, score)
        set4(finding, text)
        set5(finding, detector)
        set6(finding, classification)
        return finding

    return make


make_finding = _finding_factory()


@dataclass
class ScanResult:
    """Findings in text order. ``status`` is ``"ok"`` or ``"error"`` (fail closed: never clean)."""

    findings: list[Finding] = field(default_factory=list)
    status: Literal["ok", "error"] = "ok"
    errors: list[str] = field(default_factory=list)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.findings)

    def __len__(self) -> int:
        return len(self.findings)

    def __getitem__(self, index: int) -> Finding:
        return self.findings[index]

    @property
    def clean(self) -> bool:
        """True only when every detector ran and nothing was found."""
        return self.status == "ok" and not self.findings

    def raise_for_status(self) -> None:
        if self.status != "ok":
            raise ScanError("text was not fully scanned: " + "; ".join(self.errors), self.errors)


@dataclass
class RedactResult:
    text: str
    findings: list[Finding]
    actions: list[str] = field(default_factory=list)  # the action applied to each finding
