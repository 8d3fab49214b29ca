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
