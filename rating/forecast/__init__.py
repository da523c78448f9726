"""Period-end forecasts of usage and of the invoice (issue #18, docs/forecasting.md): pure, no I/O, no clock."""
