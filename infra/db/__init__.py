"""The database adapters: the event log, checkpoints and migrations (PostgreSQL and SQLite)."""
