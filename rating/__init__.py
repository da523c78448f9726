"""Pure billing logic: catalog, periods, aggregation, quotas and prices. No I/O, no clock reads."""
