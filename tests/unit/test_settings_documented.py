"""Every setting is described where operators look: in `catalog COMMAND --help` (its field's
docstring) and in docs/operations.md."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from infra.operator_errors import variable
from infra.settings import concerns
from infra.store_options import OPTIONS_OF_DRIVER

OPERATIONS = Path(__file__).parents[2] / "docs" / "operations.md"

SETTINGS = {
    variable(model.model_config.get("env_prefix", ""), name): (model, name)
    for model in concerns().values()
    for name, field in model.model_fields.items()
    if not field.exclude
}
STORE_OPTIONS = {
    name.upper(): (options, name)
    for options in OPTIONS_OF_DRIVER.values()
    for name in options.model_fields
}


@pytest.mark.parametrize(
    ("model", "field"),
    [pytest.param(*found, id=shown) for shown, found in {**SETTINGS, **STORE_OPTIONS}.items()],
)
def test_help_describes_every_setting(model: type[BaseModel], field: str) -> None:
    assert model.model_fields[field].description


@pytest.mark.parametrize("setting", sorted(SETTINGS))
def test_the_operations_guide_lists_every_setting(setting: str) -> None:
    assert f"`{setting}`" in OPERATIONS.read_text()


@pytest.mark.parametrize("option", sorted(STORE_OPTIONS))
def test_the_operations_guide_lists_every_store_option(option: str) -> None:
    assert f"`{option}`" in OPERATIONS.read_text().split("## Stores")[1]
