"""Who may do what: Glance's rules and their defaults, an operator's policy file, and property
protections, decided in one place (`enforcer.Policy`)."""

from catalog.policy.enforcer import (
    ImageAccess,
    MetadefAccess,
    NamespaceFacts,
    Policy,
    PropertyAccess,
    credentials,
    not_authorized,
    reserved,
)
from catalog.policy.language import PolicyError
from catalog.policy.property_protections import PropertyProtections
from catalog.policy.rules import RuleSet
from catalog.policy.visibility import Viewer, can_see, sees_every_membership, sees_membership

__all__ = [
    "ImageAccess",
    "MetadefAccess",
    "NamespaceFacts",
    "Policy",
    "PolicyError",
    "PropertyAccess",
    "PropertyProtections",
    "RuleSet",
    "Viewer",
    "can_see",
    "credentials",
    "not_authorized",
    "reserved",
    "sees_every_membership",
    "sees_membership",
]
