"""Projections: one module per view, each with the events it handles, its tables and `apply`."""
