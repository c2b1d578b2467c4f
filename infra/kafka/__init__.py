"""Kafka: a relay's destination, the relay that publishes the log, and the wire format of
events on topics."""
