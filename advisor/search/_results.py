"""Reading a study back: exploration outcomes, confirmation runs, a finalist's result.

Trials carry a ``phase`` user attribute: ``explore`` (Optuna samples the loss, its parameters
and the rate on split 0) or ``confirm`` (a finalist's configuration on one paired split, with
``loss``, ``split``, ``params``, ``lr`` and the ``key`` that names that run). Everything a
process decides is read from these trials, never from its own memory, so every process of a
study, and a resumed one, decides alike.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import optuna
from optuna.trial import FrozenTrial
from optuna.trial import TrialState as OptunaState

from advisor.records import CandidateResult, LossId, TrialOutcome, TrialState

__all__ = [
    "CONFIRM",
    "EXPLORE",
    "SURPLUS",
    "candidate_result",
    "confirm_key",
    "confirm_runs",
    "counted_explore",
    "explore_outcomes",
    "phase",
    "surplus_explore",
]

EXPLORE = "explore"
CONFIRM = "confirm"
# a trial whose training ended without a usable score (NaN): a result, not a run to redo
DIVERGED = "diverged"
# a sampled exploration trial asked at the same moment as the last one the count allowed
SURPLUS = "surplus"


def phase(trial: FrozenTrial) -> str:
    return trial.user_attrs.get("phase", CONFIRM if "split" in trial.user_attrs else EXPLORE)


def confirm_key(loss: LossId, params: Mapping[str, Any], lr: float, split: int) -> str:
    """Names one confirmation run: the same finalist on the same split is the same run."""
    return json.dumps([loss.value, split, dict(sorted(params.items())), float(lr)], default=str)


def _trained(trial: FrozenTrial) -> bool:
    """Finished by training (complete, pruned, cut, diverged), not by a crash or Ctrl-C."""
    if trial.state in (OptunaState.COMPLETE, OptunaState.PRUNED):
        return True
    return trial.state == OptunaState.FAIL and trial.user_attrs.get("outcome") == DIVERGED


def counted_explore(trials: Sequence[FrozenTrial]) -> int:
    """Exploration trials that count toward ``--trials``: those training finished."""
    return sum(1 for t in trials if phase(t) == EXPLORE and _trained(t))


def surplus_explore(trials: Sequence[FrozenTrial], number: int, max_trials: int) -> bool:
    """Whether freshly sampled exploration trial ``number`` is one too many.

    Processes check the count and then ask, so two of them can both see room for one more
    trial and both ask it. Trial numbers order them: a fresh trial is surplus when the
    exploration trials numbered before it (queued, running or trained) already fill
    ``max_trials``; every process reads that alike, so exactly the late ones give way.
    """
    alive = (OptunaState.WAITING, OptunaState.RUNNING)
    before = sum(
        1
        for t in trials
        if t.number < number and phase(t) == EXPLORE and (t.state in alive or _trained(t))
    )
    return before >= max_trials


def confirm_runs(trials: Sequence[FrozenTrial]) -> dict[str, FrozenTrial]:
    """Each confirmation run's stored result by key (the first one finished, if repeated)."""
    runs: dict[str, FrozenTrial] = {}
    for trial in sorted(trials, key=lambda t: t.number):
        if phase(trial) == CONFIRM and _trained(trial):
            runs.setdefault(trial.user_attrs["key"], trial)
    return runs


def run_score(trial: FrozenTrial) -> float:
    return float(trial.value) if trial.state == OptunaState.COMPLETE else math.nan


def explore_outcomes(
    trials: Sequence[FrozenTrial], mine: Mapping[int, TrialOutcome]
) -> tuple[TrialOutcome, ...]:
    """Every finished exploration trial as an outcome: this process's own as it saw them,
    the others (earlier runs, other workers) read back from the study (seed -1)."""
    outcomes = []
    for trial in trials:
        if phase(trial) != EXPLORE or not _trained(trial):
            continue
        if trial.number in mine:
            outcomes.append(mine[trial.number])
            continue
        state = TrialState.PRUNED if trial.state == OptunaState.PRUNED else TrialState.COMPLETE
        if trial.user_attrs.get("outcome") in ("cut", DIVERGED):
            state = TrialState.CUT if trial.user_attrs["outcome"] == "cut" else TrialState.FAILED
        outcomes.append(
            TrialOutcome(
                number=trial.number,
                loss=LossId(trial.params.get("loss", "mse")),
                params=dict(trial.user_attrs.get("params", {})),
                score=trial.value,
                state=state,
                steps=max(trial.intermediate_values, default=0),
                seed=-1,
            )
        )
    return tuple(sorted(outcomes, key=lambda o: o.number))


def candidate_result(
    loss: LossId,
    setting: tuple[dict[str, Any], float],
    values: list[float],
    *,
    history: Sequence[tuple[int, float]] = (),
) -> CandidateResult:
    finite = [v for v in values if math.isfinite(v)]
    params, lr = setting
    return CandidateResult(
        loss=loss,
        params={**params, "lr": round(lr, 6)},
        mean=float(np.mean(finite)) if finite else math.nan,
        std=float(np.std(finite, ddof=1)) if len(finite) > 1 else 0.0,
        n=len(finite),
        scores=tuple(float(v) for v in values),
        history=tuple((int(step), float(score)) for step, score in history),
    )


def best_explore_value(study: optuna.Study, trials: Sequence[FrozenTrial]) -> str:
    """``loss value`` of the best complete exploration trial, for a progress bar."""
    done = [t for t in trials if phase(t) == EXPLORE and t.state == OptunaState.COMPLETE]
    if not done:
        return ""
    maximize = study.direction == optuna.study.StudyDirection.MAXIMIZE
    best = (max if maximize else min)(done, key=lambda t: t.value)
    return f"{best.params.get('loss', '?')} {best.value:.4g}"
