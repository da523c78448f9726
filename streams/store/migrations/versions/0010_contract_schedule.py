"""A subscription's contract change scheduled for a later time (docs/rating.md, "Contracts"): the contract
and the time it takes effect, until then the current ``contract`` applies.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("subscriptions", sa.Column("pending_contract", sa.JSON(), nullable=True))
    op.add_column("subscriptions", sa.Column("pending_contract_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_column("pending_contract_at")
        batch.drop_column("pending_contract")
