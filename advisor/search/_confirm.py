"""The confirmation stage: explore with Optuna, then repeat the finalists on fresh paired splits.

Time is split between the two phases: about half the budget explores (every shortlisted loss
at least once, then TPE over losses, their parameters and learning rates), the rest repeats
each loss's best configuration on new paired splits, in rounds: all contenders on all of a
round's splits train as one stacked run, and a finalist leaves the race once it is settled
against the loss the scores so far choose.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import math
import os
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import optuna
import pandas as pd

from advisor.errors import UsageError
from advisor.losses import robust_center_scale
from advisor.records import (
    CandidateResult,
    DataProfile,
    LossId,
    MetricId,
    SearchResult,
    Shortlist,
    TrialOutcome,
)
from advisor.search._decide import EQUIVALENCE, Decision, decide, settled
from advisor.search._explore import best_settings, explore
from advisor.search._splits import N_SPLITS, SplitMaker, make_splits
from advisor.search._storage import describe_storage, open_study
from advisor.search._worker import JOB_KEY, job_attributes
from advisor.training import FitSettings, MemberSpec, fit_splits, metric_direction
from advisor.training._model import ModelFactory

__all__ = ["SearchProgress", "confirm", "fit_settings_for"]

EXPLORE_SHARE = 0.5
DEFAULT_REPEATS = 3
MIN_REPEATS = 2
MAX_REPEATS = N_SPLITS - 1
# splits per round after the first, while the race is not settled: small enough to stop a
# race that settles after 6 splits, large enough that a round's stack stays wide (3, 3, 4)
ROUND_SPLITS = 3


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SearchProgress:
    """What a progress bar shows: phase, trials done/total, best so far, time used/budget."""

    phase: str
    done: int
    total: int
    elapsed_s: float
    budget_s: float
    best: str = ""


def fit_settings_for(n_train: int, *, device: str = "cpu") -> FitSettings:
    """Step budget scaled to the data: about 60 epochs, 150..1500 steps, 30 evaluations."""
    batch = int(np.clip(n_train // 8, 32, 512))
    steps = int(np.clip(60 * n_train / batch, 150, 1500))
    return FitSettings(
        max_steps=steps,
        batch_size=batch,
        eval_every=max(5, steps // 30),
        patience=6,
        device=device,
    )


def _sampler(seed: int, *, n_startup_trials: int) -> optuna.samplers.TPESampler:
    """TPE over (loss, its parameters, rate) jointly, grouped by the loss's parameter set.

    ``multivariate`` and ``group`` are still marked experimental in Optuna; they are chosen
    knowingly here (the parameters exist only for their loss), so their warning is not passed
    on to every library user.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(
            seed=seed, multivariate=True, group=True, n_startup_trials=n_startup_trials
        )


def _default_study_name(profile: DataProfile, shortlist: Shortlist, seed: int) -> str:
    key = f"{profile.target}|{profile.n_rows}|{shortlist.losses}|{shortlist.metric}|{seed}"
    return "lossadvisor-" + hashlib.sha1(key.encode()).hexdigest()[:10]


def _repeat(
    splits: SplitMaker,
    finalists: dict,
    *,
    repeats: int,
    deadline: float,
    seed: int,
    factory: ModelFactory | None,
    device: str,
    report: Callable[[int], None],
    prior: Sequence[LossId],
    metric: MetricId,
    maximize: bool,
) -> tuple[dict, list[LossId]]:
    """Score the finalists on splits 1..R, then race them on more splits until settled.

    Returns each finalist's scores (split by split, from split 1) and the contenders left at
    the end, in finalist order.

    Each round trains all its members (contenders x the round's splits) as one stacked run
    (``fit_splits``): ten splits cost about a third of ten runs one after another. The first
    round has the planned R splits and shares what is left of the budget (a run cut short is
    still a fair comparison, since all members train in lockstep). After each round the
    decision so far is checked: once every other contender is settled against the chosen one
    (``settled``: it cannot beat it by a margin that matters) the race ends. Otherwise the
    settled ones leave it (racing, as in F-Race: their later splits could not change the
    advice, so they no longer cost compute) and a round of ROUND_SPLITS more splits follows,
    up to MAX_REPEATS (3, then 3, then 4), as long as it fits whole in the time left at the
    pace so far. Rounds end a race that settles after 6 splits without paying for 10.
    """
    scores: dict = {loss: [] for loss in finalists}
    live = list(finalists)
    done, seconds, trained = 0, 0.0, 0
    settings = fit_settings_for(len(splits.get(0).y_train), device=device)
    while done < MAX_REPEATS:
        left = deadline - time.monotonic()
        if done == 0:
            count = max(repeats, MIN_REPEATS)
        else:
            racing = _contenders(scores, live, prior=prior, metric=metric, maximize=maximize)
            if len(racing) < 2:
                break  # decided: the last round's contenders all keep every split they ran
            live = racing
            pace = 1.1 * seconds / trained  # seconds per member and split
            rest = MAX_REPEATS - done  # a remainder smaller than a round joins the last one
            count = min(
                rest if rest < 2 * ROUND_SPLITS else ROUND_SPLITS, int(left / (pace * len(live)))
            )
            if count < 1:
                break
        numbers = range(done + 1, done + count + 1)
        members = [
            [
                MemberSpec(
                    loss=loss,
                    params=finalists[loss][0],
                    lr=finalists[loss][1],
                    seed=seed * 1000 + split,
                )
                for loss in live
            ]
            for split in numbers
        ]
        started = time.monotonic()
        results = fit_splits(
            members,
            [splits.get(split) for split in numbers],
            settings=settings,
            data_seeds=[seed + split for split in numbers],
            factory=factory,
            deadline=time.monotonic() + max(left, 0.0),
        )
        seconds += time.monotonic() - started
        trained += count * len(live)
        for group, group_results in zip(members, results, strict=True):
            for member, result in zip(group, group_results, strict=True):
                scores[member.loss].append(result.score)
        done += count
        report(done)
    return scores, live


def _contenders(
    scores: dict,
    live: Sequence[LossId],
    *,
    prior: Sequence[LossId],
    metric: MetricId,
    maximize: bool,
) -> list[LossId]:
    """The loss the scores so far choose, and every other one not yet settled against it.

    A loss the rule prior ranks above the chosen one would win a tie with it, so it stays
    until it is worse by a margin that matters; any other stays until it can no longer be
    better by one. A single contender means the race is decided.
    """
    results = [_result(loss, ({}, 0.0), scores[loss]) for loss in live]
    chosen = decide(results, prior=prior, metric=metric, maximize=maximize).chosen
    order = {loss: i for i, loss in enumerate(prior)}

    def out(loss: LossId) -> bool:
        margin = -EQUIVALENCE if order.get(loss, len(order)) < order.get(chosen, 0) else EQUIVALENCE
        return settled(scores[chosen], scores[loss], maximize=maximize, margin=margin)

    return [loss for loss in live if loss is chosen or not out(loss)]


def confirm(
    frame: pd.DataFrame,
    profile: DataProfile,
    shortlist: Shortlist,
    *,
    budget_s: float = 60.0,
    trials: int | None = None,
    seed: int = 0,
    storage: str | None = None,
    study_name: str | None = None,
    resume: bool = False,
    device: str = "cpu",
    factory: ModelFactory | None = None,
    progress: Callable[[SearchProgress], None] | None = None,
    source: str | None = None,
    rule_files: Sequence[str] = (),
) -> tuple[SearchResult, Decision]:
    """Train the shortlisted losses briefly and compare them on a loss-independent metric.

    Args:
        frame: the table that was profiled (features and target).
        profile: its profile.
        shortlist: the candidates and the validation metric.
        budget_s: wall-clock seconds for the whole confirmation.
        trials: exploration trials (default: 4 per candidate).
        seed: makes the run reproducible.
        storage, study_name, resume: any Optuna storage URL (``journal:PATH`` for a journal
            file); a named study can be resumed without repeating finished trials.
        device: ``cpu`` or ``cuda``.
        factory: builds your own network from (n_inputs, n_outputs).
        progress: called after each batch of trials and each round of confirmation splits.
        source, rule_files: the data path and extra rules, recorded in a stored study so that
            ``lossadvisor worker`` can join it.

    Raises:
        UsageError: a budget or trial count that cannot run, or an unusable storage.
    """
    if not budget_s > 0:
        raise UsageError(f"--budget must be a positive number of seconds, got {budget_s!r}")
    if trials is not None and trials < 1:
        raise UsageError(f"--trials must be at least 1, got {trials!r}")
    started = time.monotonic()
    deadline = started + budget_s
    splits = make_splits(frame, profile, shortlist, seed=seed)
    candidates = {c.loss: c for c in shortlist.candidates}
    max_trials = trials if trials is not None else 4 * len(candidates)
    repeats = int(shortlist.settings.get("repeats", DEFAULT_REPEATS))
    direction = metric_direction(shortlist.metric)
    max_steps = fit_settings_for(len(splits.get(0).y_train), device=device).max_steps
    name = study_name or _default_study_name(profile, shortlist, seed)
    study = open_study(
        storage=storage,
        study_name=name,
        direction=direction,
        resume=resume,
        sampler=_sampler(seed, n_startup_trials=len(candidates)),
        # the first rung after a sixth of the step budget: earlier scores say little
        pruner=optuna.pruners.SuccessiveHalvingPruner(
            min_resource=max(1, max_steps // 6), reduction_factor=3
        ),
        fingerprint={
            "target": list(profile.target),
            "rows": profile.n_rows,
            "losses": [c.value for c in candidates],
            "metric": shortlist.metric.value,
            "seed": seed,
        },
    )

    if storage and JOB_KEY not in study.user_attrs:
        study.set_user_attr(
            JOB_KEY,
            job_attributes(
                path=os.path.abspath(source) if source else None,
                target=profile.target,
                task=profile.task.value,
                objective=str(shortlist.objective),
                metric=shortlist.metric.value,
                rules=[os.path.abspath(f) for f in rule_files],
                seed=seed,
                max_trials=max_trials,
            ),
        )

    def tell(phase: str, done: int, total: int) -> None:
        if progress is not None:
            best = ""
            with contextlib.suppress(ValueError):
                best = f"{study.best_trial.params['loss']} {study.best_value:.4g}"
            progress(
                SearchProgress(
                    phase=phase,
                    done=done,
                    total=total,
                    elapsed_s=time.monotonic() - started,
                    budget_s=budget_s,
                    best=best,
                )
            )

    explore_data = splits.get(0)
    explore_settings = fit_settings_for(len(explore_data.y_train), device=device)
    scale = robust_center_scale(explore_data.y_train)[1] if profile.task.is_regression else 1.0
    outcomes = explore(
        study,
        candidates,
        explore_data,
        settings=explore_settings,
        max_trials=max_trials,
        deadline=started + EXPLORE_SHARE * budget_s,
        scale=scale,
        seed=seed,
        factory=factory,
        on_batch=lambda done: tell("explore", done, max_trials),
    )
    finalists = best_settings(study, candidates)
    scores, contenders = _repeat(
        splits,
        finalists,
        repeats=repeats,
        deadline=deadline,
        seed=seed,
        factory=factory,
        device=device,
        report=lambda split: tell("confirm", split, max(split, repeats)),
        prior=shortlist.losses,
        metric=shortlist.metric,
        maximize=direction == "maximize",
    )
    results = tuple(_result(loss, finalists[loss], values) for loss, values in scores.items())
    maximize = direction == "maximize"
    decision = decide(
        results,
        prior=shortlist.losses,
        metric=shortlist.metric,
        maximize=maximize,
        contenders=contenders,
    )
    all_outcomes = _previous(study, outcomes) + tuple(outcomes)
    search = SearchResult(
        metric=shortlist.metric,
        direction=direction,
        budget_s=round(float(budget_s), 2),
        elapsed_s=round(time.monotonic() - started, 2),
        trials=len(all_outcomes),
        storage=describe_storage(storage),
        study_name=name,
        results=results,
        comparison=decision.comparison,
        outcomes=all_outcomes,
        pruned=sum(o.state == "pruned" for o in all_outcomes),
    )
    return search, decision


def _result(loss, setting: tuple[dict[str, Any], float], values: list[float]) -> CandidateResult:
    finite = [v for v in values if math.isfinite(v)]
    params, lr = setting
    return CandidateResult(
        loss=loss,
        params={**params, "lr": round(lr, 6)},
        mean=float(np.mean(finite)) if finite else math.nan,
        std=float(np.std(finite, ddof=1)) if len(finite) > 1 else 0.0,
        n=len(finite),
        scores=tuple(float(v) for v in values),
    )


def _previous(study: optuna.Study, outcomes: list[TrialOutcome]) -> tuple[TrialOutcome, ...]:
    """Trials a resumed study had before this run, as outcomes."""
    mine = {o.number for o in outcomes}
    previous = []
    for trial in study.get_trials(deepcopy=False):
        if trial.number in mine or not trial.state.is_finished():
            continue
        previous.append(
            TrialOutcome(
                number=trial.number,
                loss=LossId(trial.params.get("loss", "mse")),
                params=dict(trial.user_attrs.get("params", {})),
                score=trial.value,
                state=trial.state.name.lower(),
                steps=max(trial.intermediate_values, default=0),
                seed=-1,
            )
        )
    return tuple(previous)
