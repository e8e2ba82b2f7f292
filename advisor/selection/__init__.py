"""The rule engine: rules as data in ``rules/``, validated at load, matched against a profile."""

from advisor.selection._fields import FIELDS, FieldSpec, profile_fields
from advisor.selection._loader import load_rules, parse_rules
from advisor.selection._matcher import match_rules, parse_objective, render_why, shortlist
from advisor.selection._schema import Condition, Effect, Op, ParamValue, Rule

__all__ = [
    "FIELDS",
    "Condition",
    "Effect",
    "FieldSpec",
    "Op",
    "ParamValue",
    "Rule",
    "load_rules",
    "match_rules",
    "parse_objective",
    "parse_rules",
    "profile_fields",
    "render_why",
    "shortlist",
]
