"""Meterline's composition root: the Faust app, topics, tables, agents, and the CLI."""
