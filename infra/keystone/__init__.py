"""Keystone: validating callers' tokens with the catalog's own service credentials."""
