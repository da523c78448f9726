"""Settlement: the settler, the job that runs it in a worker and paces it, Stripe meter reporting
and invoicing, reconciliation, and linking accounts to existing Stripe customers."""
