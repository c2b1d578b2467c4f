"""The policy language answers as oslo.policy does, for Glance's defaults and for any check
string an operator may write; what oslo.policy cannot read is refused at start here."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oslo_config import cfg
from oslo_policy import policy as oslo

from catalog.identity import Actor
from catalog.policy import PolicyError, RuleSet, credentials
from catalog.policy.defaults import GLANCE_RULES, RULES
from catalog.policy.language import Credentials, parse


def oslo_enforcer(rules: dict[str, Any], *, registered: bool = False) -> oslo.Enforcer:
    conf = cfg.ConfigOpts()
    conf([], project="catalog-policy-test")
    enforcer = oslo.Enforcer(conf, use_conf=False)
    if registered:
        enforcer.register_defaults(
            [
                oslo.RuleDefault(r.name, r.check, scope_types=list(r.scope_types) or None)
                for r in GLANCE_RULES
            ]
        )
    enforcer.set_rules(oslo.Rules.from_dict(rules), overwrite=True, use_conf=False)
    return enforcer


def oslo_allows(
    enforcer: oslo.Enforcer, rule: str, target: dict[str, Any], creds: Credentials
) -> bool:
    try:
        return bool(enforcer.enforce(rule, target, dict(creds.values)))
    except oslo.InvalidScope:
        return False


PERSONAS = {
    "admin": Actor(user_id="a", project_id="p1", roles=("admin", "member", "reader")),
    "member": Actor(user_id="m", project_id="p1", roles=("member", "reader")),
    "member only": Actor(user_id="m", project_id="p1", roles=("member",)),
    "reader": Actor(user_id="r", project_id="p1", roles=("reader",)),
    "other project": Actor(user_id="o", project_id="p2", roles=("member", "reader")),
    "no role": Actor(user_id="n", project_id="p1"),
    "service": Actor(user_id="s", project_id="svc", roles=("service",)),
    "user with a service token": Actor(
        user_id="m", project_id="p1", roles=("member", "reader"), service_roles=("service",)
    ),
    "Mixed Case": Actor(user_id="c", project_id="p1", roles=("Admin",)),
    "system admin": Actor(user_id="sa", roles=("admin", "member", "reader"), system_scope="all"),
    "domain admin": Actor(user_id="da", roles=("admin", "member", "reader"), domain_id="d1"),
}
TARGETS = [
    {"project_id": owner, "owner": owner, "member_id": member, "visibility": visibility}
    for owner, member, visibility in itertools.product(
        ("p1", "p2", None), ("p1", None), ("private", "shared", "public", "community")
    )
]


@pytest.mark.parametrize("persona", list(PERSONAS))
def test_glances_defaults_answer_as_glance_for_every_persona(persona: str) -> None:
    ours, theirs = (
        RuleSet(),
        oslo_enforcer({r.name: r.check for r in GLANCE_RULES}, registered=True),
    )
    creds = credentials(PERSONAS[persona])
    for rule, target in itertools.product(GLANCE_RULES, TARGETS):
        expected = oslo_allows(theirs, rule.name, target, creds)
        assert ours.enforced(rule.name, target, creds) is expected, (rule.name, target)


def test_a_caller_without_a_project_is_refused_what_oslo_policy_would_let_through() -> None:
    """oslo.policy takes a token without a project as project-scoped, and compares its missing
    project with a missing owner: equal. The catalog refuses such a caller every rule."""
    creds = credentials(Actor(user_id="x", roles=("member", "reader")))
    ownerless = {"project_id": None, "owner": None, "member_id": None, "visibility": "private"}
    theirs = oslo_enforcer({r.name: r.check for r in GLANCE_RULES}, registered=True)
    assert oslo_allows(theirs, "get_image", ownerless, creds)
    assert not RuleSet().enforced("get_image", ownerless, creds)


CHECKS = [
    "@",
    "!",
    "role:admin",
    "role:MEMBER",
    "role:reader",
    "role:%(role)s",
    "rule:a",
    "rule:b",
    "project_id:%(project_id)s",
    "project_id:%(owner)s",
    "user_id:%(missing)s",
    "'public':%(visibility)s",
    "'private':%(visibility)s",
    "True:%(protected)s",
    "42:%(size)s",
    "service_roles:service",
    "roles:member",
    "is_admin_project:True",
    "nested.key:x",
    "system_scope:all",
]


def expressions() -> st.SearchStrategy[str]:
    def combine(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            inner.map(lambda e: f"not {e}"),
            inner.map(lambda e: f"({e})"),
            st.tuples(inner, st.sampled_from(["and", "or", "AND", "Or"]), inner).map(" ".join),
        )

    return st.recursive(st.sampled_from(CHECKS), combine, max_leaves=6)


ROLES = st.lists(st.sampled_from(["admin", "member", "reader", "Service", "other"]), max_size=3)
PROJECTS = st.sampled_from(["p1", "p2"])


@st.composite
def callers(draw: st.DrawFn) -> Credentials:
    actor = Actor(
        user_id="u",
        project_id=draw(PROJECTS),
        roles=tuple(draw(ROLES)),
        service_roles=tuple(draw(ROLES)),
        system_scope=draw(st.sampled_from([None, "all"])),
    )
    values = dict(credentials(actor).values)
    if draw(st.booleans()):
        values["nested"] = {"key": draw(st.sampled_from(["x", ["y", "x"], "z"]))}
    return Credentials(values, "project")


TARGET_VALUES = st.fixed_dictionaries(
    {
        "project_id": st.sampled_from(["p1", "p2", None]),
        "owner": st.sampled_from(["p1", "p2"]),
        "visibility": st.sampled_from(["public", "private"]),
        "protected": st.booleans(),
        "size": st.sampled_from([42, 7, None]),
    },
    optional={"role": st.sampled_from(["admin", "Reader"])},
)
REFERRED = {"a": "role:admin or project_id:%(owner)s", "b": "not role:reader"}
THEIRS = oslo_enforcer({})


@settings(max_examples=400, deadline=None)
@given(expressions(), callers(), TARGET_VALUES)
def test_any_check_string_answers_as_oslo_policy(
    rule: str, creds: Credentials, target: dict[str, Any]
) -> None:
    ours = RuleSet({**REFERRED, "x": rule})
    THEIRS.set_rules(oslo.Rules.from_dict({**REFERRED, "x": rule}), use_conf=False)
    assert ours.check("x", target, creds) is bool(THEIRS.enforce("x", target, dict(creds.values)))


@pytest.mark.parametrize(
    "rule",
    [
        [],
        [[]],
        [["role:admin"]],
        [["role:member", "project_id:%(project_id)s"], ["role:admin"]],
        ["role:reader", ["@"]],
    ],
)
def test_the_older_list_form_reads_as_oslo_policy_reads_it(rule: list[Any]) -> None:
    rules = oslo.Rules.from_dict({"x": rule})  # type: ignore[dict-item]  # the list form too
    THEIRS.set_rules(rules, use_conf=False)
    for persona in PERSONAS.values():
        creds = credentials(persona)
        for target in TARGETS:
            expected = bool(THEIRS.enforce("x", target, dict(creds.values)))
            assert RuleSet({"x": rule}).check("x", target, creds) is expected


@pytest.mark.parametrize(
    ("rule", "problem"),
    [
        ("role:admin or (role:member", "a parenthesis is not closed"),
        ("role:admin and", "it ends where a check should follow"),
        ("role:admin )", "unexpected ')'"),
        ("admin", "a check is KIND:MATCH, @ or !"),
        ("role:admin or or role:member", "unexpected 'or'"),
        ("'quoted'", "a quoted string 'quoted' is not a check"),
        ("http://policy.example.com/check", "remote checks (http:) are not supported"),
        ("project_id:%(project_id)d", "cannot read 'project_id:%(project_id)d'"),
        ("'unterminated:%(x)s", "is not a literal"),
        ("   ", "no check in it"),
        (42, "a rule is a string"),
        ([["role:a"], 3], "a list rule holds lists of check strings"),
    ],
)
def test_what_oslo_policy_would_silently_deny_is_refused_with_the_reason(
    rule: object, problem: str
) -> None:
    with pytest.raises(PolicyError) as refused:
        parse(rule)
    assert problem in str(refused.value)
    assert "\n" not in str(refused.value)


def test_a_rule_referring_to_an_undefined_rule_is_refused() -> None:
    with pytest.raises(PolicyError, match=r"rule 'get_image' refers to rule:typo, which is not"):
        RuleSet({"get_image": "rule:typo or role:admin"})


def test_rules_referring_to_each_other_in_a_loop_are_refused() -> None:
    with pytest.raises(PolicyError, match="in a loop: a -> b -> a"):
        RuleSet({"a": "rule:b", "b": "role:x or rule:a", "get_image": "rule:a"})


def test_a_rule_the_file_gets_wrong_is_named() -> None:
    with pytest.raises(PolicyError, match=r"^rule 'add_image': cannot read 'role:admin or \('"):
        RuleSet({"add_image": "role:admin or ("})


def test_the_operations_guide_lists_every_rule_with_its_default() -> None:
    guide = (Path(__file__).parents[2] / "docs" / "operations.md").read_text()
    for rule in RULES:
        default = f"`{rule.check}`" if rule.check else "(empty: everyone)"
        assert f"| `{rule.name}` | {default} |" in guide, rule.name
