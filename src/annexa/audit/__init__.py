"""Tamper-evident audit log: every change an event, in a Merkle tree with signed checkpoints."""

from annexa.audit.log import record_event

__all__ = ["record_event"]
