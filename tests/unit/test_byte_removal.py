"""Commands remove image bytes in one place only, where the location holders are asked first:
`catalog/commands/shared_data.py`. A new way of removing bytes that called a store directly
would remove bytes another image still holds."""

from __future__ import annotations

import ast
from pathlib import Path

import catalog.commands

COMMANDS = Path(catalog.commands.__file__).parent
DECIDES = COMMANDS / "shared_data.py"
AGGREGATE = {"image", "current", "namespace"}
"""How commands name the aggregate (an `Image`, a `Namespace`) they decide on, whose `delete`
is a decision, not I/O."""


def _deletes(path: Path) -> set[str]:
    """Where `path` calls a `delete` method of anything but the aggregate."""
    return {
        f"{path.name}:{node.lineno}"
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "delete"
        and not (isinstance(node.func.value, ast.Name) and node.func.value.id in AGGREGATE)
    }


def test_only_shared_data_asks_a_store_to_delete() -> None:
    others = set().union(*(_deletes(path) for path in COMMANDS.glob("*.py") if path != DECIDES))
    assert others == set()
    assert _deletes(DECIDES)
