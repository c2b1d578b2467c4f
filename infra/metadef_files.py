"""Metadata definitions files in Glance's JSON format (`/etc/glance/metadefs/*.json`): one
namespace per file, with its resource type associations, objects, properties and tags.

Every file is read and checked before any is loaded, so a mistake in one loads none. As
Glance's loader does, a namespace whose file names no owner is owned by `admin`.
"""

from __future__ import annotations

import json
from pathlib import Path

from catalog.errors import CatalogError
from catalog.metadefs.namespace import NamespaceDefinition
from infra.http.metadef_requests import checked, definition_of_namespace
from infra.operator_errors import OperatorError

DEFAULT_OWNER = "admin"


def definition_files(path: Path) -> list[Path]:
    """`path` itself if it is a file, else the `.json` files in it, in name order."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise OperatorError(f"metadefs load: {path} is neither a file nor a directory")
    files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix == ".json")
    if not files:
        raise OperatorError(f"metadefs load: no .json file in {path}")
    return files


def read_definition(path: Path) -> NamespaceDefinition:
    """The namespace `path` defines; `OperatorError` saying what is wrong with it."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise OperatorError(f"metadefs load: cannot read {path}: {e}") from e
    if isinstance(document, dict) and document.get("owner") is None:
        document["owner"] = DEFAULT_OWNER
    try:
        return definition_of_namespace(checked(document, "namespace"))
    except CatalogError as e:
        raise OperatorError(f"metadefs load: {path}: {e.message}") from e


def read_definitions(path: Path) -> list[NamespaceDefinition]:
    """Every namespace defined at `path` (a file or a directory), each name once."""
    definitions: dict[str, tuple[Path, NamespaceDefinition]] = {}
    for file in definition_files(path):
        definition = read_definition(file)
        name = definition.fields.namespace
        if name in definitions:
            other = definitions[name][0]
            raise OperatorError(f"metadefs load: {file} and {other} both define {name}")
        definitions[name] = (file, definition)
    return [definition for _, definition in definitions.values()]
