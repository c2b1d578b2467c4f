"""An image's JSON: `stores` says where the data is, and nothing else can claim it."""

from __future__ import annotations

from catalog.queries.images import view_of_image
from infra.http.image_json import image_json
from tests.unit.test_image import new_image


def test_a_custom_property_named_stores_claims_nothing() -> None:
    """PATCH once kept `add /stores` as a custom property; on an image without data it must not
    pass for the stores of its data."""
    shown = image_json(view_of_image(new_image(properties={"stores": "elsewhere", "k": "v"})))
    assert "stores" not in shown
    assert shown["k"] == "v"
