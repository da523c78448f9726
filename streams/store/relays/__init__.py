"""The store's outbox relays: subscription versions to Kafka, and the Stripe subscription mirror (one
relay loop for both: ``loop``)."""
