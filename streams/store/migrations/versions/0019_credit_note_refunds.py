"""A credit note's refund paid out (``credit_notes.refund_*``): through Stripe Refunds when the invoice was paid
by Stripe, else owed to the customer until a refund is recorded by hand (docs/invoices.md, "Refunds").

Revision ID: 0019
Revises: 0020
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("credit_notes") as batch:
        batch.add_column(sa.Column("refund_via", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("refund_status", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("refund_charge", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("refund_reference", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("refund_failure", sa.Text(), nullable=True))
        batch.add_column(sa.Column("refund_attempts", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("refund_updated_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index("ix_credit_notes_refund_status", ["refund_status"])
    # Refunds made before: Stripe's own (a charge.refunded) were paid out there; the others are owed.
    op.execute(
        "UPDATE credit_notes SET refund_via = 'stripe', refund_status = 'succeeded' "
        "WHERE refunded > 0 AND created_by LIKE 'stripe:%'"
    )
    op.execute(
        "UPDATE credit_notes SET refund_via = 'manual', refund_status = 'owed' "
        "WHERE refunded > 0 AND created_by NOT LIKE 'stripe:%'"
    )


def downgrade() -> None:
    with op.batch_alter_table("credit_notes") as batch:
        batch.drop_index("ix_credit_notes_refund_status")
        for column in (
            "refund_updated_at",
            "refund_attempts",
            "refund_failure",
            "refund_reference",
            "refund_charge",
            "refund_status",
            "refund_via",
        ):
            batch.drop_column(column)
