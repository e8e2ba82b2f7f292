"""Loss weights earned on evidence: ``rules/calibration.yaml`` laid over the hand-written rules.

``benchmarks/calibration/fit_priors.py --write`` fits the weights that rules give losses on a
corpus of real tables (every applicable loss trained on each) and writes them here with their
provenance: on how many corpus tables the rule fired, how often its favourite loss was within
1% of the best there, and that loss's median gain over the task default. The hand-written
rules stay the readable source of *which* losses a rule speaks for and *why*; this file only
says how much, and on what evidence. It is data, validated like a rule file, never code.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from advisor._validation import Problems, pydantic_problems, unknown
from advisor.errors import RuleError
from advisor.records import LossId
from advisor.selection._schema import Effect, Provenance, Rule

__all__ = ["CALIBRATION_FILE", "Provenance", "apply_calibration", "read_calibration"]

CALIBRATION_FILE = "calibration.yaml"
_WEIGHTED = {Effect.INCLUDE, Effect.RAISE, Effect.LOWER}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _ProvenanceModel(_Strict):
    tables: int
    favourite: str | None = None
    right: float | None = None
    median_gain: float | None = None
    fitted: bool = True


class _RuleModel(_Strict):
    losses: dict[str, float]
    hand: dict[str, float] = {}
    provenance: _ProvenanceModel


class _FileModel(_Strict):
    version: int
    tables: int
    commit: str = ""
    min_tables: int | None = None
    rules: dict[str, _RuleModel]


def read_calibration(path: Path) -> dict[str, Any] | None:
    """The calibration document, or None when the file does not exist."""
    if not path.exists():
        return None
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise RuleError(f"{path}:-:yaml: not valid YAML: {exc}") from None


def apply_calibration(
    rules: Sequence[Rule], document: Mapping[str, Any], *, source: str, loss_ids: Sequence[str]
) -> tuple[Rule, ...]:
    """Replace the weights of each calibrated rule and attach its provenance.

    Raises:
        RuleError: every problem at once, as ``file:rule-id:field: message``: an unknown rule
            id or loss id (with a suggestion), a rule that weighs no losses, a negative weight.
    """
    problems = Problems(source)
    try:
        model = _FileModel.model_validate(document)
    except ValidationError as exc:
        for where, message in pydantic_problems(exc, fallback="document", known=lambda loc: ()):
            problems.add("-", where, message)
        raise RuleError("\n".join(problems.lines)) from None
    by_id = {rule.id: rule for rule in rules}
    fitted: dict[str, Rule] = {}
    for rule_id, entry in model.rules.items():
        rule = by_id.get(rule_id)
        if rule is None:
            problems.add(rule_id, "id", unknown("rule", rule_id, by_id))
            continue
        if rule.effect not in _WEIGHTED:
            problems.add(rule_id, "losses", f"effect {rule.effect.value!r} weighs no losses")
            continue
        weights: dict[LossId, float] = {}
        for part, named in (("losses", entry.losses), ("hand", entry.hand)):
            for name, weight in named.items():
                if name not in loss_ids:
                    problems.add(rule_id, f"{part}.{name}", unknown("loss id", name, loss_ids))
                elif weight < 0:
                    problems.add(rule_id, f"{part}.{name}", f"weight {weight!r} is negative")
        for name, weight in entry.losses.items():
            if name in loss_ids and weight >= 0:
                weights[LossId(name)] = float(weight)
        favourite = entry.provenance.favourite
        if favourite is not None and favourite not in loss_ids:
            problems.add(rule_id, "provenance.favourite", unknown("loss id", favourite, loss_ids))
            favourite = None
        fitted[rule_id] = dataclasses.replace(
            rule,
            losses=weights,
            provenance=Provenance(
                tables=entry.provenance.tables,
                corpus=model.tables,
                favourite=None if favourite is None else LossId(favourite),
                right=entry.provenance.right,
                median_gain=entry.provenance.median_gain,
                hand={LossId(k): v for k, v in entry.hand.items() if k in loss_ids},
                commit=model.commit,
                fitted=entry.provenance.fitted,
                min_tables=model.min_tables,
            ),
        )
    if problems.lines:
        raise RuleError("\n".join(problems.lines))
    return tuple(fitted.get(rule.id, rule) for rule in rules)
