"""Where Glance's notifications go: oslo.messaging's transports (RabbitMQ, Kafka) and the
catalog's own Kafka topic, each fed from the notifications outbox by a relay of its own."""
