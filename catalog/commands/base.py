"""The base of every command."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Command(BaseModel):
    """A request to change the catalog, in the imperative (`CreateImage`, `DeleteImage`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
