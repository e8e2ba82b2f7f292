"""Which confirmation runs a process takes: an equal share of a round, claimed one by one.

A round of the race is a set of runs (a finalist on a split), queued as waiting trials that
any process of the study may take. Who takes what decides how long the round lasts: it ends
when its slowest process does. So a process's share is counted in runs, not whole splits
(with whole splits, a round of 3 splits on 2 processes is 2 splits for one and 1 for the
other, which then waits), and it counts the runs still waiting or already running elsewhere,
so that a process that comes late takes what leaves the load even.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence

import optuna
from optuna.trial import FrozenTrial, TrialState

from advisor.search._results import CONFIRM, DIVERGED, phase

__all__ = ["Claim", "holders", "plan_claim", "take"]


def holders(trials: Sequence[FrozenTrial]) -> dict[str, int]:
    """Each confirmation key's run: the lowest-numbered trial holding it that is not failed."""
    found: dict[str, int] = {}
    for trial in trials:
        if phase(trial) != CONFIRM:
            continue
        alive = trial.state in (TrialState.WAITING, TrialState.RUNNING, TrialState.COMPLETE)
        if alive or trial.user_attrs.get("outcome") == DIVERGED:
            key = trial.user_attrs.get("key")
            found[key] = min(found.get(key, trial.number), trial.number)
    return found


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Claim:
    """What a process should try to take: ``share`` runs from ``order``, in that order."""

    order: tuple[FrozenTrial, ...]  # the round's waiting runs, in the order to try them
    share: int  # how many of them this process takes
    duplicates: tuple[FrozenTrial, ...]  # waiting copies of a run another trial holds


def plan_claim(trials: Sequence[FrozenTrial], wanted: Mapping[str, int], *, workers: int) -> Claim:
    """This process's share of the waiting runs named in ``wanted`` (key -> split).

    The share is the round's unfinished runs (waiting, or running elsewhere) over the live
    processes, rounded up. Runs are tried in split order, from the front when none of the
    round runs yet and from the back once some do (another process took the front), so each
    process's stack spans few splits: a split is encoded once in every process that trains
    on it. Two processes that saw the same round start may both have queued its runs; the
    run of a key is the lowest-numbered trial that holds it, and a waiting copy is listed
    in ``duplicates``, to be failed by whoever finds it.
    """
    held = holders(trials)
    waiting: list[FrozenTrial] = []
    duplicates: list[FrozenTrial] = []
    running = 0
    for trial in trials:
        if phase(trial) != CONFIRM:
            continue
        key = trial.user_attrs.get("key")
        if trial.state == TrialState.RUNNING:
            running += key in wanted
        elif trial.state != TrialState.WAITING:
            continue
        elif held.get(key) != trial.number:
            duplicates.append(trial)
        elif key in wanted:
            waiting.append(trial)
    waiting.sort(key=lambda t: (wanted[t.user_attrs["key"]], t.number), reverse=running > 0)
    share = math.ceil((len(waiting) + running) / max(1, workers)) if waiting else 0
    return Claim(
        order=tuple(waiting), share=max(share, 1 if waiting else 0), duplicates=tuple(duplicates)
    )


def take(storage: optuna.storages.BaseStorage, trial: FrozenTrial) -> bool:
    """Claim a waiting trial for this process: the storage lets exactly one process win
    (on SQLite too: ``_storage.py`` makes its transactions take the write lock first)."""
    try:
        return storage.set_trial_state_values(trial._trial_id, state=TrialState.RUNNING)
    except optuna.exceptions.UpdateFinishedTrialError:
        return False
