-- Issue 18, fourth round. A forecast reads the settled hours up to the settled watermark and the live counts
-- after it (docs/forecasting.md), refreshed after every settlement run for the accounts whose hours moved: the
-- day's row (`as_of`, that day's midnight) is replaced as the day goes on, and `settled_until` says which hour it
-- stands at (rows written before this column: their `as_of`).
ALTER TABLE {db}.forecasts
    ADD COLUMN IF NOT EXISTS settled_until DateTime('UTC') DEFAULT as_of
    COMMENT 'the settled hours before this instant (and the live counts after it) were used' AFTER as_of;
