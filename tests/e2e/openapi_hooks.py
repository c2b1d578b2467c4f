"""What schemathesis needs to be told of the API (loaded through SCHEMATHESIS_HOOKS by
tests/e2e/test_openapi_conformance.py): Glance's JSON patch media types are JSON."""

from __future__ import annotations

import schemathesis

from infra.http.openapi.operations import PATCH_TYPES

for media_type in PATCH_TYPES:
    schemathesis.serializer.alias(media_type, "application/json")
