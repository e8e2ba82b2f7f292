"""The stored-trial readings every process shares: here, the count that stops surplus asks."""

from __future__ import annotations

import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from advisor.search._results import CONFIRM, DIVERGED, EXPLORE, surplus_explore


def _trial(number: int, state: TrialState, phase: str = EXPLORE, outcome: str | None = None):
    attrs = {"phase": phase} | ({"outcome": outcome} if outcome else {})
    trial = create_trial(
        state=state,
        value=1.0 if state == TrialState.COMPLETE else None,
        params={"lr": 0.003},
        distributions={"lr": FloatDistribution(1e-4, 1e-1, log=True)},
        user_attrs=attrs,
    )
    trial.number = number
    return trial


def test_a_fresh_trial_after_a_full_count_is_surplus() -> None:
    # four queued defaults, two of them still waiting: a fifth trial asked meanwhile is one
    # too many, whichever process asked it
    trials = [
        _trial(0, TrialState.RUNNING),
        _trial(1, TrialState.WAITING),
        _trial(2, TrialState.COMPLETE),
        _trial(3, TrialState.WAITING),
    ]
    assert surplus_explore(trials, 4, 4)
    assert not surplus_explore(trials, 4, 5)


@pytest.mark.parametrize(
    ("trial", "counts"),
    [
        (_trial(0, TrialState.PRUNED), True),
        (_trial(0, TrialState.FAIL, outcome=DIVERGED), True),  # trained: a result
        (_trial(0, TrialState.FAIL), False),  # a dead process's trial: its retry takes its place
        (_trial(0, TrialState.COMPLETE, phase=CONFIRM), False),
    ],
)
def test_what_fills_the_count(trial, counts) -> None:
    others = [_trial(n, TrialState.COMPLETE) for n in (1, 2)]
    assert surplus_explore([trial, *others], 3, 3) is counts


def test_only_earlier_trials_count() -> None:
    trials = [_trial(n, TrialState.RUNNING) for n in (0, 1, 2, 3, 5)]
    assert not surplus_explore(trials, 3, 4)  # trial 5 came later: it is the surplus one
    assert surplus_explore(trials, 5, 4)


def test_a_process_gives_way_to_the_trial_asked_first() -> None:
    """Two processes both saw room for the last trial: the later-numbered one is failed."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.create_study()
    first, second = study.ask(), study.ask()
    for trial in (first, second):
        trial.set_user_attr("phase", EXPLORE)
    frozen = study.get_trials(deepcopy=False)
    assert not surplus_explore(frozen, first.number, 1)
    assert surplus_explore(frozen, second.number, 1)
