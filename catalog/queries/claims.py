"""Checking an append's claim (`catalog/claims.py`) inside the appending transaction."""

from __future__ import annotations

import sqlalchemy as sa

from catalog.claims import Claim, NamespaceNameClaim
from catalog.queries.metadef_namespaces import enforce_namespace_name
from catalog.queries.quotas import enforce_quota_claim
from catalog.quotas import QuotaClaim, QuotaLimits


def enforce_claim(conn: sa.Connection, claim: Claim, limits: QuotaLimits) -> None:
    """Refuse the claim (a `CatalogError`) before anything of its append is written."""
    match claim:
        case QuotaClaim():
            enforce_quota_claim(conn, claim, limits)
        case NamespaceNameClaim():
            enforce_namespace_name(conn, claim)
