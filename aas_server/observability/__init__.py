"""What operators watch: structured logs with a request id, Prometheus metrics, health and readiness."""
