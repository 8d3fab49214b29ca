"""Annexa: an information security management system for organisations that adopt AI."""

__version__ = "0.1.0"
