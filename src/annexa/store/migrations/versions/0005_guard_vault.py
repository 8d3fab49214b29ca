"""guard vault: sealed placeholder values and placeholder counters per organisation

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "guard_vault_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("placeholder", sa.String(length=64), nullable=False),
        sa.Column("entity_type", sa.String(length=64), nullable=False),
        sa.Column("digest", sa.LargeBinary(), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisation.id"],
            name=op.f("fk_guard_vault_entry_org_id_organisation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_guard_vault_entry")),
        sa.UniqueConstraint("org_id", "digest", name=op.f("uq_guard_vault_entry_org_id_digest")),
        sa.UniqueConstraint(
            "org_id", "placeholder", name=op.f("uq_guard_vault_entry_org_id_placeholder")
        ),
    )
    with op.batch_alter_table("guard_vault_entry", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_guard_vault_entry_expires_at"), ["expires_at"], unique=False
        )

    op.create_table(
        "guard_vault_counter",
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("entity_type", sa.String(length=64), nullable=False),
        sa.Column("last_number", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisation.id"],
            name=op.f("fk_guard_vault_counter_org_id_organisation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("org_id", "entity_type", name=op.f("pk_guard_vault_counter")),
    )


def downgrade() -> None:
    op.drop_table("guard_vault_counter")
    with op.batch_alter_table("guard_vault_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_guard_vault_entry_expires_at"))

    op.drop_table("guard_vault_entry")
