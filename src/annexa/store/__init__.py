"""Persistence: SQLAlchemy models, engine set-up, transactions and Alembic migrations."""

from annexa.store.db import Database, default_database_url, open_database

__all__ = ["Database", "default_database_url", "open_database"]
