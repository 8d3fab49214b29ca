"""Alembic environment: runs against the engine Annexa hands over, never a config file."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from annexa.store.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations() -> None:
    engine = config.attributes.get("engine")
    if engine is None:  # `alembic` run by hand, e.g. to autogenerate a revision
        engine = create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.begin() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        context.run_migrations()


run_migrations()
