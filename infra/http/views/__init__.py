"""Thin request handlers: parse, dispatch a command or run a query, shape the answer."""
