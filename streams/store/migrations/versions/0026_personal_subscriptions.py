"""A person's own subscription may belong to no organization (``subscriptions.organization_id`` nullable): a
person subscribes with their own token or web session, in no organization (README, "The billing API").
Subscriptions made before keep the organization they named.

Revision ID: 0026
Revises: 0022
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("subscriptions") as batch:
        batch.alter_column("organization_id", existing_type=sa.String(length=64), nullable=True)


def downgrade() -> None:
    # Only possible while every subscription names an organization: personal ones made since stop it.
    with op.batch_alter_table("subscriptions") as batch:
        batch.alter_column("organization_id", existing_type=sa.String(length=64), nullable=False)
