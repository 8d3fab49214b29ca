"""Readiness: what the records show about each clause and Annex A theme, and what is missing."""

from annexa.readiness.service import readiness

__all__ = ["readiness"]
