"""Load and validate rule files, reporting every problem at once as ``file:rule-id:field: msg``.

Validation is two-layered: pydantic checks the shape (unknown keys, types), then this module
checks meaning (known fields, operators that suit the field's type, known loss and metric ids,
effects that carry what they need), with a "did you mean" wherever a name is close to a known one
(``advisor._validation``, shared with the loss catalog). The loss ids a rule may name are the
catalog's: the SPEC's and the registered ones (``advisor.losses.register``, entry points), so a
loss must be registered before the rules naming it are loaded. Nothing here imports torch.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from advisor._paths import rules_dir
from advisor._validation import Problems, pydantic_problems, unknown
from advisor.errors import RuleError
from advisor.losses._catalog import load_catalog
from advisor.records import Factor, LossId, MetricId
from advisor.selection._calibration import CALIBRATION_FILE, apply_calibration, read_calibration
from advisor.selection._fields import FIELDS, FieldType
from advisor.selection._schema import (
    SETTINGS,
    Condition,
    Effect,
    FromFieldModel,
    Op,
    ParamValue,
    Rule,
    RuleFileModel,
    RuleModel,
)

__all__ = ["RULE_FILES", "load_rules", "parse_rules"]

RULE_FILES = ("selection.yaml",)
_LOSS_EFFECTS = {Effect.INCLUDE, Effect.EXCLUDE, Effect.RAISE, Effect.LOWER, Effect.NOTE}
_ORDER_OPS = {Op.LT, Op.LE, Op.GT, Op.GE, Op.BETWEEN}


def _loss_ids() -> list[str]:
    """Every loss id a rule may name: the catalog's (loads the installed entry points once)."""
    return [loss.value for loss in load_catalog()]


def _check_condition(cond: Any, where: str, problems: Problems, rule_id: str) -> Condition | None:
    spec = FIELDS.get(cond.field)
    if spec is None:
        problems.add(rule_id, where, unknown("field", cond.field, FIELDS))
        return None
    op = Op(cond.op)
    value = cond.value
    if op in _ORDER_OPS and spec.type is not FieldType.NUMBER:
        problems.add(
            rule_id, where, f"operator {op.value!r} needs a number field, not {spec.name!r}"
        )
        return None
    if op is Op.BETWEEN:
        ok = isinstance(value, list) and len(value) == 2
        ok = ok and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
        if not ok:
            problems.add(rule_id, where, f"'between' takes [low, high], got {value!r}")
            return None
        if value[0] > value[1]:
            problems.add(rule_id, where, f"'between' needs low <= high, got {value!r}; swap them")
            return None
        value = tuple(value)
    elif op is Op.IN:
        if not isinstance(value, list) or not value:
            problems.add(rule_id, where, f"'in' takes a non-empty list, got {value!r}")
            return None
        value = tuple(value)
    values = value if op in (Op.IN, Op.BETWEEN) else (value,)
    for item in values:
        if spec.type is FieldType.CHOICE and item not in spec.choices:
            problems.add(rule_id, where, unknown(f"value for {spec.name}", str(item), spec.choices))
            return None
        if spec.type is FieldType.NUMBER and (
            isinstance(item, bool) or not isinstance(item, int | float)
        ):
            problems.add(rule_id, where, f"{spec.name} is a number, got {item!r}")
            return None
        if spec.type is FieldType.BOOL and not isinstance(item, bool):
            problems.add(rule_id, where, f"{spec.name} is true/false, got {item!r}")
            return None
    return Condition(field=cond.field, op=op, value=value)


def _check_losses(model: RuleModel, problems: Problems) -> dict[LossId, float]:
    raw = model.losses
    if raw is None:
        return {}
    weights = dict.fromkeys(raw, 1.0) if isinstance(raw, list) else dict(raw)
    losses: dict[LossId, float] = {}
    known = _loss_ids()
    for name, weight in weights.items():
        if name not in known:
            problems.add(model.id, "losses", unknown("loss id", name, known))
        elif weight < 0:
            problems.add(model.id, "losses", f"weight for {name!r} must be >= 0 (use 'lower')")
        else:
            losses[LossId(name)] = float(weight)
    return losses


def _check_params(model: RuleModel, problems: Problems) -> dict[LossId, dict[str, ParamValue]]:
    parsed: dict[LossId, dict[str, ParamValue]] = {}
    known = _loss_ids() if model.params else []
    for name, params in (model.params or {}).items():
        if name not in known:
            problems.add(model.id, "params", unknown("loss id", name, known))
            continue
        values: dict[str, ParamValue] = {}
        for param, value in params.items():
            if isinstance(value, FromFieldModel):
                if value.field not in FIELDS:
                    problems.add(
                        model.id, f"params.{name}.{param}", unknown("field", value.field, FIELDS)
                    )
                    continue
                values[param] = ParamValue(field=value.field, times=value.times, plus=value.plus)
            else:
                values[param] = ParamValue(constant=float(value))
        parsed[LossId(name)] = values
    return parsed


def _check_effect_payload(model: RuleModel, effect: Effect, problems: Problems) -> None:
    needs = {
        Effect.SET: ("params", model.params),
        Effect.METRIC: ("metric", model.metric),
        Effect.CONFIGURE: ("settings", model.settings),
    }
    if effect in _LOSS_EFFECTS and not model.losses:
        problems.add(model.id, "losses", f"effect {effect.value!r} needs a non-empty 'losses'")
    if effect in needs and not needs[effect][1]:
        problems.add(
            model.id, needs[effect][0], f"effect {effect.value!r} needs {needs[effect][0]!r}"
        )


def _parse_rule(raw: Mapping[str, Any], index: int, problems: Problems) -> Rule | None:
    label = str(raw.get("id", f"#{index + 1}")) if isinstance(raw, Mapping) else f"#{index + 1}"
    try:
        model = RuleModel.model_validate(raw)
    except ValidationError as exc:
        for where, message in pydantic_problems(
            exc, fallback="rule", known=lambda loc: tuple(RuleModel.model_fields)
        ):
            problems.add(label, where, message)
        return None
    before = len(problems.lines)
    if model.factor not in Factor.__members__.values():
        problems.add(model.id, "factor", unknown("factor", model.factor, [f.value for f in Factor]))
    effect = None
    if model.effect in Effect.__members__.values():
        effect = Effect(model.effect)
    else:  # keep checking the rest of the rule: every problem is reported at once
        problems.add(model.id, "effect", unknown("effect", model.effect, [e.value for e in Effect]))
    conditions = tuple(
        _check_condition(cond, f"when[{i}]", problems, model.id)
        for i, cond in enumerate(model.when)
    )
    losses = _check_losses(model, problems)
    params = _check_params(model, problems)
    if effect is not None:
        _check_effect_payload(model, effect, problems)
    metric = None
    if model.metric is not None:
        if model.metric in MetricId.__members__.values():
            metric = MetricId(model.metric)
        else:
            problems.add(
                model.id, "metric", unknown("metric", model.metric, [m.value for m in MetricId])
            )
    for key in model.settings or {}:
        if key not in SETTINGS:
            problems.add(model.id, f"settings.{key}", unknown("setting", key, SETTINGS))
    if len(problems.lines) > before or effect is None:
        return None
    return Rule(
        id=model.id,
        factor=Factor(model.factor),
        when=tuple(c for c in conditions if c is not None),
        effect=effect,
        why=model.why,
        source=problems.source,
        losses=losses,
        params=params,
        metric=metric,
        settings=dict(model.settings or {}),
    )


def parse_rules(document: Any, *, source: str) -> tuple[Rule, ...]:
    """Validate one parsed YAML document of rules.

    Raises:
        RuleError: listing every problem found, one per line.

    Example:
        >>> rules = parse_rules({"version": 1, "rules": [{"id": "never-hinge",
        ...     "factor": "margin", "effect": "exclude", "losses": ["hinge"],
        ...     "why": "our team never uses hinge"}]}, source="team.yaml")
        >>> rules[0].effect.value, rules[0].losses
        ('exclude', {<LossId.HINGE: 'hinge'>: 1.0})
    """
    problems = Problems(source)
    if not isinstance(document, Mapping):
        raise RuleError(f"{source}: a rule file is a mapping with 'version' and 'rules'")
    try:
        parsed = RuleFileModel.model_validate(document)
    except ValidationError as exc:
        for where, message in pydantic_problems(
            exc, fallback="file", known=lambda loc: tuple(RuleFileModel.model_fields)
        ):
            problems.add("-", where, message)
        raise RuleError("\n".join(problems.lines)) from None
    rules: list[Rule] = []
    seen: set[str] = set()
    for index, raw in enumerate(parsed.rules):
        rule = _parse_rule(raw, index, problems)
        if rule is None:
            continue
        if rule.id in seen:
            problems.add(rule.id, "id", "duplicate rule id in this file")
        seen.add(rule.id)
        rules.append(rule)
    if problems.lines:
        raise RuleError("\n".join(problems.lines))
    return tuple(rules)


def _read_rule_file(path: Path) -> tuple[Rule, ...]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RuleError(f"{path}: rule file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RuleError(f"{path}: cannot read rule file ({exc.__class__.__name__})") from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise RuleError(
            f"{path}:-:yaml: not valid YAML{where}: {getattr(exc, 'problem', exc)}"
        ) from None
    return parse_rules(document, source=str(path))


@functools.lru_cache(maxsize=2)
def _bundled_rules(calibrated: bool = True) -> tuple[Rule, ...]:
    """The bundled rules, with the weights fitted on the calibration corpus laid over them."""
    rules: list[Rule] = []
    for name in RULE_FILES:
        rules.extend(_read_rule_file(rules_dir() / name))
    if not calibrated:
        return tuple(rules)
    path = rules_dir() / CALIBRATION_FILE
    document = read_calibration(path)
    if document is None:
        return tuple(rules)
    return apply_calibration(rules, document, source=str(path), loss_ids=_loss_ids())


def load_rules(
    extra: Sequence[str | os.PathLike[str]] = (), *, calibrated: bool = True
) -> tuple[Rule, ...]:
    """Load the bundled rules, then each extra file in order.

    A user rule with the id of an earlier rule replaces it in place, so a team can retune a
    bundled rule without copying the whole set; new ids are appended (later rules win ties
    such as which metric is used).

    Args:
        extra: rule files laid over the bundled ones.
        calibrated: lay the weights fitted on the corpus (``rules/calibration.yaml``) over
            the hand-written ones; ``False`` gives the rules as written.

    Raises:
        RuleError: a file is missing, not YAML, or has invalid rules (all problems listed).
    """
    rules = list(_bundled_rules(calibrated))
    for path in extra:
        for rule in _read_rule_file(Path(path)):
            ids = [r.id for r in rules]
            if rule.id in ids:
                rules[ids.index(rule.id)] = rule
            else:
                rules.append(rule)
    return tuple(rules)
