"""The worker runtime: the Faust app and its wiring, the role entry point, crash-only agents, the
consumer-lag report and its watchdog, allocator tuning and Prometheus metrics."""
