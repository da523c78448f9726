"""Live rating: the agent, the period-to-date fold, and the resolver of who is billed under which version."""
