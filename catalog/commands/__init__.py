"""Commands: one module per use case (a command model and its async handler), and the registry."""
