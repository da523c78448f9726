"""Collecting what is owed: the dunning loop of the billing API (docs/notifications.md, "Dunning")."""
