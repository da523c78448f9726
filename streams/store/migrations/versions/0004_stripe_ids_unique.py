"""Stripe ids are the platform's and unique; at most one open subscription per account (issue 13).

- ``stripe_customers``: which account a Stripe customer belongs to (one account per customer);
- ``subscriptions.stripe_subscription_id`` unique;
- ``subscriptions.open_account_id``: the account while the subscription is not canceled, unique.

Existing rows: where a Stripe id was stored on several subscriptions (ids a caller could once supply),
the oldest row keeps it, the later rows lose it (the mirror sets them again for what it created); a
customer belongs to the account of the oldest row naming it, and other accounts' rows lose it. Of an
account's rows not canceled, the newest holds the open slot.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_subs = sa.table(
    "subscriptions",
    sa.column("id", sa.String()),
    sa.column("account_id", sa.String()),
    sa.column("status", sa.String()),
    sa.column("stripe_customer_id", sa.String()),
    sa.column("stripe_subscription_id", sa.String()),
    sa.column("open_account_id", sa.String()),
    sa.column("created_at", sa.DateTime(timezone=True)),
)
_customers = sa.table(
    "stripe_customers",
    sa.column("stripe_customer_id", sa.String()),
    sa.column("account_id", sa.String()),
    sa.column("created_at", sa.DateTime(timezone=True)),
)


def _backfill(conn: Any) -> None:
    rows = conn.execute(
        sa.select(
            _subs.c.id,
            _subs.c.account_id,
            _subs.c.status,
            _subs.c.stripe_customer_id,
            _subs.c.stripe_subscription_id,
            _subs.c.created_at,
        ).order_by(_subs.c.created_at, _subs.c.id)
    ).all()
    sub_owner: set[str] = set()
    customer_owner: dict[str, str] = {}
    customer_since: dict[str, Any] = {}
    open_row: dict[str, str] = {}
    for sid, account, status, customer, stripe_sub, created in rows:  # oldest first
        clear: dict[str, None] = {}
        if stripe_sub is not None:
            if stripe_sub in sub_owner:
                clear["stripe_subscription_id"] = None
            else:
                sub_owner.add(stripe_sub)
        if customer is not None:
            if customer_owner.setdefault(customer, account) != account:
                clear["stripe_customer_id"] = None
            else:
                customer_since.setdefault(customer, created)
        if clear:
            conn.execute(sa.update(_subs).where(_subs.c.id == sid).values(**clear))
        if status != "canceled":
            open_row[account] = sid  # the newest wins
    for customer, account in customer_owner.items():
        conn.execute(
            sa.insert(_customers).values(
                stripe_customer_id=customer, account_id=account, created_at=customer_since[customer]
            )
        )
    for account, sid in open_row.items():
        conn.execute(sa.update(_subs).where(_subs.c.id == sid).values(open_account_id=account))


def upgrade() -> None:
    op.create_table(
        "stripe_customers",
        sa.Column("stripe_customer_id", sa.String(length=255), nullable=False),
        sa.Column("account_id", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("stripe_customer_id", name=op.f("pk_stripe_customers")),
        sa.UniqueConstraint("stripe_customer_id", "account_id", name="uq_stripe_customers_customer_account"),
    )
    op.create_index(op.f("ix_stripe_customers_account_id"), "stripe_customers", ["account_id"], unique=False)
    op.add_column("subscriptions", sa.Column("open_account_id", sa.String(length=128), nullable=True))
    _backfill(op.get_bind())
    op.drop_index(op.f("ix_subscriptions_stripe_subscription_id"), table_name="subscriptions")
    op.create_index(
        op.f("ix_subscriptions_stripe_subscription_id"), "subscriptions", ["stripe_subscription_id"], unique=True
    )
    op.create_index(op.f("ix_subscriptions_open_account_id"), "subscriptions", ["open_account_id"], unique=True)


def downgrade() -> None:
    op.drop_index(op.f("ix_subscriptions_open_account_id"), table_name="subscriptions")
    op.drop_index(op.f("ix_subscriptions_stripe_subscription_id"), table_name="subscriptions")
    op.create_index(
        op.f("ix_subscriptions_stripe_subscription_id"), "subscriptions", ["stripe_subscription_id"], unique=False
    )
    op.drop_column("subscriptions", "open_account_id")
    op.drop_index(op.f("ix_stripe_customers_account_id"), table_name="stripe_customers")
    op.drop_table("stripe_customers")
