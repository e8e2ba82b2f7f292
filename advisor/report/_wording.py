"""Sentences that more than one renderer prints, written once.

The search decides in numbers and a typed verdict (``advisor.records.Decision``); the words
for it are here, with the rest of the wording, so that the statistics can change without
touching a sentence and a sentence without touching the statistics.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from typing import Any

from advisor.records import (
    Candidate,
    Decision,
    DivergedRun,
    EffectKind,
    LossId,
    Reason,
    SearchResult,
    Verdict,
)

__all__ = [
    "decision_statement",
    "diverged_note",
    "exact",
    "param_text",
    "params_text",
    "race_note",
    "reason_lines",
    "reason_text",
    "same_value",
    "tuned_lines",
]

# digits at which a recommended parameter is compared with the one the rules proposed (the
# shortlist shows 4): a value the search left alone never reads as "tuned" by rounding
_SAME_DIGITS = 4


def exact(value: float) -> str:
    """A number as short as it can be written without changing it (``2`` not ``2.0``).

    The recommended parameters are already rounded where the advice is made; every view of
    them (terminal, HTML, ``--quiet``, ``explain``) prints them through this, so all show
    the value the JSON and the PyTorch snippet carry, digit for digit.

    Example:
        >>> exact(2.0), exact(8.8361), exact(0.0003132), exact(123456789.0)
        ('2', '8.8361', '0.0003132', '123456789')
    """
    short = f"{value:g}"
    return short if float(short) == value else repr(float(value)).removesuffix(".0")


@functools.cache
def _derived_from_data(loss: LossId | str, name: str) -> bool:
    """Whether ``build_loss`` computes a parameter left None from the data (Huber's delta,
    a pos_weight) rather than leaving it off (focal's alpha: no alpha weighting).

    Asked of ``resolve_params`` itself, so the words cannot drift from what is built.
    """
    from advisor.errors import AdvisorError
    from advisor.losses import LossContext, resolve_params

    context = LossContext(n_outputs_classes=2, class_counts=(1, 1), n_rows=2)
    try:
        return resolve_params(loss, {name: None}, context=context).get(name) is not None
    except AdvisorError:  # an unknown loss or parameter: say nothing it could contradict
        return False


def param_text(loss: LossId | str, name: str, value: Any, spec: str | None = ".4g") -> str:
    """One parameter's value as every view shows it.

    ``None`` reads ``from data`` where the loss computes it from the training rows when it
    is built (a pos_weight of negatives/positives) and ``none`` where it stays off (focal's
    alpha on several classes); ``spec=None`` prints a number exactly (:func:`exact`).

    Example:
        >>> param_text("bce_weighted", "pos_weight", None), param_text("focal", "alpha", None)
        ('from data', 'none')
        >>> param_text("focal", "alpha", 0.12590893), param_text("focal", "alpha", 0.1259, None)
        ('0.1259', '0.1259')
    """
    if value is None:
        return "from data" if _derived_from_data(loss, name) else "none"
    if isinstance(value, bool) or not isinstance(value, float):
        return str(value)
    return exact(value) if spec is None else format(value, spec)


def params_text(
    loss: LossId | str,
    params: Mapping[str, Any],
    spec: str | None = None,
    *,
    key: Callable[[str], str] = str,
) -> str:
    """``k=v`` pairs as every view writes them (:func:`param_text` for each value; ``key``
    formats the names, e.g. escaped for rich markup). ``spec=None``: exactly.

    Example:
        >>> params_text("focal", {"gamma": 2.0, "alpha": None})
        'gamma=2, alpha=none'
    """
    return ", ".join(f"{key(k)}={param_text(loss, k, v, spec)}" for k, v in params.items())


def same_value(a: Any, b: Any) -> bool:
    """Whether two parameter values read the same to 4 significant digits (None only as None).

    Example:
        >>> same_value(0.6274, 0.62741), same_value(0.6274, 0.1259), same_value(None, 1.0)
        (True, False, False)
    """
    if a is None or b is None:
        return a is b
    if not (isinstance(a, int | float) and isinstance(b, int | float)):
        return a == b
    return math.isclose(float(f"{a:.{_SAME_DIGITS}g}"), float(f"{b:.{_SAME_DIGITS}g}"))


def _set_line(text: str, name: str, proposed: Any, used: Any, loss: LossId) -> str:
    if same_value(proposed, used):
        return text
    return (
        f"{text}: the rule proposed {name}={param_text(loss, name, proposed, None)}; the "
        f"search tuned it to {name}={param_text(loss, name, used, None)}, the value recommended"
    )


def reason_text(reason: Reason) -> str:
    """A fired rule's sentence as the shortlist and the rationale show it: a rule that lowered
    the loss says it counts against it, so it never reads as a reason for it.

    Example:
        >>> from advisor.records import Factor, LossEffect
        >>> lower = LossEffect(kind=EffectKind.LOWER, loss=LossId.MSE, value=1.0)
        >>> reason_text(Reason(rule="r", factor=Factor.OUTLIERS, effect=lower,
        ...                    text="skewness 6.94 > 2"))
        'counts against mse: skewness 6.94 > 2'
    """
    if reason.effect.kind is EffectKind.LOWER:
        return f"counts against {reason.effect.loss.value}: {reason.text}"
    return reason.text


def reason_lines(
    candidate: Candidate, *, proposed: Mapping[str, Any], used: Mapping[str, Any]
) -> list[str]:
    """The chosen candidate's reasons as the rationale states them, each once.

    What weighed for the loss comes first, then what the rules only noted about it; a rule
    that lowered it is said to count against it. A rule that set a parameter the search then
    tuned says both values: what the rule proposed from the data, and what is recommended.

    Args:
        candidate: the shortlisted loss that was chosen.
        proposed: its parameters as the rules (or the catalog) gave them, resolved.
        used: the parameters recommended (the search's best, rounded), resolved.

    Example:
        >>> from advisor.records import Factor, LossEffect, Reason
        >>> set_alpha = LossEffect(kind=EffectKind.SET, loss=LossId.FOCAL, param="alpha",
        ...                        value=0.6274)
        >>> focal = Candidate(loss=LossId.FOCAL, params={"alpha": 0.6274}, score=2.0,
        ...     reasons=(Reason(rule="r", factor=Factor.IMBALANCE, effect=set_alpha,
        ...                     text="alpha = 1 - positive rate 0.373"),))
        >>> reason_lines(focal, proposed={"alpha": 0.6274}, used={"alpha": 0.1259})
        ['alpha = 1 - positive rate 0.373: the rule proposed alpha=0.6274; the search tuned it to alpha=0.1259, the value recommended']
    """  # noqa: E501
    weighed, noted = [], []
    for reason in candidate.reasons:
        effect = reason.effect
        if effect.kind is EffectKind.SET and effect.param is not None:
            name = effect.param
            line = _set_line(reason.text, name, proposed.get(name), used.get(name), candidate.loss)
        else:
            line = reason_text(reason)
        (noted if effect.kind is EffectKind.NOTE else weighed).append(line)
    return list(dict.fromkeys(weighed + noted))


def tuned_lines(
    candidate: Candidate, *, proposed: Mapping[str, Any], used: Mapping[str, Any]
) -> list[str]:
    """One line per parameter the search moved away from a default no rule had set.

    (A parameter a rule set is told in that rule's line, by :func:`reason_lines`.)

    Example:
        >>> focal = Candidate(loss=LossId.FOCAL, params={"gamma": 2.0}, score=2.0)
        >>> tuned_lines(focal, proposed={"gamma": 2.0}, used={"gamma": 3.903})
        ['the search tuned focal gamma from its default 2 to 3.903']
    """
    by_rule = {
        r.effect.param
        for r in candidate.reasons
        if r.effect.kind is EffectKind.SET and r.effect.param is not None
    }
    loss = candidate.loss
    return [
        f"the search tuned {loss.value} {name} from its default "
        f"{param_text(loss, name, proposed.get(name), None)} to "
        f"{param_text(loss, name, value, None)}"
        for name, value in used.items()
        if name not in by_rule and not same_value(proposed.get(name), value)
    ]


def race_note(search: SearchResult) -> str | None:
    """Why some losses have fewer confirmation splits than others (None when none has).

    Example:
        >>> from advisor.records import CandidateResult, LossId, MetricId
        >>> def result(loss, n):
        ...     return CandidateResult(loss=loss, params={}, mean=1.0, std=0.0, n=n,
        ...                            scores=(1.0,) * n)
        >>> search = SearchResult(metric=MetricId.RMSE, direction="minimize", budget_s=1.0,
        ...     elapsed_s=1.0, trials=2, storage="in-memory", study_name="s",
        ...     results=(result(LossId.MSE, 6), result(LossId.MAE, 3)))
        >>> race_note(search)[:40]
        'a loss with fewer splits left the race o'
    """
    splits = [len(r.scores) for r in search.results]
    if not splits or min(splits) == max(splits):
        return None
    return (
        "a loss with fewer splits left the race once it was settled against the leader "
        "(it could no longer change the advice)"
    )


def decision_statement(decision: Decision) -> str:
    """The confirmation's verdict in one sentence: who leads whom, by how much, how sure.

    Empty when the decision has no comparison (one loss or none could be scored).

    Example:
        >>> from advisor.records import Comparison, LossId, MetricId
        >>> comparison = Comparison(best=LossId.HUBER, other=LossId.MSE, difference=0.195,
        ...     difference_std=0.01, p_value=0.0004, significant=True, statement="")
        >>> decision_statement(Decision(chosen=LossId.HUBER, verdict=Verdict.SIGNIFICANT,
        ...     confidence=0.9998, label="high", metric=MetricId.RMSE, splits=4,
        ...     equivalence=0.005, comparison=comparison))
        'huber beats mse by 0.195 ± 0.01 rmse (paired t-test over 4 splits, p=0.0004)'
    """
    c = decision.comparison
    if c is None:
        return ""
    name, best, other = decision.metric.value, c.best.value, c.other.value
    gap = f"{c.difference:.4g} ± {c.difference_std:.2g} {name}"
    if decision.verdict is Verdict.SIGNIFICANT:
        text = f"{best} beats {other} by {gap} (paired t-test over {decision.splits} splits, "
        text += f"{_p(c.p_value, decision, '.3g')})"
    elif decision.verdict is Verdict.OVERTURNED and decision.prior is not None:
        text = _overturned(decision)
    # a tie goes to the loss the rules rank higher; that is the shortlist's first only when
    # the shortlist's first tied too, so the sentence says what is true either way
    elif decision.verdict is Verdict.NEGLIGIBLE:
        text = (
            f"{best} (best mean) leads {other} by only {gap} ({_p(c.p_value, decision)}): "
            f"less than the {decision.equivalence:.1%} that would change the advice; the rule "
            f"prior ranks {other} above {best}, so {other} stands"
        )
    elif decision.verdict is Verdict.STEADY:
        text = (
            f"{best} scores best ({gap} ahead of {other}, {_p(c.p_value, decision)}) but blew "
            f"up on some split; {other}, the one loss that did not, is recommended"
        )
    elif decision.verdict is Verdict.TIE:
        text = (
            f"no significant difference between {best} (best mean) and {other} ({gap}, "
            f"{_p(c.p_value, decision)}); the rule prior ranks {other} above {best}, so {other} "
            "stands"
        )
    else:
        text = (
            f"{best} scores best but not significantly better than {other} ({gap}, "
            f"{_p(c.p_value, decision)}); it is also the rule prior's choice among them"
        )
    note = diverged_note(decision)
    return f"{text}; {note}" if note else text


def _p(value: float, decision: Decision, spec: str = ".2g") -> str:
    """A reported p-value, saying when it was adjusted for the race's repeated looks."""
    text = f"p={value:{spec}}"
    return f"{text}, adjusted for {decision.looks} looks" if decision.looks > 1 else text


def _overturned(decision: Decision) -> str:
    c, first = decision.comparison, decision.prior
    assert c is not None and first is not None
    if first.significant:
        strength = "significantly better"
    elif decision.looks > 1:  # acted on at nominal p < 0.1; the adjusted p is what is shown
        strength = "ahead at a nominal p below 0.1, not significant once adjusted"
    else:
        strength = "likely better, not significant at 5%"
    text = (
        f"{first.best.value} leads the rule prior {first.other.value} by "
        f"{first.difference:.4g} ± {first.difference_std:.2g} {decision.metric.value} over "
        f"{decision.splits} paired splits ({_p(first.p_value, decision)}): {strength}; the "
        f"measured lead outweighs the prior"
    )
    if first.other is not c.other:
        text += f" (closest: {c.other.value}, p={c.p_value:.2g})"
    return text


def _run(run: DivergedRun, metric: str) -> str:
    if run.score is None or run.expected is None:
        return f"{run.loss.value} on split {run.split} (no score: training diverged)"
    return (
        f"{run.loss.value} on split {run.split} ({run.score:.4g} {metric} where its other "
        f"splits and the other losses there predict about {run.expected:.3g})"
    )


def diverged_note(decision: Decision) -> str | None:
    """Which runs blew up and were kept from deciding, and what that means for their losses.

    Example:
        >>> from advisor.records import LossId, MetricId
        >>> run = DivergedRun(loss=LossId.GAMMA, split=3, score=188.8, expected=59.0)
        >>> diverged_note(Decision(chosen=LossId.HUBER, verdict=Verdict.TIE, confidence=0.5,
        ...     label="low", metric=MetricId.RMSE, splits=10, equivalence=0.005,
        ...     diverged=(run,)))  # doctest: +NORMALIZE_WHITESPACE
        'runs that blew up were left out of the paired tests: gamma on split 3 (188.8 rmse
        where its other splits and the other losses there predict about 59); a loss that
        blows up on some splits is a risky choice, recommended only where every loss left
        blew up too'
    """
    if not decision.diverged:
        return None
    runs = ", ".join(_run(run, decision.metric.value) for run in decision.diverged)
    text = f"runs that blew up were left out of the paired tests: {runs}"
    own = [run for run in decision.diverged if run.loss is decision.chosen]
    if own:
        return (
            f"{text}; {decision.chosen.value} itself blew up on {len(own)} split(s): a risky "
            f"choice (check its training, e.g. a lower learning rate), so the confidence is "
            f"capped"
        )
    return (
        f"{text}; a loss that blows up on some splits is a risky choice, recommended only "
        f"where every loss left blew up too"
    )
