"""The worker runtime: the Faust app and its wiring, the role entry point, crash-only agents,
allocator tuning and Prometheus metrics."""
