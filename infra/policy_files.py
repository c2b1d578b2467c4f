"""The policy as the operator configured it: Glance's defaults, a policy file's rules in place of
them (`CATALOG_POLICY_FILE`, oslo.policy's YAML or JSON), and the property protections
(`CATALOG_PROPERTY_PROTECTION_FILE`, Glance's INI), read once at start.

A file that cannot be used stops the service before it serves anything, with one line naming
the setting, the file and what is wrong (`PolicyFileError`).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from catalog.policy import Policy, PolicyError, PropertyProtections, RuleSet
from infra.operator_errors import SettingsError
from infra.settings import PolicySettings


class PolicyFileError(SettingsError):
    """A policy or property protection file the service cannot start with."""


def load_policy(settings: PolicySettings) -> Policy:
    rules = _rules(settings.policy_file)
    protections = None
    path = settings.property_protection_file
    if path is not None:
        try:
            protections = PropertyProtections.parse(
                _text(path, "CATALOG_PROPERTY_PROTECTION_FILE"),
                settings.property_protection_rule_format,
                rules,
            )
        except PolicyError as e:
            raise PolicyFileError(f"CATALOG_PROPERTY_PROTECTION_FILE {path}: {e}") from None
    return Policy(rules, protections)


def _rules(path: Path | None) -> RuleSet:
    if path is None:
        return RuleSet()
    text = _text(path, "CATALOG_POLICY_FILE")
    try:
        # As oslo.policy: JSON is YAML too; an empty file has no rules.
        overrides = yaml.safe_load(text) or {}
    except yaml.YAMLError as e:
        raise PolicyFileError(
            f"CATALOG_POLICY_FILE {path}: not YAML or JSON: {_where(e)}"
        ) from None
    if not isinstance(overrides, dict):
        raise PolicyFileError(
            f"CATALOG_POLICY_FILE {path}: expected rule names and their check strings, "
            f"found {type(overrides).__name__}"
        )
    try:
        return RuleSet(overrides)
    except PolicyError as e:
        raise PolicyFileError(f"CATALOG_POLICY_FILE {path}: {e}") from None


def _text(path: Path, setting: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise PolicyFileError(f"{setting} {path}: cannot be read: {_one_line(e)}") from None


def _where(error: yaml.YAMLError) -> str:
    """Where in the file YAML found the problem, and what it is."""
    if isinstance(error, yaml.MarkedYAMLError) and error.problem_mark is not None:
        mark = error.problem_mark
        return f"line {mark.line + 1}, column {mark.column + 1}: {error.problem}"
    return _one_line(error)


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())
