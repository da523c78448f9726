"""Notifications that reach people and systems: emails from an outbox through SMTP, and outgoing webhooks
signed as the Standard Webhooks specification says, from an outbox too (docs/notifications.md)."""
