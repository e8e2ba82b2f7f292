"""The confirmation stage: explore with Optuna, then repeat the finalists on fresh paired splits.

Time is split between the two phases: about half the budget explores (every shortlisted loss
at least once, then TPE over losses, their parameters and learning rates), the rest repeats
each loss's best configuration on new paired splits, in rounds: all contenders on a split
train as one stacked run, and a finalist leaves the race once it is settled against the loss
the scores so far choose (``_race.py``).

Both phases are trials of one Optuna study, taken by whichever process is free: this one, and
any ``lossadvisor worker`` that joins the study (``_work.py``). The decision is read from the
stored runs, so a resumed study repeats no finished trial or confirmation run.

:func:`confirm` runs three phases, each a function with a typed result: :func:`open_search`
(splits, fit settings, the study and the plan its processes follow: an
:class:`OpenedSearch`), :func:`run_search` (this process's share of the exploration and the
race: a :class:`WorkedSearch`) and :func:`collect` (the finalists' scores, the decision and
the ``SearchResult``). The budget counts from the first phase's start to the last one's end.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
import warnings
from collections.abc import Callable, Mapping

import numpy as np
import optuna
import pandas as pd

from advisor.errors import SearchInterrupted, UsageError
from advisor.losses import robust_center_scale
from advisor.records import DataProfile, Direction, SearchResult, Shortlist, TrialOutcome
from advisor.search._decide import Decision, decide
from advisor.search._prepare import Job, data_digest, fingerprint
from advisor.search._quiet import quiet_optuna
from advisor.search._race import looks
from advisor.search._results import (
    candidate_result,
    confirm_key,
    confirm_runs,
    explore_outcomes,
)
from advisor.search._splits import SplitMaker, make_splits
from advisor.search._storage import describe_storage, open_study
from advisor.search._work import PLAN_KEY, Interrupted, SearchPlan, Work, WorkState
from advisor.training import FitSettings, metric_direction
from advisor.training._model import ModelFactory

__all__ = [
    "JOB_KEY",
    "OpenedSearch",
    "SearchProgress",
    "WorkedSearch",
    "check_limits",
    "collect",
    "confirm",
    "fit_settings_for",
    "interrupted_message",
    "open_search",
    "run_search",
    "start_work",
    "study_options",
]

JOB_KEY = "job"

EXPLORE_SHARE = 0.5
DEFAULT_REPEATS = 3
# the race ends this long before the budget does: collecting the stored runs and deciding
COLLECT_RESERVE_S = 0.5


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


def study_options(
    shortlist: Shortlist, *, max_steps: int, seed: int
) -> tuple[optuna.samplers.BaseSampler, optuna.pruners.BasePruner]:
    """The sampler and pruner of a study (not stored by Optuna: every process makes its own)."""
    return (
        _sampler(seed, n_startup_trials=len(shortlist.candidates)),
        # the first rung after a sixth of the step budget: earlier scores say little
        optuna.pruners.SuccessiveHalvingPruner(
            min_resource=max(1, max_steps // 6), reduction_factor=3
        ),
    )


def _default_study_name(profile: DataProfile, shortlist: Shortlist, seed: int) -> str:
    key = f"{profile.target}|{profile.n_rows}|{shortlist.losses}|{shortlist.metric}|{seed}"
    return "lossadvisor-" + hashlib.sha1(key.encode()).hexdigest()[:10]


def start_work(
    study: optuna.Study,
    frame: pd.DataFrame,
    profile: DataProfile,
    shortlist: Shortlist,
    *,
    plan: SearchPlan,
    device: str = "cpu",
    factory: ModelFactory | None = None,
    on_progress: Callable[[str, int, int, str], None] | None = None,
    splits: SplitMaker | None = None,
    settings: FitSettings | None = None,
    direction: Direction | None = None,
) -> Work:
    """This process's part of a study: the same splits, settings and scale in every process.

    ``splits``, ``settings`` (``fit_settings_for`` of split 0's training rows when None) and
    ``direction`` let a caller that already made them pass them on instead of making them twice.
    """
    if splits is None:
        splits = make_splits(frame, profile, shortlist, seed=plan.seed)
    explore_data = splits.get(0)
    if settings is None:
        settings = fit_settings_for(len(explore_data.y_train), device=device)
    scale = robust_center_scale(explore_data.y_train)[1] if profile.task.is_regression else 1.0
    return Work(
        study,
        plan=plan,
        candidates={c.loss: c for c in shortlist.candidates},
        splits=splits,
        settings=settings,
        scale=scale,
        prior=shortlist.losses,
        metric=shortlist.metric,
        maximize=(direction or metric_direction(shortlist.metric)) == "maximize",
        factory=factory,
        on_progress=on_progress,
    )


def interrupted_message(failed: int, *, storage: str | None, study_name: str) -> str:
    """One line: what Ctrl-C left behind, and the parameters that continue the search."""
    if not storage:
        return (
            "interrupted; the in-memory study is lost (pass `storage` to make a search resumable)"
        )
    return (
        f"interrupted; {failed} trial(s) in flight marked failed, finished ones kept; resume "
        f"by repeating it with `storage={describe_storage(storage)!r}` "
        f"`study_name={study_name!r}` `resume=True`"
    )


def check_limits(budget_s: float, trials: int | None) -> None:
    """Refuse a budget or trial count no search can run, before any work is done.

    Raises:
        UsageError: ``budget_s`` not a positive number, or ``trials`` below 1.
    """
    if not budget_s > 0:  # also NaN
        raise UsageError(f"`budget_s` must be a positive number of seconds, got {budget_s!r}")
    if trials is not None and trials < 1:
        raise UsageError(f"`trials` must be at least 1, got {trials!r}")


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
    job: Job | None = None,
) -> tuple[SearchResult, Decision]:
    """Train the shortlisted losses briefly and compare them on a loss-independent metric.

    Args:
        frame: the table that was profiled (features and target).
        profile: its profile.
        shortlist: the candidates and the validation metric.
        budget_s: wall-clock seconds for the whole confirmation, from this call to its return.
        trials: exploration trials (default: 4 per candidate).
        seed: makes the run reproducible.
        storage, study_name, resume: any Optuna storage URL (``journal:PATH`` for a journal
            file); a named study can be resumed without repeating finished trials or
            confirmation runs, and ``lossadvisor worker`` processes can join it.
        device: ``cpu`` or ``cuda``.
        factory: builds your own network from (n_inputs, n_outputs).
        progress: called after each batch of trials and each round of confirmation splits.
        job: the request that made ``frame`` (``search.prepare``), recorded in a stored study
            so that workers replay it; without one, workers cannot join.

    Raises:
        UsageError: a budget or trial count that cannot run, or an unusable storage.
        StudyMismatchError: a resumed study was made for other data or settings.
        SearchInterrupted: Ctrl-C; trials in flight were marked failed (exit code 130).
    """
    check_limits(budget_s, trials)
    with quiet_optuna():
        opened = open_search(
            frame,
            profile,
            shortlist,
            budget_s=budget_s,
            trials=trials,
            seed=seed,
            storage=storage,
            study_name=study_name,
            resume=resume,
            device=device,
            job=job,
        )
        worked = run_search(opened, frame, profile, shortlist, factory=factory, progress=progress)
    return collect(opened, worked, shortlist)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class OpenedSearch:
    """A study ready to work on: its plan, splits, and the settings every fit of it uses."""

    study: optuna.Study
    name: str
    storage: str | None
    plan: SearchPlan
    splits: SplitMaker
    settings: FitSettings
    direction: Direction
    budget_s: float
    started: float  # time.monotonic() when the confirmation began: its budget counts from it


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class WorkedSearch:
    """What this process's work on the study left: the decided race and every stored trial."""

    state: WorkState
    outcomes: Mapping[int, TrialOutcome]  # the exploration trials this process trained
    trials: tuple[optuna.trial.FrozenTrial, ...]


def open_search(
    frame: pd.DataFrame,
    profile: DataProfile,
    shortlist: Shortlist,
    *,
    budget_s: float,
    trials: int | None,
    seed: int,
    storage: str | None,
    study_name: str | None,
    resume: bool,
    device: str,
    job: Job | None,
) -> OpenedSearch:
    """Open (or resume) the study, store the plan its processes follow, make the splits.

    The plan's times count from this call: making the splits and opening the study are part
    of the budget, so the search ends when its budget says, not that much later. The study
    and its request are stored before the splits are encoded, so a worker started beside
    this process prepares its copy of the data meanwhile and joins sooner; the sampler and
    pruner (whose first rung follows the step budget, hence split 0's size) are set after.
    """
    started, begun = time.monotonic(), time.time()
    direction = metric_direction(shortlist.metric)
    name = study_name or _default_study_name(profile, shortlist, seed)
    # only a stored study is joined by other processes, which must check the data is the same
    digest = (job.digest if job is not None else data_digest(frame)) if storage else ""
    study = open_study(
        storage=storage,
        study_name=name,
        direction=direction,
        resume=resume,
        fingerprint=fingerprint(
            profile,
            shortlist,
            seed=seed,
            digest=digest,
            sample=job.sample if job is not None else None,
        ),
    )
    plan = SearchPlan(
        max_trials=trials if trials is not None else 4 * len(shortlist.candidates),
        repeats=int(shortlist.settings.get("repeats", DEFAULT_REPEATS)),
        explore_until=begun + EXPLORE_SHARE * budget_s,
        deadline=begun + budget_s - COLLECT_RESERVE_S,
        seed=seed,
    )
    study.set_user_attr(PLAN_KEY, plan.to_dict())
    if storage and job is not None and job.path:
        study.set_user_attr(JOB_KEY, job.to_dict())
    splits = make_splits(frame, profile, shortlist, seed=seed)
    settings = fit_settings_for(len(splits.get(0).y_train), device=device)
    study.sampler, study.pruner = study_options(shortlist, max_steps=settings.max_steps, seed=seed)
    return OpenedSearch(
        study=study,
        name=name,
        storage=storage,
        plan=plan,
        splits=splits,
        settings=settings,
        direction=direction,
        budget_s=budget_s,
        started=started,
    )


def run_search(
    opened: OpenedSearch,
    frame: pd.DataFrame,
    profile: DataProfile,
    shortlist: Shortlist,
    *,
    factory: ModelFactory | None = None,
    progress: Callable[[SearchProgress], None] | None = None,
) -> WorkedSearch:
    """Take the study's trials until its race is decided: exploration, then the race's rounds.

    Raises:
        SearchInterrupted: Ctrl-C; the trials in flight were told failed.
    """

    def tell(phase: str, done: int, total: int, best: str) -> None:
        if progress is not None:
            progress(
                SearchProgress(
                    phase=phase,
                    done=done,
                    total=total,
                    elapsed_s=time.monotonic() - opened.started,
                    budget_s=opened.budget_s,
                    best=best,
                )
            )

    work = start_work(
        opened.study,
        frame,
        profile,
        shortlist,
        plan=opened.plan,
        factory=factory,
        on_progress=tell,
        splits=opened.splits,
        settings=opened.settings,
        direction=opened.direction,
    )
    try:
        state = work.run()
    except Interrupted as exc:
        message = interrupted_message(exc.failed, storage=opened.storage, study_name=opened.name)
        raise SearchInterrupted(message) from None
    trials = tuple(opened.study.get_trials(deepcopy=False))
    return WorkedSearch(state=state, outcomes=dict(work.outcomes), trials=trials)


def collect(
    opened: OpenedSearch, worked: WorkedSearch, shortlist: Shortlist
) -> tuple[SearchResult, Decision]:
    """Each finalist's scores over the race's splits, the decision, and the search's record."""
    race = worked.state.race
    assert race is not None
    finalists = worked.state.finalists
    histories = _histories(worked.trials, finalists)
    results = tuple(
        candidate_result(loss, finalists[loss], race.scores[loss], history=histories.get(loss, ()))
        for loss in finalists
    )
    decision = decide(
        results,
        prior=shortlist.losses,
        metric=shortlist.metric,
        maximize=opened.direction == "maximize",
        contenders=race.live,
        looks=looks(race.done),
    )
    all_outcomes = explore_outcomes(worked.trials, worked.outcomes)
    search = SearchResult(
        metric=shortlist.metric,
        direction=opened.direction,
        budget_s=round(float(opened.budget_s), 2),
        elapsed_s=round(time.monotonic() - opened.started, 2),
        trials=len(all_outcomes),
        storage=describe_storage(opened.storage),
        study_name=opened.name,
        results=results,
        comparison=decision.comparison,
        outcomes=all_outcomes,
        pruned=sum(o.state == "pruned" for o in all_outcomes),
    )
    return search, decision


def _histories(trials, finalists: dict) -> dict:
    """Each finalist's validation history (step, score) on split 1, for the report's curves."""
    runs = confirm_runs(trials)
    found: dict = {}
    for loss, (params, lr) in finalists.items():
        run = runs.get(confirm_key(loss, params, lr, 1))
        if run is not None and run.user_attrs.get("history"):
            found[loss] = tuple(tuple(point) for point in run.user_attrs["history"])
    return found
