"""What runs Meterline: the local single-node stack, compose files, Prometheus and Grafana."""
