-- Issue 14. Why each subscription version was written (`payment_failed`, `dunning_exhausted`, `invoice_overdue`,
-- `payment_recovered`, `upgrade`, ...), as published on `billing.subscriptions`; empty for older versions.
ALTER TABLE {db}.subscriptions ADD COLUMN IF NOT EXISTS reason LowCardinality(String) DEFAULT '' COMMENT 'why this version was written (docs/notifications.md, "Dunning")' AFTER contract
