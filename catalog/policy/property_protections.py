"""Property protections, as Glance's `property_protection_file`: who may create, read, update
and delete which custom properties.

The file is INI: each section's name is a regular expression, and the first section (in file
order) that matches somewhere in a property's name rules it; a property no section matches
may not be touched by anyone. Each section gives `create`, `read`, `update` and `delete`:

- `roles` format: a comma-separated list of roles (the caller's own and its service token's),
  `@` for everyone, `!` for no one;
- `policies` format: the name of one rule of the policy (`@` and `!` as above).

As in Glance, properties of the `os_glance` namespace are everyone's (the API refuses them to
users anyway), a section of that name in the file is ignored, and an empty value lets no one.
A section missing an operation, a name that is not a regular expression, `@` beside `!`, or a
rule the policy does not define: the file is refused, with what and where in one line.
"""

from __future__ import annotations

import configparser
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from catalog.policy.language import Credentials, PolicyError
from catalog.policy.rules import RuleSet

Operation = Literal["create", "read", "update", "delete"]
OPERATIONS: tuple[Operation, ...] = ("create", "read", "update", "delete")
RULE_FORMATS = ("roles", "policies")
RESERVED_NAMESPACE = "os_glance"
CACHE_LIMIT = 10_000


@dataclass(frozen=True)
class Permission:
    """Who may do one operation: everyone, no one, holders of some roles, or a rule's say."""

    everyone: bool = False
    roles: frozenset[str] = frozenset()
    rule: str | None = None

    def allows(self, creds: Credentials, rules: RuleSet) -> bool:
        if self.everyone:
            return True
        if self.rule is not None:
            return rules.check(self.rule, {}, creds)
        return not self.roles.isdisjoint(_all_roles(creds))


EVERYONE = Permission(everyone=True)
NO_ONE = Permission()


def _all_roles(creds: Credentials) -> frozenset[str]:
    service_roles = creds.values.get("service_roles") or ()
    assert isinstance(service_roles, list | tuple)
    return creds.roles | {str(role).lower() for role in service_roles}


@dataclass(frozen=True)
class Section:
    name: str
    pattern: re.Pattern[str]
    permissions: dict[Operation, Permission]


class PropertyProtections:
    """The sections of a property protection file, in file order."""

    def __init__(self, sections: list[Section], rules: RuleSet) -> None:
        self.sections = sections
        self.rules = rules
        self._ruling: dict[str, Section | None] = {}

    @classmethod
    def parse(cls, text: str, rule_format: str, rules: RuleSet) -> PropertyProtections:
        """The protections a file's text gives; `PolicyError` says what is wrong with it."""
        if rule_format not in RULE_FORMATS:
            raise PolicyError(f"the rule format is roles or policies, not {rule_format!r}")
        parser = configparser.ConfigParser()
        try:
            parser.read_string(text)
        except configparser.Error as e:
            raise PolicyError(" ".join(str(e).split())) from None
        sections = [
            _section(parser, name, rule_format, rules)
            for name in parser.sections()
            if not name.startswith(RESERVED_NAMESPACE)
        ]
        return cls(sections, rules)

    def allows(self, name: str, operation: Operation, creds: Credentials) -> bool:
        if name.startswith(RESERVED_NAMESPACE):
            return True
        section = self._section_for(name)
        return section is not None and section.permissions[operation].allows(creds, self.rules)

    def _section_for(self, name: str) -> Section | None:
        try:
            return self._ruling[name]
        except KeyError:
            pass
        ruling = next((s for s in self.sections if s.pattern.search(name)), None)
        if len(self._ruling) >= CACHE_LIMIT:
            self._ruling.clear()
        self._ruling[name] = ruling
        return ruling


def _section(
    parser: configparser.ConfigParser, name: str, rule_format: str, rules: RuleSet
) -> Section:
    try:
        pattern = re.compile(name)
    except re.error as e:
        raise PolicyError(f"[{name}] is not a regular expression: {e}") from None
    permissions: dict[Operation, Permission] = {}
    for operation in OPERATIONS:
        try:
            value = parser.get(name, operation)
        except configparser.NoOptionError:
            raise PolicyError(
                f"[{name}] has no {operation}: each section gives create, read, update and delete"
            ) from None
        except configparser.Error as e:
            raise PolicyError(f"[{name}] {operation}: {' '.join(str(e).split())}") from None
        permissions[operation] = _permission(name, operation, value, rule_format, rules)
    return Section(name, pattern, permissions)


def _permission(
    section: str, operation: str, value: str, rule_format: str, rules: RuleSet
) -> Permission:
    where = f"[{section}] {operation} = {value}"
    given = [part.strip() for part in value.split(",") if part.strip()]
    if "@" in given and "!" in given:
        raise PolicyError(f"{where}: @ (everyone) and ! (no one) together")
    if not given or "!" in given:
        return NO_ONE
    if "@" in given:
        return EVERYONE
    if rule_format == "roles":
        return Permission(roles=frozenset(role.lower() for role in given))
    if len(given) > 1:
        raise PolicyError(f"{where}: one rule per operation (combine rules in the policy file)")
    if given[0] not in rules:
        raise PolicyError(f"{where}: the policy has no rule {given[0]!r}")
    return Permission(rule=given[0])


PropertyCheck = Callable[[str, Operation], bool]
"""Whether the caller may do an operation to the custom property of a name."""


def every_property(name: str, operation: Operation) -> bool:
    """No protections: everything may be done to every property."""
    return True
