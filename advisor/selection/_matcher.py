"""Evaluate rules against a profile and an objective: a ranked Shortlist with its full trace.

Deterministic by construction: rules are applied in file order, ties in score go to the
simpler, better-understood loss (the catalog's ``simplicity``), then to the loss id.
"""

from __future__ import annotations

import operator
import re
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from advisor.errors import RuleError, UsageError
from advisor.records import (
    Candidate,
    DataProfile,
    EffectKind,
    LossEffect,
    LossId,
    MetricId,
    Objective,
    ObjectiveKind,
    Reason,
    RuleFiring,
    Shortlist,
    Task,
)
from advisor.selection._fields import profile_fields
from advisor.selection._loader import load_rules
from advisor.selection._schema import Condition, Effect, Op, Rule

if TYPE_CHECKING:
    from advisor.losses import LossSpec

__all__ = ["match_rules", "parse_objective", "render_why", "shortlist"]

DEFAULT_MAX_CANDIDATES = 5
DEFAULT_MIN_CANDIDATES = 2
MIN_SHORTLIST, MAX_SHORTLIST = 2, 6
_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_.]*)(?::([^{}]*))?\}")
_COMPARE: Mapping[Op, Callable[[Any, Any], bool]] = {
    Op.EQ: operator.eq,
    Op.NE: operator.ne,
    Op.LT: operator.lt,
    Op.LE: operator.le,
    Op.GT: operator.gt,
    Op.GE: operator.ge,
    Op.IN: lambda actual, allowed: actual in allowed,
    Op.BETWEEN: lambda actual, bounds: bounds[0] <= actual <= bounds[1],
}


def parse_objective(text: str | Objective | None) -> Objective:
    """Parse ``--objective``: one of the SPEC's names, or ``quantile:Q`` with 0 < Q < 1.

    Raises:
        UsageError: unknown objective or a quantile outside (0, 1).

    Example:
        >>> parse_objective("quantile:0.9").quantile
        0.9
        >>> parse_objective("robust").kind.value
        'robust'
    """
    if isinstance(text, Objective):
        return text
    if text is None or text == "":
        return Objective()
    name, _, argument = str(text).partition(":")
    names = [k.value for k in ObjectiveKind]
    if name not in names:
        raise UsageError(
            f"unknown objective {text!r}; expected one of {', '.join(names)}"
            " (quantile as quantile:Q)"
        )
    kind = ObjectiveKind(name)
    if kind is ObjectiveKind.QUANTILE:
        try:
            q = float(argument)
        except ValueError:
            raise UsageError(f"objective {text!r} needs a number, e.g. quantile:0.9") from None
        if not 0.0 < q < 1.0:
            raise UsageError(f"objective {text!r}: the quantile must lie strictly between 0 and 1")
        return Objective(kind=kind, quantile=q)
    if argument:
        raise UsageError(f"objective {name!r} takes no argument, got {text!r}")
    return Objective(kind=kind)


def _format(value: Any, spec: str | None) -> str:
    if value is None:
        return "n/a"
    if spec:
        try:
            return format(value, spec)
        except (TypeError, ValueError):
            return str(value)
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def render_why(template: str, fields: Mapping[str, Any]) -> str:
    """Fill ``{field}`` / ``{field:spec}`` placeholders with measured values; nothing evaluated.

    Example:
        >>> render_why("outlier rate {outliers.rate:.1%} > 5%", {"outliers.rate": 0.084})
        'outlier rate 8.4% > 5%'
    """

    def fill(match: re.Match[str]) -> str:
        name, spec = match.group(1), match.group(2)
        if name not in fields:
            return match.group(0)
        return _format(fields[name], spec)

    return _PLACEHOLDER.sub(fill, template)


def _holds(condition: Condition, fields: Mapping[str, Any]) -> bool:
    actual = fields.get(condition.field)
    if actual is None:
        return False
    try:
        return bool(_COMPARE[condition.op](actual, condition.value))
    except TypeError:
        return False


def _evidence(rule: Rule, fields: Mapping[str, Any]) -> dict[str, Any]:
    names = [c.field for c in rule.when] + [m[0] for m in _PLACEHOLDER.findall(rule.why)]
    return {name: fields[name] for name in dict.fromkeys(names) if name in fields}


def match_rules(rules: Sequence[Rule], fields: Mapping[str, Any]) -> list[tuple[Rule, bool, str]]:
    """Return ``(rule, fired, detail)`` for every rule: the why text, or the first failing test."""
    results = []
    for rule in rules:
        failing = next((c for c in rule.when if not _holds(c, fields)), None)
        if failing is None:
            results.append((rule, True, render_why(rule.why, fields)))
        else:
            actual = _format(fields.get(failing.field), None)
            results.append((rule, False, f"{failing} is false ({failing.field} = {actual})"))
    return results


class _Tally:
    """Mutable accumulation while rules apply; frozen into records at the end."""

    def __init__(self, catalog: Mapping[LossId, LossSpec], applicable: set[LossId]) -> None:
        self.catalog = catalog
        self.applicable = applicable
        self.included: set[LossId] = set()
        self.excluded: set[LossId] = set()
        self.scores: dict[LossId, float] = defaultdict(float)
        self.reasons: dict[LossId, list[Reason]] = defaultdict(list)
        self.params: dict[LossId, dict[str, Any]] = {}
        self.metric: tuple[MetricId, str] | None = None
        self.settings: dict[str, int] = {}

    def candidate(self, loss: LossId) -> Candidate:
        return Candidate(
            loss=loss,
            params=_params_for(self.catalog[loss], self.params.get(loss, {})),
            score=round(self.scores[loss], 4),
            reasons=tuple(self.reasons[loss]),
        )

    def reason(self, rule: Rule, text: str, evidence: dict[str, Any], effect: LossEffect) -> None:
        self.reasons[effect.loss].append(
            Reason(rule=rule.id, factor=rule.factor, text=text, effect=effect, evidence=evidence)
        )


#: How the trace shows a weight a rule gave a loss.
_SIGNS = {EffectKind.INCLUDE: "+", EffectKind.RAISE: "+", EffectKind.LOWER: "-"}


def _apply(rule: Rule, text: str, fields: Mapping[str, Any], tally: _Tally) -> str:
    """Apply one fired rule; return the effect as the trace shows it."""
    effect = rule.effect
    if effect is Effect.METRIC:
        assert rule.metric is not None
        tally.metric = (rule.metric, text)
        return f"metric = {rule.metric.value}"
    if effect is Effect.CONFIGURE:
        tally.settings.update(rule.settings)
        return "configure " + ", ".join(f"{k}={v}" for k, v in rule.settings.items())
    if effect is Effect.SET:
        return _apply_set(rule, text, fields, tally)
    return _apply_to_losses(rule, text, fields, tally)


def _apply_set(rule: Rule, text: str, fields: Mapping[str, Any], tally: _Tally) -> str:
    """A ``set`` rule: each parameter it can compute from the measured fields, for the losses
    this task can use (a Huber delta means nothing to a binary table)."""
    evidence = _evidence(rule, fields)
    done = []
    for loss, params in rule.params.items():
        if loss not in tally.applicable:
            done.append(f"{loss.value} (not for this task)")
            continue
        for name, spec in params.items():
            value = spec.constant
            if spec.field is not None:
                measured = fields.get(spec.field)
                value = None if measured is None else float(measured) * spec.times + spec.plus
            if value is not None:
                shown = float(f"{value:.4g}")
                tally.params.setdefault(loss, {})[name] = shown
                effect = LossEffect(kind=EffectKind.SET, loss=loss, param=name, value=shown)
                tally.reason(rule, text, evidence, effect)
                done.append(f"{loss.value}.{name}={value:.4g}")
    return "set " + (", ".join(done) or "nothing (value not measured)")


def _apply_to_losses(rule: Rule, text: str, fields: Mapping[str, Any], tally: _Tally) -> str:
    """An include, exclude, raise, lower or note rule: each of its losses this task can use."""
    evidence = _evidence(rule, fields)
    kind = rule.effect
    shown = []
    for loss, weight in rule.losses.items():
        if loss not in tally.applicable:
            shown.append(f"{loss.value} (not for this task)")
            continue
        if kind is EffectKind.INCLUDE:
            tally.included.add(loss)
        if kind is EffectKind.EXCLUDE:
            tally.excluded.add(loss)
        if kind in _SIGNS:
            tally.scores[loss] += -weight if kind is EffectKind.LOWER else weight
            shown.append(f"{loss.value} {_SIGNS[kind]}{weight:g}")
        else:
            shown.append(loss.value)
        effect = LossEffect(kind=kind, loss=loss, value=weight if kind in _SIGNS else None)
        cited = rule.provenance is not None and rule.provenance.favourite == loss
        why = f"{text}; {rule.provenance.sentence()}" if cited else text
        tally.reason(rule, why, evidence, effect)
    return f"{kind.value} " + ", ".join(shown)


def _params_for(spec: LossSpec, overrides: Mapping[str, Any]) -> dict[str, Any]:
    params = dict(spec.defaults())
    params.update({k: v for k, v in overrides.items() if k in params})
    return params


def shortlist(
    profile: DataProfile,
    *,
    objective: Objective | str | None = None,
    rules: Sequence[Rule] | None = None,
    metric: MetricId | str | None = None,
) -> Shortlist:
    """Rank the losses that suit this profile and objective, with the rules behind each.

    Args:
        profile: the measured data.
        objective: the user's stated preference (``--objective``), default ``auto``.
        rules: rules to apply; default: the bundled rules.
        metric: the metric the user judges by (``--metric``): it overrides the one the rules
            choose, and rules may test it (field ``metric``).

    Raises:
        UsageError: unknown metric or objective, or every applicable loss was excluded.
        RuleError: no rule chose a validation metric for this task.
    """
    from advisor.losses import load_catalog  # torch loads only when a shortlist is made

    objective = parse_objective(objective)
    rules = load_rules() if rules is None else rules
    catalog = load_catalog()
    applicable = {loss for loss, spec in catalog.items() if profile.task in spec.tasks}
    metric = _parse_metric(metric)
    fields = profile_fields(profile, objective, metric)
    tally = _Tally(catalog, applicable)
    trace = []
    for rule, fired, detail in match_rules(rules, fields):
        if fired and rule.effect is Effect.SET and not applicable.intersection(rule.params):
            # its conditions hold, but every loss it sets is one this task cannot use
            fired, detail = False, _not_for(rule.params, profile.task)
        effect = _apply(rule, detail, fields, tally) if fired else rule.effect.value
        trace.append(
            RuleFiring(rule=rule.id, factor=rule.factor, fired=fired, effect=effect, detail=detail)
        )
    if metric is not None:
        tally.metric = (metric, "chosen with --metric")
    if tally.metric is None:
        raise RuleError(
            f"no rule chose a validation metric for task {profile.task.value!r}; "
            "add a rule with effect 'metric' or pass `metric`"
        )
    kept, dropped = _kept(tally, profile.task)
    return Shortlist(
        task=profile.task,
        objective=objective,
        metric=tally.metric[0],
        metric_reason=tally.metric[1],
        candidates=tuple(tally.candidate(loss) for loss in kept),
        excluded=tuple(tally.candidate(loss) for loss in dropped),
        trace=tuple(trace),
        settings=dict(tally.settings),
    )


def _not_for(losses: Mapping[LossId, Any], task: Task) -> str:
    """Why a ``set`` rule whose conditions hold does not fire.

    Example:
        >>> _not_for({LossId.HUBER: {}}, Task.BINARY)
        'huber is not for task binary: nothing to set'
    """
    names = ", ".join(loss.value for loss in losses)
    verb = "is" if len(losses) == 1 else "are"
    return f"{names} {verb} not for task {task.value}: nothing to set"


def _parse_metric(metric: MetricId | str | None) -> MetricId | None:
    if metric is None:
        return None
    names = [m.value for m in MetricId]
    if str(metric) not in names:
        raise UsageError(f"unknown metric {str(metric)!r}; expected one of {', '.join(names)}")
    return MetricId(str(metric))


def _kept(tally: _Tally, task: Task) -> tuple[list[LossId], list[LossId]]:
    """The shortlist and the losses left off it, best first.

    Included losses rank by score, then the simpler loss, then the id. The SPEC's shortlist
    holds 2..6 candidates whatever a configure rule asks for; those scoring above zero are
    kept, down to the smallest count asked for.
    """
    ranked = sorted(
        tally.included - tally.excluded,
        key=lambda loss: (-tally.scores[loss], tally.catalog[loss].simplicity, loss.value),
    )
    if not ranked:
        raise UsageError(
            f"every loss applicable to task {task.value!r} was excluded by the rules; "
            "remove an 'exclude' rule or pass another `task`"
        )
    most = max(
        MIN_SHORTLIST,
        min(MAX_SHORTLIST, tally.settings.get("max_candidates", DEFAULT_MAX_CANDIDATES)),
    )
    least = max(
        MIN_SHORTLIST, min(most, tally.settings.get("min_candidates", DEFAULT_MIN_CANDIDATES))
    )
    kept = [loss for loss in ranked[:most] if tally.scores[loss] > 0]
    kept = kept if len(kept) >= least else ranked[:least]
    dropped = [loss for loss in ranked if loss not in kept] + sorted(
        tally.excluded & tally.included, key=lambda loss: loss.value
    )
    return kept, dropped
