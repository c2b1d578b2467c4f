"""Prometheus metrics: what each server process counts as it serves (`serving.py`), what the
database says of the service as a whole, read when scraped (`state.py`), and the `/metrics`
answer that joins them, with the workers' figures summed (`exposition.py`, `workers.py`)."""

METRICS_PATH = "/metrics"
