"""Exploration: an Optuna ask-and-tell study over (loss, its parameters, learning rate).

Trials are asked K at a time, trained together as one stacked model, and told back one by
one; intermediate validation scores go to ``trial.report`` so the pruner (successive halving)
stops weak ones early. Every shortlisted loss is first tried with the rules' parameters, so
no candidate goes unmeasured however small the budget.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import optuna

from advisor.losses import LossSpec, load_catalog
from advisor.records import (
    Candidate,
    EffectKind,
    Factor,
    LossId,
    Shortlist,
    TrialOutcome,
    TrialState,
)
from advisor.search._results import DIVERGED, EXPLORE, counted_explore, phase
from advisor.training import FitSettings, MemberResult, MemberSpec, TrainingData, fit_short
from advisor.training._model import ModelFactory

__all__ = [
    "DEFAULT_LR",
    "best_settings",
    "enqueue_defaults",
    "explore",
    "fixed_params",
    "suggest_loss",
    "train_batch",
    "trial_member",
]

DEFAULT_LR = 3e-3
LR_RANGE = (3e-4, 3e-2)
BATCH_TRIALS = 8


def fixed_params(candidate: Candidate) -> set[str]:
    """Parameters the user's objective fixed (e.g. quantile q): stated wishes, not knobs."""
    return {
        reason.effect.param
        for reason in candidate.reasons
        if reason.factor is Factor.MODEL_OBJECTIVE
        and reason.effect.kind is EffectKind.SET
        and reason.effect.param is not None
    }


def _suggest(trial: optuna.Trial, spec: LossSpec, candidate: Candidate, scale: float) -> dict:
    params = dict(candidate.params)
    frozen = fixed_params(candidate)
    for param in spec.params:
        # None means "derived from the data" (pos_weight) or "not defined here" (alpha on
        # several classes): keep it; only values the rules or the catalog set are tuned.
        if param.name in frozen or not param.high > param.low:
            continue
        if params.get(param.name) is None and not param.relative:
            continue
        low, high = param.low, param.high
        ruled = params.get(param.name)
        if param.relative:
            low, high = low * scale, high * scale
            if isinstance(ruled, (int, float)) and ruled > 0:
                # the range holds the value the rules set, which the first trial tries: Huber's
                # delta from the noise's scale lies below the catalog's multiples of the
                # target's scale on a well-fitted target with gross errors
                low, high = min(low, ruled), max(high, ruled)
        name = f"{spec.id.value}.{param.name}"
        if param.type == "int":
            params[param.name] = trial.suggest_int(name, int(low), int(high), log=param.log)
        else:
            params[param.name] = trial.suggest_float(name, low, high, log=param.log)
    return params


def trial_member(
    trial: optuna.Trial, candidates: Mapping[LossId, Candidate], scale: float, seed: int
) -> MemberSpec:
    """Sample one member from a trial (conditional space: the loss decides its parameters)."""
    loss, params = _sample(trial, candidates, scale)
    lr = trial.suggest_float("lr", *LR_RANGE, log=True)
    trial.set_user_attr("params", {k: v for k, v in params.items()})
    return MemberSpec(loss=loss, params=params, lr=lr, seed=seed)


def suggest_loss(
    trial: optuna.Trial, shortlist: Shortlist, *, scale: float = 1.0
) -> tuple[LossId, dict[str, Any]]:
    """Let your own Optuna study search the loss, constrained to the rules' shortlist.

    The loss is a categorical parameter ``loss``; its parameters are conditional on it
    (``huber.delta``, ``focal.gamma``, ...). ``scale`` is the target's robust scale, for
    ranges the catalog gives relative to it (Huber's delta).

    Example:
        >>> import optuna
        >>> from advisor.records import Candidate, LossId, MetricId, Objective, Shortlist, Task
        >>> listed = Shortlist(task=Task.BINARY, objective=Objective(), metric=MetricId.ACCURACY,
        ...     metric_reason="", candidates=(Candidate(loss=LossId.BCE, params={}, score=3.0),))
        >>> study = optuna.create_study()
        >>> suggest_loss(study.ask(), listed)
        (<LossId.BCE: 'bce'>, {})
    """
    return _sample(trial, {c.loss: c for c in shortlist.candidates}, scale)


def _sample(
    trial: optuna.Trial, candidates: Mapping[LossId, Candidate], scale: float
) -> tuple[LossId, dict[str, Any]]:
    loss = LossId(trial.suggest_categorical("loss", [c.value for c in candidates]))
    return loss, _suggest(trial, load_catalog()[loss], candidates[loss], scale)


def enqueue_defaults(study: optuna.Study, candidates: Mapping[LossId, Candidate]) -> None:
    """Queue one trial per shortlisted loss with the rules' parameters (run first, by anyone)."""
    catalog = load_catalog()
    for loss, candidate in candidates.items():
        values: dict[str, Any] = {"loss": loss.value, "lr": DEFAULT_LR}
        for param in catalog[loss].params:
            value = candidate.params.get(param.name)
            if value is not None and param.name not in fixed_params(candidate):
                values[f"{loss.value}.{param.name}"] = value
        study.enqueue_trial(values, user_attrs={"phase": EXPLORE}, skip_if_exists=True)


def train_batch(
    study: optuna.Study,
    trials: Sequence[optuna.Trial],
    candidates: Mapping[LossId, Candidate],
    data: TrainingData,
    *,
    settings: FitSettings,
    deadline: float,
    scale: float,
    seed: int,
    factory: ModelFactory | None = None,
    check: Callable[[], None] | None = None,
) -> list[TrialOutcome]:
    """Train asked exploration trials as one stacked run and tell each one's outcome.

    ``check`` is called at every evaluation; it may raise (a pending Ctrl-C) to stop the run.
    """
    for trial in trials:
        if trial.user_attrs.get("phase") != EXPLORE:  # queued ones carry it (a cached read)
            trial.set_user_attr("phase", EXPLORE)
    members = [trial_member(t, candidates, scale, seed + t.number) for t in trials]

    rungs = _rungs(study.pruner)
    due = [rungs[0] if rungs else 0] * len(trials)

    def should_stop(index: int, step: int, score: float) -> bool:
        if check is not None:
            check()
        if math.isnan(score):
            return True
        if step < due[index]:
            return False  # the pruner decides nothing before the next rung
        due[index] = next((r for r in rungs if r > step), math.inf) if rungs else 0
        try:
            trials[index].report(score, step)
            return trials[index].should_prune()
        except optuna.exceptions.UpdateFinishedTrialError:
            return True  # failed by a sweep (this process looked dead): it will be run again

    results = fit_short(
        members,
        data,
        settings=settings,
        data_seed=seed,
        should_stop=should_stop,
        factory=factory,
        deadline=deadline,
    )
    outcomes = []
    for trial, member, result in zip(trials, members, results, strict=True):
        try:
            state = _tell(study, trial, result)
        except optuna.exceptions.UpdateFinishedTrialError:
            continue  # failed by a sweep meanwhile: not this process's result to give
        outcomes.append(
            TrialOutcome(
                number=trial.number,
                loss=member.loss,
                params=dict(member.params),
                score=None if math.isnan(result.score) else result.score,
                state=state,
                steps=result.steps,
                seed=member.seed,
            )
        )
    return outcomes


def _rungs(pruner: optuna.pruners.BasePruner) -> list[int]:
    """Steps where successive halving decides (reports between them change nothing).

    Its ``prune`` returns False below the next rung's step, and at a rung it judges the
    score reported there; so reporting only the first evaluation at or past each rung gives
    the same decisions as reporting every one, with a tenth of the storage writes (each one a
    commit that every process of a study waits on). Other pruners: every evaluation (empty).
    """
    if not isinstance(pruner, optuna.pruners.SuccessiveHalvingPruner):
        return []
    low = getattr(pruner, "_min_resource", None)
    factor = getattr(pruner, "_reduction_factor", None)
    rate = getattr(pruner, "_min_early_stopping_rate", 0)
    if not isinstance(low, int) or not isinstance(factor, int) or factor < 2:
        return []
    return [low * factor ** (rate + k) for k in range(32)]


def _tell(study: optuna.Study, trial: optuna.Trial, result: MemberResult) -> TrialState:
    """Tell a trained trial's outcome; returns it as a TrialOutcome state."""
    if result.pruned:
        study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        return TrialState.PRUNED
    if result.cut:
        # a partial run must not be ranked against full ones (TPE, best_settings)
        trial.set_user_attr("outcome", "cut")
        study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        return TrialState.CUT
    if math.isnan(result.score):
        trial.set_user_attr("outcome", DIVERGED)
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
        return TrialState.FAILED
    study.tell(trial, result.score)
    return TrialState.COMPLETE


def explore(
    study: optuna.Study,
    candidates: Mapping[LossId, Candidate],
    data: TrainingData,
    *,
    settings: FitSettings,
    max_trials: int,
    deadline: float,
    scale: float,
    seed: int,
    factory: ModelFactory | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> list[TrialOutcome]:
    """Run trials in this process until ``max_trials`` exist in the study or the deadline passes.

    A resumed study counts its finished trials: they are not run again. (A search with
    workers goes through ``search/_work.py``, which takes batches the same way.)
    """
    finished = counted_explore(study.get_trials(deepcopy=False))
    if not study.trials:
        enqueue_defaults(study, candidates)
    outcomes: list[TrialOutcome] = []
    seconds_per_batch = 0.0
    while finished + len(outcomes) < max_trials:
        left = deadline - time.monotonic()
        if left <= 0 or (seconds_per_batch and left < 0.6 * seconds_per_batch and outcomes):
            break
        size = min(BATCH_TRIALS, max_trials - finished - len(outcomes))
        started = time.monotonic()
        outcomes += train_batch(
            study,
            [study.ask() for _ in range(size)],
            candidates,
            data,
            settings=settings,
            deadline=deadline,
            scale=scale,
            seed=seed,
            factory=factory,
        )
        seconds_per_batch = time.monotonic() - started
        if on_batch is not None:
            on_batch(finished + len(outcomes))
    return outcomes


def best_settings(
    study: optuna.Study,
    candidates: Mapping[LossId, Candidate],
    *,
    trials: Sequence[optuna.trial.FrozenTrial] | None = None,
) -> dict[LossId, tuple[dict[str, Any], float]]:
    """Best (params, lr) per loss among completed trials; the rules' params where none finished.

    ``trials``: the study's trials as the caller already read them (read afresh when None).
    """
    maximize = study.direction == optuna.study.StudyDirection.MAXIMIZE
    best: dict[LossId, tuple[dict[str, Any], float, float]] = {}
    complete = optuna.trial.TrialState.COMPLETE
    if trials is None:
        trials = study.get_trials(deepcopy=False, states=(complete,))
    for trial in trials:
        if trial.state != complete or phase(trial) != EXPLORE or "loss" not in trial.params:
            continue
        loss = LossId(trial.params["loss"])
        if loss not in candidates or trial.value is None:
            continue
        value = trial.value if maximize else -trial.value
        if loss not in best or value > best[loss][2]:
            params = dict(trial.user_attrs.get("params", candidates[loss].params))
            best[loss] = (params, float(trial.params["lr"]), value)
    return {
        loss: (best[loss][0], best[loss][1])
        if loss in best
        else (dict(candidate.params), DEFAULT_LR)
        for loss, candidate in candidates.items()
    }
