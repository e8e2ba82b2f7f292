"""The rule language: a closed set of fields, operators and effects, parsed and never evaluated.

A rule file is YAML: ``{version: 1, rules: [...]}``. Each rule::

    - id: outliers-robust              # unique, kebab-case
      factor: outliers                 # one of the SPEC's 12 factors
      when:                            # all must hold; a missing measurement never holds
        - {field: outliers.rate, op: gt, value: 0.05}
      effect: raise                    # include exclude raise lower set metric configure note
      losses: {huber: 2.0, mae: 1.5}   # include/raise/lower: weights; exclude/note: a list
      params: {huber: {delta: {field: target.robust_scale, times: 1.345}}}  # effect: set;
      #                                 a value is a number or {field, times, plus}
      metric: mae                      # effect: metric
      settings: {max_candidates: 5}    # effect: configure
      why: "outlier rate {outliers.rate:.1%} > 5%: robust losses favoured"

``why`` may quote any field as ``{field}`` or ``{field:format-spec}``.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from advisor.records import EffectKind, Factor, LossId, MetricId

__all__ = ["Condition", "Effect", "Op", "ParamValue", "Rule", "RuleFileModel", "RuleModel"]


class Op(enum.StrEnum):
    EQ = "eq"
    NE = "ne"
    LT = "lt"
    LE = "le"
    GT = "gt"
    GE = "ge"
    IN = "in"
    BETWEEN = "between"


#: A rule's effect; the vocabulary lives with the records, whose ``LossEffect`` uses it too.
Effect = EffectKind


SETTINGS = {
    "max_candidates": "largest shortlist kept (2..6)",
    "min_candidates": "smallest shortlist kept, even with low scores",
    "repeats": "seeds/splits each finalist is repeated over in the confirmation",
    "robust_validation": "1: score validation rows that a robust fit does not flag as gross errors",
}


# --------------------------------------------------------------------------- parsed form


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Condition:
    field: str
    op: Op
    value: Any

    def __str__(self) -> str:
        return f"{self.field} {self.op.value} {self.value!r}"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ParamValue:
    """A parameter set by a rule: a constant, or ``field * times + plus`` from the profile."""

    constant: float | None = None
    field: str | None = None
    times: float = 1.0
    plus: float = 0.0


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Provenance:
    """The corpus evidence behind one rule's fitted weights."""

    tables: int  # corpus tables on which the rule fired
    corpus: int  # tables in the corpus
    favourite: LossId | None  # the loss the rule weighs most (None for 'lower' rules)
    right: float | None  # share of those tables where the favourite was within 1% of the best
    median_gain: float | None  # its median regret gain over the task's default loss
    hand: Mapping[LossId, float]  # the hand-written weights the fit started from
    commit: str
    # whether the fit judged the weights: a rule that fired on fewer than ``min_tables`` corpus
    # tables keeps its hand weights (a table or two would decide them); its evidence stays shown
    fitted: bool = True
    min_tables: int | None = None

    def status(self, losses: Mapping[LossId, float]) -> str:
        """How the weights now in force came about, for ``lossadvisor rules``.

        Example:
            >>> evidence = Provenance(tables=9, corpus=115, favourite=LossId.HUBER, right=0.5,
            ...     median_gain=0.0, hand={LossId.HUBER: 2.0}, commit="abc", fitted=False,
            ...     min_tables=20)
            >>> evidence.status({LossId.HUBER: 2.0})
            'hand weights kept: fewer than the 20 corpus tables a fit needs'
        """
        if not self.fitted:
            need = f"the {self.min_tables} corpus tables" if self.min_tables else "the tables"
            return f"hand weights kept: fewer than {need} a fit needs"
        if dict(losses) == dict(self.hand):
            return "weights fitted, the hand values kept"
        return "weights fitted"

    def sentence(self) -> str:
        """The evidence in words, for rationales and ``lossadvisor rules``.

        Example:
            >>> evidence = Provenance(tables=37, corpus=115, favourite=LossId.HUBER, right=0.81,
            ...     median_gain=0.031, hand={}, commit="abc")
            >>> print(evidence.sentence())  # doctest: +NORMALIZE_WHITESPACE
            on 37 of 115 corpus tables where this rule fired, huber was within 1% of the best
            on 81% (median gain 3.1% over the task default)
        """
        head = f"on {self.tables} of {self.corpus} corpus tables where this rule fired"
        if self.favourite is None or self.right is None:
            return f"{head}, the fitted weights lower the losses it names"
        gain = (
            f" (median gain {self.median_gain:.1%} over the task default)"
            if self.median_gain is not None
            else ""
        )
        return f"{head}, {self.favourite.value} was within 1% of the best on {self.right:.0%}{gain}"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Rule:
    id: str
    factor: Factor
    when: tuple[Condition, ...]
    effect: Effect
    why: str
    source: str
    losses: Mapping[LossId, float] = dataclasses.field(default_factory=dict)
    params: Mapping[LossId, Mapping[str, ParamValue]] = dataclasses.field(default_factory=dict)
    metric: MetricId | None = None
    settings: Mapping[str, int] = dataclasses.field(default_factory=dict)
    # the corpus evidence behind fitted weights (``rules/calibration.yaml``); None: hand-set
    provenance: Provenance | None = None


# --------------------------------------------------------------------------- file schema


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ConditionModel(_Strict):
    field: str
    op: Literal["eq", "ne", "lt", "le", "gt", "ge", "in", "between"]
    value: Any


class FromFieldModel(_Strict):
    field: str
    times: float = 1.0
    plus: float = 0.0


class RuleModel(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$", max_length=80)
    factor: str
    when: list[ConditionModel] = Field(default_factory=list)
    effect: str
    losses: list[str] | dict[str, float] | None = None
    params: dict[str, dict[str, float | FromFieldModel]] | None = None
    metric: str | None = None
    settings: dict[str, int] | None = None
    why: str = Field(min_length=1)


class RuleFileModel(_Strict):
    version: Literal[1] = 1
    rules: list[dict[str, Any]]
