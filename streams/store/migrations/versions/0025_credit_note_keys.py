"""A credit note's idempotency key (``credit_notes.idempotency_key``): a retried ``POST .../credit-notes`` with the
same ``Idempotency-Key`` answers with the note issued the first time instead of crediting again (docs/invoices.md,
"Credit notes"). Unique per invoice; notes issued before have none.

Revision ID: 0025
Revises: 0021
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("credit_notes") as batch:
        batch.add_column(sa.Column("idempotency_key", sa.String(length=255), nullable=True))
        batch.create_unique_constraint("uq_credit_notes_invoice_key", ["invoice_id", "idempotency_key"])


def downgrade() -> None:
    with op.batch_alter_table("credit_notes") as batch:
        batch.drop_constraint("uq_credit_notes_invoice_key", type_="unique")
        batch.drop_column("idempotency_key")
