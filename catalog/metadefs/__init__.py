"""Metadata definitions (Glance's metadefs): namespaces of property definitions, objects and
tags that other services' resources (images, flavors, volumes) may carry.

Each namespace is an aggregate of its own (`namespace.py`), with its own stream; resource
types exist from their first association with a namespace on.
"""
