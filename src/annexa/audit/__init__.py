"""Tamper-evident audit log: every change an event, in a Merkle tree with signed checkpoints."""

from __future__ import annotations

from typing import Any

__all__ = ["record_event"]


def __getattr__(name: str) -> Any:
    # The log (and the signing keys it imports) loads when first used, not with the
    # package: the session hooks in annexa.audit.hooks live here too and run on every read.
    if name == "record_event":
        from annexa.audit.log import record_event

        return record_event
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
