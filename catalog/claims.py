"""What an append claims beyond its stream's next versions, checked in its transaction.

A stream's own rules are its aggregate's; a claim is a rule across streams, which only the
appending transaction can check without a race: a project's quotas (`QuotaClaim`), or a name
no other live stream may hold (`NamespaceNameClaim`). A refused claim appends nothing. The
checks themselves read the views, in `catalog/queries/claims.py`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from catalog.quotas import QuotaClaim


@dataclass(frozen=True)
class NamespaceNameClaim:
    """The metadata definitions namespace of stream `holder` takes the name `name`, which no
    other namespace may have."""

    name: str
    holder: uuid.UUID
    refusal: str
    """What the client is told if another namespace has it (Glance words a create and a
    rename differently)."""


Claim = QuotaClaim | NamespaceNameClaim
