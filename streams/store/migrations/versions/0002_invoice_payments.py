"""Invoices paid through the API (``invoice_payments``).

Revision ID: 0002
Revises: 0001
Create Date: 2026-06-12
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "invoice_payments",
        sa.Column("invoice_id", sa.String(length=160), nullable=False),
        sa.Column("account_id", sa.String(length=128), nullable=False),
        sa.Column("stripe_invoice_id", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("amount_paid", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=8), nullable=False),
        sa.Column("paid_by", sa.String(length=160), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("invoice_id", name=op.f("pk_invoice_payments")),
    )
    op.create_index(op.f("ix_invoice_payments_account_id"), "invoice_payments", ["account_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_invoice_payments_account_id"), table_name="invoice_payments")
    op.drop_table("invoice_payments")
