"""Reads: queries that answer from the projection tables only (never the log)."""
