"""Finding codes reported by `annexa status`. Codes are a contract: add, never rename."""

from __future__ import annotations

from dataclasses import dataclass, field

ERROR = "error"  # an auditor would raise a nonconformity
WARNING = "warning"  # incomplete or going stale
INFO = "info"


@dataclass
class Finding:
    code: str
    severity: str
    clause: str
    message: str
    fix: str
    count: int = 1
    examples: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "severity": self.severity,
            "clause": self.clause,
            "message": self.message,
            "fix": self.fix,
            "count": self.count,
            "examples": self.examples,
        }
