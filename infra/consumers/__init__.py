"""Consumers of the log: each does something for every event, exactly once (see base.py)."""
