"""Organizations carry the billing details printed on their invoices: a structured billing address and a
tax id (docs/invoices.md); both optional.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("organizations", sa.Column("billing_address", sa.JSON(), nullable=True))
    op.add_column("organizations", sa.Column("tax_id", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("organizations") as batch:
        batch.drop_column("tax_id")
        batch.drop_column("billing_address")
