"""Who takes which confirmation run: equal shares of a round, claimed one run at a time."""

from __future__ import annotations

import json
import subprocess
import sys

import optuna
import pytest
from optuna.trial import TrialState

from advisor.search._claims import plan_claim, take
from advisor.search._storage import build_storage


def _round(study: optuna.Study, splits: range, losses: tuple[str, ...]) -> dict[str, int]:
    """Queue one run per loss and split, as a round does; return key -> split."""
    wanted = {}
    for split in splits:
        for loss in losses:
            key = f"{loss}/{split}"
            study.enqueue_trial({}, user_attrs={"phase": "confirm", "key": key, "split": split})
            wanted[key] = split
    return wanted


def _run(study: optuna.Study, claim) -> list[int]:
    taken = [t.number for t in claim.order[: claim.share]]
    for trial in claim.order[: claim.share]:
        assert take(study._storage, trial)
    return taken


def test_two_processes_share_a_round_of_three_splits_run_by_run() -> None:
    study = optuna.create_study()
    wanted = _round(study, range(1, 4), ("mse", "mae", "huber", "log_cosh"))
    first = plan_claim(study.get_trials(deepcopy=False), wanted, workers=2)
    assert first.share == 6  # not 2 of 3 whole splits (8 runs) and 1 (4 runs) for the other
    splits = [t.user_attrs["split"] for t in first.order]
    assert splits == sorted(splits)  # from the front: split 1 whole, then half of split 2
    taken = _run(study, first)
    second = plan_claim(study.get_trials(deepcopy=False), wanted, workers=2)
    assert second.share == 6 and len(second.order) == 6  # the running ones count: 12 / 2
    assert [t.user_attrs["split"] for t in second.order][0] == 3  # from the back
    assert not set(taken) & {t.number for t in second.order}


def test_a_late_process_takes_what_evens_the_load() -> None:
    study = optuna.create_study()
    wanted = _round(study, range(1, 4), ("mse", "mae", "huber", "log_cosh"))
    trials = study.get_trials(deepcopy=False)
    for trial in trials[:4]:
        take(study._storage, trial)  # a first process of three took 4
    claim = plan_claim(study.get_trials(deepcopy=False), wanted, workers=3)
    assert claim.share == 4 and len(claim.order) == 8
    alone = plan_claim(study.get_trials(deepcopy=False), wanted, workers=1)
    assert alone.share == 12  # one process: every waiting run (whatever runs elsewhere)


def test_runs_outside_the_round_and_copies_are_not_claimed() -> None:
    study = optuna.create_study()
    wanted = _round(study, range(1, 3), ("mse",))
    study.enqueue_trial({}, user_attrs={"phase": "confirm", "key": "mse/1", "split": 1})
    study.enqueue_trial({}, user_attrs={"phase": "confirm", "key": "mae/9", "split": 9})
    claim = plan_claim(study.get_trials(deepcopy=False), wanted, workers=1)
    assert [t.user_attrs["key"] for t in claim.order] == ["mse/1", "mse/2"]
    assert [t.number for t in claim.duplicates] == [2]  # the later copy of mse/1
    assert plan_claim(study.get_trials(deepcopy=False), {}, workers=2).share == 0


CLAIMER = """
import json, sys
import optuna
import pytest
from optuna.trial import TrialState
from advisor.search._claims import take
from advisor.search._storage import build_storage
optuna.logging.set_verbosity(optuna.logging.WARNING)
study = optuna.load_study(study_name="c", storage=build_storage(sys.argv[1]))
mine = []
while True:
    waiting = study.get_trials(deepcopy=False, states=(TrialState.WAITING,))
    if not waiting:
        break
    mine += [t.number for t in waiting[:5] if take(study._storage, t)]
print(json.dumps(mine))
"""


@pytest.mark.slow
def test_two_processes_never_claim_the_same_trial_on_sqlite(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    study = optuna.create_study(study_name="c", storage=build_storage(url))
    for number in range(60):
        study.enqueue_trial({"x": number})
    claimers = [
        subprocess.Popen([sys.executable, "-c", CLAIMER, url], stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    first, second = (set(json.loads(p.communicate(timeout=120)[0])) for p in claimers)
    assert not first & second  # each trial trained once (SQLite: BEGIN IMMEDIATE)
    assert len(first | second) == 60
    assert {t.state for t in study.get_trials()} == {TrialState.RUNNING}
