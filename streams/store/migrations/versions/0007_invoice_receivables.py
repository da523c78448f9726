"""Invoice receivables: the state of every finalized invoice, its history and per-seller invoice numbers
(docs/analytics.md, "Receivables"), and the payment attempts on them.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "invoice_number_counters",
        sa.Column("seller", sa.String(length=64), nullable=False),
        sa.Column("last_number", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("seller", name=op.f("pk_invoice_number_counters")),
    )
    op.create_table(
        "invoice_receivables",
        sa.Column("invoice_id", sa.String(length=160), nullable=False),
        sa.Column("account_id", sa.String(length=128), nullable=False),
        sa.Column("seller", sa.String(length=64), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("number", sa.String(length=80), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("currency", sa.String(length=8), nullable=False),
        sa.Column("amount_due", sa.BigInteger(), nullable=False),
        sa.Column("amount_paid", sa.BigInteger(), nullable=False),
        sa.Column("collection", sa.String(length=24), nullable=False),
        sa.Column("net_days", sa.Integer(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("reissue_of", sa.String(length=160), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("invoice_id", name=op.f("pk_invoice_receivables")),
        sa.UniqueConstraint("number", name=op.f("uq_invoice_receivables_number")),
        sa.UniqueConstraint("seller", "sequence", name="uq_invoice_receivables_seller_sequence"),
    )
    op.create_index(op.f("ix_invoice_receivables_account_id"), "invoice_receivables", ["account_id"], unique=False)
    op.create_table(
        "invoice_state_history",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("invoice_id", sa.String(length=160), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("amount_due", sa.BigInteger(), nullable=False),
        sa.Column("amount_paid", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoice_receivables.invoice_id"],
            name=op.f("fk_invoice_state_history_invoice_id_invoice_receivables"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_state_history")),
    )
    op.create_index(op.f("ix_invoice_state_history_invoice_id"), "invoice_state_history", ["invoice_id"], unique=False)
    op.create_table(
        "payments",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("invoice_id", sa.String(length=160), nullable=False),
        sa.Column("account_id", sa.String(length=128), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=8), nullable=False),
        sa.Column("method", sa.String(length=24), nullable=False),
        sa.Column("reference", sa.String(length=255), nullable=True),
        sa.Column("outcome", sa.String(length=24), nullable=False),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("source", sa.String(length=24), nullable=False),
        sa.Column("recorded_by", sa.String(length=160), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoice_receivables.invoice_id"], name=op.f("fk_payments_invoice_id_invoice_receivables")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
    )
    op.create_index(op.f("ix_payments_invoice_id"), "payments", ["invoice_id"], unique=False)
    op.create_index(op.f("ix_payments_account_id"), "payments", ["account_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_payments_account_id"), table_name="payments")
    op.drop_index(op.f("ix_payments_invoice_id"), table_name="payments")
    op.drop_table("payments")
    op.drop_index(op.f("ix_invoice_state_history_invoice_id"), table_name="invoice_state_history")
    op.drop_table("invoice_state_history")
    op.drop_index(op.f("ix_invoice_receivables_account_id"), table_name="invoice_receivables")
    op.drop_table("invoice_receivables")
    op.drop_table("invoice_number_counters")
