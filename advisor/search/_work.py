"""One process's share of a study: take whatever trial is due, train it, tell it, repeat.

The starting process (``recommend``) and every ``lossadvisor worker`` run the same loop over
the same stored state, so it makes no difference which process trains what:

- exploration: while the study has fewer than ``max_trials`` finished exploration trials and
  its exploration time is not over, ask a batch of trials (queued ones first: the rules'
  parameters, retries of trials whose process died), train them as one stacked run, tell them;
- confirmation: once exploration is over and none of its trials still runs, replay the race
  from the stored runs (``plan_race``); queue the current round's missing runs as trials
  (``phase`` ``confirm``, one per finalist and split), and claim an equal share of them
  (``_claims.py``), trained as one stack; every run of a split uses the same rows and data
  order whoever trains it, so each split's comparison stays paired;
- at exploration's end, a process with no trial left to ask does not wait for the others'
  last batches: it starts the first round for the losses none of them samples (their best
  setting is final, and the first round runs every finalist);
- the race is finished when ``plan_race`` says so; every process then reads the same decision.

Each process adds up where its time goes (``_clock.py``) and leaves the sums in the study.

A process stamps the trials it takes and keeps them beating (``_liveness.py``); it sweeps
the study for trials of dead processes as it goes. On Ctrl-C its trials in flight are told
failed, so nothing is left running, and the caller says how to resume.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import math
import os
import signal
import socket
import threading
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from advisor.records import Candidate, LossId, MetricId, TrialOutcome
from advisor.search._claims import holders, plan_claim, take
from advisor.search._clock import CLOCK_PREFIX, Clock
from advisor.search._explore import BATCH_TRIALS, best_settings, enqueue_defaults, train_batch
from advisor.search._liveness import OWNER_KEY, Beating, owner, owner_is_dead, sweep
from advisor.search._race import ROUND_SPLITS, RacePlan, first_round, plan_race
from advisor.search._results import (
    CONFIRM,
    DIVERGED,
    EXPLORE,
    SURPLUS,
    best_explore_value,
    confirm_key,
    confirm_runs,
    counted_explore,
    phase,
    run_score,
    surplus_explore,
)
from advisor.search._splits import SplitMaker
from advisor.search._storage import GRACE_S, HEARTBEAT_S, enqueue_together
from advisor.training import FitSettings, MemberSpec, fit_splits
from advisor.training._model import ModelFactory

__all__ = ["PLAN_KEY", "Interrupted", "SearchPlan", "Snapshot", "Step", "Work", "WorkState"]

PLAN_KEY = "plan"
ROUNDS_KEY = "race_rounds"
COST_RUNS_KEY = "cost_runs"  # how many runs of a stack share its stored ``cost_s``
WORKER_PREFIX = "worker:"
# a process with nothing to take looks again this soon: a round's runs are queued, and the
# next round starts, the moment its last run is stored (reading takes no lock: _storage.py)
POLL_S = 0.05
ENQUEUE_DELAY_S = HEARTBEAT_S  # the longest the others leave a round's queueing to its leader


class Interrupted(Exception):
    """Ctrl-C while training: the trials in flight were told failed. Carries how many."""

    def __init__(self, failed: int) -> None:
        super().__init__(failed)
        self.failed = failed


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SearchPlan:
    """The settings every process of a study follows (stored in its user attributes)."""

    max_trials: int
    repeats: int
    explore_until: float  # wall-clock (time.time()) end of exploration
    deadline: float  # wall-clock end of the search
    seed: int

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SearchPlan:
        return cls(**{f.name: data[f.name] for f in dataclasses.fields(cls)})


class Step(enum.StrEnum):
    """What the stored trials leave for a process to do next."""

    EXPLORE = "explore"  # exploration trials are due
    WAIT = "wait"  # exploration is over, but trials of it still run elsewhere
    CONFIRM = "confirm"  # a round of the race has runs to queue, take or wait for
    DONE = "done"  # the race is decided


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class WorkState:
    """What the stored trials say, as one process sees them now."""

    step: Step
    race: RacePlan | None
    finalists: dict[LossId, tuple[dict[str, Any], float]]
    explored: int


@dataclasses.dataclass(frozen=True, slots=True)
class Snapshot:
    """The study as one step of the loop reads it: its trials and its user attributes, read
    once and shared by whatever the step decides (each read is a storage round trip that
    every process of a study makes, step after step)."""

    trials: list[optuna.trial.FrozenTrial]
    attrs: dict[str, Any]


def _monotonic(wall: float) -> float:
    return time.monotonic() + (wall - time.time())


class Work:
    """One process working on a study until the race is decided or its own time is up."""

    def __init__(
        self,
        study: optuna.Study,
        *,
        plan: SearchPlan,
        candidates: Mapping[LossId, Candidate],
        splits: SplitMaker,
        settings: FitSettings,
        scale: float,
        prior: Sequence[LossId],
        metric: MetricId,
        maximize: bool,
        factory: ModelFactory | None = None,
        on_progress: Callable[[str, int, int, str], None] | None = None,
    ) -> None:
        self.study = study
        self.plan = plan
        self.candidates = candidates
        self.splits = splits
        self.settings = settings
        self.scale = scale
        self.prior = list(prior)
        self.metric = metric
        self.maximize = maximize
        self.factory = factory
        self.on_progress = on_progress
        self.outcomes: dict[int, TrialOutcome] = {}
        self.in_flight: list[optuna.Trial] = []
        self.confirmed = 0  # confirmation runs this process trained
        self._missing_since: dict[tuple, float] = {}
        self._batch_s = 0.0
        self._encoded: set[int] = set()  # splits encoded ahead (SplitMaker keeps them)
        self._swept = 0.0
        self._seen = 0.0
        self._me = f"{WORKER_PREFIX}{socket.gethostname()}:{os.getpid()}"
        self.clock = Clock()
        self._owner = owner()
        self._ctrl_c = _CtrlC()

    # ------------------------------------------------------------------ reading the study

    def read(self) -> Snapshot:
        """The study's trials (not copied: never to be changed) and user attributes, now."""
        return Snapshot(self.study.get_trials(deepcopy=False), self.study.user_attrs)

    def state(self, snapshot: Snapshot | None = None) -> WorkState:
        """What the stored trials leave to do (read afresh unless a step's ``snapshot``)."""
        snapshot = snapshot or self.read()
        stored = snapshot.attrs.get(PLAN_KEY)
        if stored:  # a resumed study gets new times: every process follows the stored plan
            self.plan = SearchPlan.from_dict(stored)
        trials = snapshot.trials
        explored = counted_explore(trials)
        running = [t for t in trials if t.state == TrialState.RUNNING and phase(t) == EXPLORE]
        open_ = explored < self.plan.max_trials and time.time() < self.plan.explore_until
        if open_:
            return WorkState(step=Step.EXPLORE, race=None, finalists={}, explored=explored)
        if running:
            return WorkState(step=Step.WAIT, race=None, finalists={}, explored=explored)
        finalists = best_settings(self.study, self.candidates, trials=trials)
        runs = confirm_runs(trials)
        stored = {}
        for loss, (params, lr) in finalists.items():
            for split in range(1, self.splits.n_splits):
                run = runs.get(confirm_key(loss, params, lr, split))
                if run is not None:
                    stored[(loss, split)] = run_score(run)
        rounds = {int(k): int(v) for k, v in snapshot.attrs.get(ROUNDS_KEY, {}).items()}
        race = plan_race(
            list(finalists),
            stored,
            repeats=self.plan.repeats,
            prior=self.prior,
            metric=self.metric,
            maximize=self.maximize,
            rounds=rounds,
            afford=lambda live: self._afford(live, runs.values()),
        )
        step = Step.DONE if race.finished else Step.CONFIRM
        return WorkState(step=step, race=race, finalists=finalists, explored=explored)

    def _afford(self, live: int, runs) -> int:
        """Splits a round of ``live`` contenders can still pay for, at the pace so far."""
        # a stack's seconds per run, stored on its first run with the count of its runs
        costs = [
            (float(r.user_attrs["cost_s"]), int(r.user_attrs.get(COST_RUNS_KEY, 1)))
            for r in runs
            if r.user_attrs.get("cost_s")
        ]
        if not costs:
            return 10**6
        pace = 1.1 * sum(c * n for c, n in costs) / sum(n for _, n in costs)  # per member, split
        left = self.plan.deadline - time.time()
        return int(max(left, 0.0) / (pace * live))

    # ------------------------------------------------------------------ the loop

    def run(self, *, stop_at: float | None = None) -> WorkState:
        """Work until the race is decided (or ``stop_at``, a monotonic time, passes).

        Raises:
            Interrupted: Ctrl-C; the trials in flight were told failed first.
        """
        beating = Beating(self.study)
        guard = _CtrlC()
        clock = self.clock
        try:
            guard.__enter__()
            self._ctrl_c = guard
            while True:
                guard.check()
                begun, trained = time.monotonic(), clock.total("train")
                self._housekeeping()
                snapshot = self.read()
                state = self.state(snapshot)
                if state.step is Step.DONE:
                    return state
                if stop_at is not None and time.monotonic() >= stop_at:
                    return state
                worked = False
                if state.step is Step.EXPLORE:
                    worked = self._explore(state, beating, snapshot) or self._confirm_early(
                        beating, snapshot
                    )
                elif state.step is Step.WAIT:
                    worked = self._confirm_early(beating, snapshot)
                elif state.step is Step.CONFIRM:
                    worked = self._confirm(state, beating, snapshot)
                part = "explore" if state.step in (Step.EXPLORE, Step.WAIT) else "confirm"
                spent = time.monotonic() - begun - (clock.total("train") - trained)
                clock.add(part, "storage", spent)
                if not worked and not self._encode_ahead(state, part):
                    with clock.timing(part, "wait"):
                        time.sleep(POLL_S)
        except KeyboardInterrupt:
            raise Interrupted(self._fail_in_flight()) from None
        finally:
            guard.__exit__()
            beating.close()
            self._sign_off()

    def _encode_ahead(self, state: WorkState, part: str) -> bool:
        """With nothing to take, encode the next split the race will train on, if any.

        Encoding a split (fitting the feature encoder on its training rows) costs tens of
        milliseconds, paid by the process that first trains a run on it; at a round's start
        that is on the round's critical path. A process waiting for the others' last batch
        or for a round to end encodes the next splits instead: those of the first round
        during exploration, then up to one round beyond the one in progress.
        """
        if state.race is None:
            horizon = first_round(self.plan.repeats)[-1]
        else:
            horizon = max((split for _, split in state.race.needed), default=0) + ROUND_SPLITS
        for split in range(1, min(horizon, self.splits.n_splits - 1) + 1):
            if split not in self._encoded:
                self._encoded.add(split)
                with self.clock.timing(part, "train"):
                    self.splits.get(split)
                return True
        return False

    def _sign_off(self) -> None:
        """Leave this process's time sheet in the study (``benchmarks/workers.py`` reads it)
        and mark it gone, so the others neither count it in their shares nor wait for it."""
        if self.study._storage is None or isinstance(
            self.study._storage, optuna.storages.InMemoryStorage
        ):
            return
        key = f"{CLOCK_PREFIX}{self._me.removeprefix(WORKER_PREFIX)}"
        with contextlib.suppress(Exception):  # a storage gone at exit: nothing to tell
            self.study.set_user_attr(key, self.clock.to_dict())
            self.study.set_user_attr(self._me, 0.0)

    def _housekeeping(self) -> None:
        now = time.monotonic()
        if now - self._swept >= HEARTBEAT_S or not self._swept:
            self._swept = now
            sweep(self.study)
        if self.study._storage is not None and now - self._seen >= HEARTBEAT_S:
            self._seen = now
            self.study.set_user_attr(self._me, time.time())

    @staticmethod
    def _explore_taken(trials) -> int:
        """Exploration trials finished or running in ``trials`` (other processes ask too)."""
        running = (TrialState.RUNNING,)
        return counted_explore(trials) + sum(
            1 for t in trials if t.state in running and phase(t) == EXPLORE
        )

    def _surplus(self, trial: optuna.Trial, trials) -> bool:
        """Fail an asked trial that the study's count (``trials``, read after the ask) has
        no room for. The rules' settings, queued with ``enqueue_trial``, always have room; a
        sampled trial, or the retry of a dead process's trial (queued without
        ``fixed_params``), only below the count. A freshly sampled trial has no user
        attributes yet (a queued one carries its phase), so only a queued one needs its
        system attributes read."""
        if trial.user_attrs and "fixed_params" in self.study._storage.get_trial_system_attrs(
            trial._trial_id
        ):
            return False
        if not surplus_explore(trials, trial.number, self.plan.max_trials):
            return False
        trial.set_user_attr("outcome", SURPLUS)
        self.study.tell(trial, state=TrialState.FAIL)
        return True

    def _leader(self, trials, stage: str) -> dict[str, Any] | None:
        """Who queues the next round: the owner of the most recently finished trial of the
        ``stage`` that ended (exploration before the first round, confirmation after), which
        every process reads alike once that stage is complete (a first-round run finished
        early, at exploration's end, does not count)."""
        done = [
            t
            for t in trials
            if phase(t) == stage
            and t.state in (TrialState.COMPLETE, TrialState.PRUNED)
            and t.datetime_complete is not None
            and OWNER_KEY in t.system_attrs
        ]
        if not done:
            return None
        return max(done, key=lambda t: t.datetime_complete).system_attrs.get(OWNER_KEY)

    def _may_queue(
        self, snapshot: Snapshot, missing: list[tuple[LossId, int]], *, stage: str
    ) -> bool:
        """Whether this process queues a round's missing runs now.

        The process whose trial completed the last round queues the next one at once; every
        process that saw the round start at the same moment would otherwise queue its runs
        twice. The others queue them as soon as that process is known to be gone (ended, or
        not beating) rather than after a fixed delay, and after ``ENQUEUE_DELAY_S`` in any
        case (a process that beats but does not queue, e.g. stuck on its storage).
        """
        leader = self._leader(snapshot.trials, stage)
        if leader is None or leader == self._owner or self._gone(leader, snapshot.attrs):
            return True
        since = self._missing_since.setdefault(tuple(missing), time.monotonic())
        return time.monotonic() - since >= ENQUEUE_DELAY_S

    @staticmethod
    def _gone(record: Any, attrs: Mapping[str, Any]) -> bool:
        """A process that left the study, died, or has not shown life for a grace period."""
        if not isinstance(record, dict) or owner_is_dead(record):
            return True
        seen = attrs.get(f"{WORKER_PREFIX}{record.get('host')}:{record.get('pid')}")
        return not isinstance(seen, float) or time.time() - seen >= GRACE_S

    @staticmethod
    def _workers(attrs: Mapping[str, Any]) -> int:
        """Processes that showed life within a grace period (this one included)."""
        now = time.time()
        seen = [v for k, v in attrs.items() if k.startswith(WORKER_PREFIX)]
        return max(1, sum(1 for v in seen if isinstance(v, float) and now - v < GRACE_S))

    def _fail_in_flight(self) -> int:
        failed = 0
        for trial in self.in_flight:
            try:
                self.study._storage.set_trial_system_attr(
                    trial._trial_id, "lossadvisor:failed", "interrupted"
                )
                self.study.tell(trial.number, state=TrialState.FAIL)
                failed += 1
            except Exception:  # already told, or the storage is gone: nothing left to do
                continue
        self.in_flight = []
        return failed

    def _report(self, kind: str, count: Callable[[list], tuple[int, int]]) -> None:
        """Tell the progress callback (if any) ``count(trials)``: done and total, read once."""
        if self.on_progress is not None:
            trials = self.study.get_trials(deepcopy=False)
            done, total = count(trials)
            self.on_progress(kind, done, total, best_explore_value(self.study, trials))

    # ------------------------------------------------------------------ exploration

    def _explore(self, state: WorkState, beating: Beating, snapshot: Snapshot) -> bool:
        trials = snapshot.trials
        if not trials:
            enqueue_defaults(self.study, self.candidates)
            trials = self.study.get_trials(deepcopy=False)
        running = sum(1 for t in trials if t.state == TrialState.RUNNING and phase(t) == EXPLORE)
        size = min(BATCH_TRIALS, self.plan.max_trials - state.explored - running)
        left = self.plan.explore_until - time.time()
        if size < 1 or left <= 0:
            return False
        if self._batch_s and left < 0.6 * self._batch_s and self.outcomes:
            # a batch would be cut short: end exploration for every process (the time is the
            # study's) rather than train runs that cannot finish
            self.plan = dataclasses.replace(self.plan, explore_until=time.time())
            self.study.set_user_attr(PLAN_KEY, self.plan.to_dict())
            return True
        asked = self.in_flight = []
        # near the end of the count, where the live processes' batches could fill it between
        # one reading and the next, count afresh before each ask and fail a surplus one after
        margin = self._workers(snapshot.attrs) * BATCH_TRIALS
        fresh = None  # the study as read right after the last ask (near the end only)
        for _ in range(size):
            near_end = state.explored + running + len(asked) >= self.plan.max_trials - margin
            if near_end:
                fresh = fresh if fresh is not None else self.study.get_trials(deepcopy=False)
                if self._explore_taken(fresh) >= self.plan.max_trials:
                    break  # another process asked the rest meanwhile
            with warnings.catch_warnings():
                # Optuna's heartbeat is made for study.optimize; with ask-and-tell this loop
                # beats for its trials itself (Beating), so the warning does not apply
                warnings.filterwarnings("ignore", "Heartbeat of storage", UserWarning)
                trial = self.study.ask()
            if near_end:
                fresh = self.study.get_trials(deepcopy=False)
                if self._surplus(trial, fresh):
                    break  # another process asked the last trial at the same moment
            if trial.user_attrs.get("phase") == CONFIRM:
                # a confirmation run queued by an earlier round, popped by ask: it is not
                # due while exploration is open; fail it (the race queues it again if needed)
                self.study.tell(trial, state=TrialState.FAIL)
                continue
            asked.append(trial)
        if not asked:
            return True
        beating.take(t._trial_id for t in asked)
        started = time.monotonic()
        try:
            with self.clock.timing("explore", "train"):
                outcomes = train_batch(
                    self.study,
                    asked,
                    self.candidates,
                    self.splits.get(0),
                    settings=self.settings,
                    deadline=_monotonic(self.plan.explore_until),
                    scale=self.scale,
                    seed=self.plan.seed,
                    factory=self.factory,
                    check=self._ctrl_c.check,
                )
        finally:
            beating.drop(t._trial_id for t in asked)
        self.in_flight = []
        self._batch_s = time.monotonic() - started
        self.outcomes.update((o.number, o) for o in outcomes)
        self._report(EXPLORE, lambda trials: (counted_explore(trials), self.plan.max_trials))
        return True

    # ------------------------------------------------------------------ confirmation

    def _confirm(self, state: WorkState, beating: Beating, snapshot: Snapshot) -> bool:
        race = state.race
        assert race is not None
        held = holders(snapshot.trials)
        missing = [
            (loss, split)
            for loss, split in race.needed
            if confirm_key(loss, *state.finalists[loss], split) not in held
        ]
        stage = EXPLORE if race.round_start == 0 else CONFIRM
        if missing and not self._may_queue(snapshot, missing, stage=stage):
            return False  # another process is queueing the round: claim once it is whole
        rounds = snapshot.attrs.get(ROUNDS_KEY, {})
        count = len({split for _, split in race.needed})
        if missing and race.round_start and str(race.round_start) not in rounds:
            self.study.set_user_attr(ROUNDS_KEY, {**rounds, str(race.round_start): count})
        self._queue(missing, state.finalists)
        return self._take_share(
            race.needed, state.finalists, beating, snapshot=None if missing else snapshot
        )

    def _confirm_early(self, beating: Beating, snapshot: Snapshot | None = None) -> bool:
        """At exploration's end, start the race's first round for the losses it has settled.

        When no exploration trial is left to ask but others still train elsewhere, a process
        would wait for them. A loss none of those trials (and no queued one) samples already
        has its best setting for good, and the first round runs every finalist on the same
        splits whatever the others' scores, so its runs are certainly needed: this process
        queues and trains its share of them now. (Should a trial elsewhere die and exploration
        reopen, a new trial may still change a loss's best setting; the runs of the old one
        are then never read, since a run is named by its setting.)
        """
        snapshot = snapshot or self.read()
        trials = snapshot.trials
        exploring = [
            t
            for t in trials
            if phase(t) == EXPLORE and t.state in (TrialState.RUNNING, TrialState.WAITING)
        ]
        closed = (
            counted_explore(trials) + len(exploring) >= self.plan.max_trials
            or time.time() >= self.plan.explore_until
        )
        if not exploring or not closed:
            return False
        if any(t.state == TrialState.WAITING or "loss" not in t.params for t in exploring):
            return False  # a trial not yet sampled could be of any loss
        busy = {t.params["loss"] for t in exploring}
        finalists = {
            loss: setting
            for loss, setting in best_settings(self.study, self.candidates, trials=trials).items()
            if loss.value not in busy
        }
        needed = tuple(
            (loss, split) for split in first_round(self.plan.repeats) for loss in finalists
        )
        if not needed:
            return False
        held = holders(trials)
        missing = [
            (loss, s) for loss, s in needed if confirm_key(loss, *finalists[loss], s) not in held
        ]
        self._queue(missing, finalists)
        return self._take_share(needed, finalists, beating, snapshot=None if missing else snapshot)

    def _queue(self, runs: Sequence[tuple[LossId, int]], finalists) -> None:
        """Queue confirmation runs as waiting trials that any process may take (in one
        transaction where the storage allows: ``_storage.enqueue_together``)."""
        queued = []
        for loss, split in runs:
            params, lr = finalists[loss]
            queued.append(
                {
                    "phase": CONFIRM,
                    "key": confirm_key(loss, params, lr, split),
                    "loss": loss.value,
                    "split": split,
                    "params": params,
                    "lr": lr,
                }
            )
        enqueue_together(self.study, queued)

    def _take_share(
        self, needed, finalists, beating: Beating, *, snapshot: Snapshot | None = None
    ) -> bool:
        """Claim and train this process's share of ``needed``; ``snapshot``: the step's
        reading, still good when nothing was queued since (a claim is atomic whatever it
        read: a run another process took meanwhile is simply not won)."""
        wanted = {confirm_key(loss, *finalists[loss], split): split for loss, split in needed}
        claimed = self._claim(wanted, snapshot or self.read())
        if not claimed:
            return False
        self._train_confirm(claimed, beating)
        return True

    def _claim(self, wanted: Mapping[str, int], snapshot: Snapshot) -> list[FrozenTrial]:
        """Take this process's share of the round's waiting runs (``_claims.py``)."""
        claim = plan_claim(snapshot.trials, wanted, workers=self._workers(snapshot.attrs))
        storage = self.study._storage
        for trial in claim.duplicates:
            if take(storage, trial):
                storage.set_trial_system_attr(trial._trial_id, "lossadvisor:failed", "duplicate")
                self.study.tell(trial.number, state=TrialState.FAIL, skip_if_finished=True)
        claimed: list[FrozenTrial] = []
        self.in_flight = claimed
        for frozen in claim.order:
            if len(claimed) >= claim.share:
                break
            if take(storage, frozen):  # False: another process claimed it first
                claimed.append(frozen)  # its attributes were set when it was queued
        return claimed

    def _train_confirm(self, claimed: list[FrozenTrial], beating: Beating) -> None:
        beating.take(t._trial_id for t in claimed)
        by_split: dict[int, list[tuple[optuna.Trial, MemberSpec]]] = {}
        for trial in claimed:
            attrs = trial.user_attrs
            split = int(attrs["split"])
            member = MemberSpec(
                loss=LossId(attrs["loss"]),
                params=dict(attrs["params"]),
                lr=float(attrs["lr"]),
                seed=self.plan.seed * 1000 + split,
            )
            by_split.setdefault(split, []).append((trial, member))
        numbers = sorted(by_split)
        self._encoded.update(numbers)
        started = time.monotonic()
        try:
            with self.clock.timing("confirm", "train"):
                results = fit_splits(
                    [[m for _, m in by_split[s]] for s in numbers],
                    [self.splits.get(s) for s in numbers],
                    settings=self.settings,
                    data_seeds=[self.plan.seed + s for s in numbers],
                    factory=self.factory,
                    # the plan's instant itself: encoding new splits must not move it later
                    deadline=_monotonic(self.plan.deadline),
                    should_stop=lambda index, step, score: self._ctrl_c.check() or False,
                )
        finally:
            beating.drop(t._trial_id for t in claimed)
        cost = (time.monotonic() - started) / max(1, len(claimed))
        storage = self.study._storage
        first = True  # the stack's cost per run goes on its first stored run, with its count
        for split, group in zip(numbers, results, strict=True):
            for (trial, _member), result in zip(by_split[split], group, strict=True):
                # a confirmation run is no sampled trial: its result is written through the
                # storage (Study.tell would read the trial back twice for the sampler)
                attrs = {"cost_s": cost, COST_RUNS_KEY: len(claimed)} if first else {}
                if split == 1:
                    attrs["history"] = [list(p) for p in result.history]
                finite = math.isfinite(result.score)
                if not finite:
                    attrs["outcome"] = DIVERGED
                try:
                    for key, value in attrs.items():
                        storage.set_trial_user_attr(trial._trial_id, key, value)
                    storage.set_trial_state_values(
                        trial._trial_id,
                        state=TrialState.COMPLETE if finite else TrialState.FAIL,
                        values=[float(result.score)] if finite else None,
                    )
                    first = False
                except optuna.exceptions.UpdateFinishedTrialError:
                    # failed by a sweep meanwhile (this process looked dead): its retry, or the
                    # race, runs it again; a result cannot be added to a finished trial
                    continue
        self.in_flight = []
        self.confirmed += len(claimed)
        self._report(
            CONFIRM,
            lambda trials: (len(confirm_runs(trials)), len(confirm_runs(trials)) + len(claimed)),
        )


class _CtrlC:
    """Ctrl-C taken at safe points only: between storage calls, or inside training.

    A KeyboardInterrupt raised in the middle of a storage call (a SQLite commit, a
    PostgreSQL transaction) can leave the connection holding a lock that the clean-up then
    waits on; so the signal only sets a flag, and :meth:`check` raises where nothing is
    half-written: at the top of the loop and in the training callbacks. A second Ctrl-C
    raises at once. Only the main thread can own the handler; elsewhere nothing changes.
    """

    def __init__(self) -> None:
        self.flag = False
        self.previous: Any = None

    def __enter__(self) -> _CtrlC:
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        if self.flag:
            raise KeyboardInterrupt
        self.flag = True

    def check(self) -> None:
        if self.flag:
            raise KeyboardInterrupt

    def __exit__(self, *exc_info: Any) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
            self.previous = None
