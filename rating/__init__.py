"""Pure billing logic: catalog, money, periods, aggregation, quotas and prices, fees, seats, AI costs,
subscriptions in time, lifecycle decisions, the invoice, settlement's computations and the live gauge
fold. No I/O, no clock reads."""
