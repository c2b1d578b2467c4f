"""The node-local image cache: copies of remote images on this node's disk (see
docs/architecture.md, "The image cache")."""
