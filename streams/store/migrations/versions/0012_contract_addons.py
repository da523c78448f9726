"""Add-ons recorded on a subscription (``contract_addons``) and the hours logged on hourly ones
(``addon_hours``): rating/addons.py, docs/rating.md "Add-ons".

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "contract_addons",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("subscription_id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("quantity", sa.String(length=32), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=160), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscriptions.id"],
            name=op.f("fk_contract_addons_subscription_id_subscriptions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contract_addons")),
    )
    op.create_index(op.f("ix_contract_addons_subscription_id"), "contract_addons", ["subscription_id"])
    op.create_index(op.f("ix_contract_addons_account_id"), "contract_addons", ["account_id"])
    op.create_table(
        "addon_hours",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("addon_id", sa.String(length=40), nullable=False),
        sa.Column("worked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("hours", sa.String(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=160), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["addon_id"],
            ["contract_addons.id"],
            name=op.f("fk_addon_hours_addon_id_contract_addons"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_addon_hours")),
    )
    op.create_index(op.f("ix_addon_hours_addon_id"), "addon_hours", ["addon_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_addon_hours_addon_id"), table_name="addon_hours")
    op.drop_table("addon_hours")
    op.drop_index(op.f("ix_contract_addons_account_id"), table_name="contract_addons")
    op.drop_index(op.f("ix_contract_addons_subscription_id"), table_name="contract_addons")
    op.drop_table("contract_addons")
