"""Kafka: the relay that publishes the log, and the wire format of events on topics."""
