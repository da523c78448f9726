"""AI controls of an organization and of each member (issue 17 item 3, docs/ai-controls.md): disabled features,
allowed providers and models, monthly caps, the approval-workflow switch.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ai_controls",
        sa.Column("organization_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=False),
        sa.Column("disabled_features", sa.JSON(), nullable=False),
        sa.Column("allowed_providers", sa.JSON(), nullable=True),
        sa.Column("allowed_models", sa.JSON(), nullable=True),
        sa.Column("monthly_spend_cap", sa.String(length=32), nullable=True),
        sa.Column("monthly_request_cap", sa.BigInteger(), nullable=True),
        sa.Column("cap_mode", sa.String(length=8), nullable=False),
        sa.Column("approval_required", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=160), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_ai_controls_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organization_id", "user_id", name=op.f("pk_ai_controls")),
    )


def downgrade() -> None:
    op.drop_table("ai_controls")
