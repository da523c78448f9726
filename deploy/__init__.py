"""What runs Meterline: the local single-node stack, the demo, compose files, Prometheus and Grafana."""
