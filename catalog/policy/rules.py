"""The rule set: the defaults, with what an operator's policy file changes, parsed once.

As in oslo.policy, a rule the file gives replaces the default of that name, a name the file
adds is a rule others can refer to (`rule:my_alias`), and a rule enforced by name is first
checked against the scope of the caller's token: Glance's rules are for project-scoped
tokens, so a system- or domain-scoped token is refused them whatever the check says. Unlike
oslo.policy, which lets a reference to a rule nobody defined fall back to `default` (allow
everyone, by default) and recurses until it fails on a loop, a file with either is refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from catalog.policy.defaults import RULES, RuleDefault
from catalog.policy.language import Credentials, Expression, PolicyError, Target, parse


class RuleSet:
    """Every rule by name, parsed; `check` answers whether a rule allows a caller."""

    def __init__(
        self, overrides: Mapping[str, object] | None = None, defaults: Iterable[RuleDefault] = RULES
    ) -> None:
        """The defaults, with the rules of a policy file (name → check string) in place."""
        self.defaults = {rule.name: rule for rule in defaults}
        self._scopes = {name: frozenset(rule.scope_types) for name, rule in self.defaults.items()}
        self._rules: dict[str, Expression] = {
            name: parse(rule.check) for name, rule in self.defaults.items()
        }
        for name, rule in (overrides or {}).items():
            if not isinstance(name, str) or not name:
                raise PolicyError(f"a rule name is a string, not {name!r}")
            try:
                self._rules[name] = parse(rule)
            except PolicyError as e:
                raise PolicyError(f"rule {name!r}: {e}") from None
        self.overridden = frozenset(overrides or {})
        """The names the policy file gave a rule for."""
        self._check_references()

    def __contains__(self, name: str) -> bool:
        return name in self._rules

    def enforced(self, name: str, target: Target, creds: Credentials) -> bool:
        """Whether rule `name` allows the caller, as an enforcement by name: scope first."""
        scopes = self._scopes[name]
        if scopes and creds.scope not in scopes:
            return False
        return self._rules[name].allows(target, creds, self)

    def check(self, name: str, target: Target, creds: Credentials) -> bool:
        """Rule `name` as another rule refers to it (`rule:name`): no scope of its own."""
        return self._rules[name].allows(target, creds, self)

    def _check_references(self) -> None:
        for name, expression in self._rules.items():
            for referred in expression.rule_names():
                if referred not in self._rules:
                    raise PolicyError(
                        f"rule {name!r} refers to rule:{referred}, which is not defined"
                    )
        done: set[str] = set()
        for name in self._rules:
            self._check_loops(name, (), done)

    def _check_loops(self, name: str, path: tuple[str, ...], done: set[str]) -> None:
        if name in path:
            loop = " -> ".join((*path[path.index(name) :], name))
            raise PolicyError(f"rules refer to each other in a loop: {loop}")
        if name in done:
            return
        for referred in self._rules[name].rule_names():
            self._check_loops(referred, (*path, name), done)
        done.add(name)
