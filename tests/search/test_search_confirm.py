"""confirm: a small end-to-end search on a synthetic regression with gross outliers."""

from __future__ import annotations

import dataclasses
import math
import time
import warnings

import numpy as np
import optuna
import pandas as pd
import pytest
import torch

from advisor.errors import UsageError
from advisor.profiling import profile_frame
from advisor.records import DataProfile, LossId, Shortlist
from advisor.search import SearchProgress, confirm
from advisor.search._confirm import (
    COLLECT_RESERVE_S,
    EXPLORE_SHARE,
    _sampler,
    fit_settings_for,
    open_search,
)
from advisor.selection import shortlist

BUDGET = 8.0
SLACK = 6.0  # the mandatory confirmation splits may finish a little past the budget


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def table() -> tuple[pd.DataFrame, DataProfile, Shortlist]:
    rng = np.random.default_rng(0)
    n = 300
    x = rng.normal(size=(n, 3))
    y = x @ np.array([1.0, -2.0, 0.5]) + rng.normal(scale=0.3, size=n)
    gross = rng.choice(n, n // 10, replace=False)
    y[gross] += rng.choice([-1.0, 1.0], gross.size) * rng.uniform(20, 40, gross.size)
    frame = pd.DataFrame(x, columns=["a", "b", "c"]).assign(target=y)
    profile = profile_frame(frame, target="target")
    return frame, profile, shortlist(profile)


@pytest.mark.slow
def test_confirm_scores_every_shortlisted_loss_within_the_budget(table) -> None:
    frame, profile, listed = table
    seen: list[SearchProgress] = []
    search, decision = confirm(
        frame, profile, listed, budget_s=BUDGET, trials=6, seed=0, progress=seen.append
    )
    assert [r.loss for r in search.results] == list(listed.losses)
    for result in search.results:
        assert result.n >= 2 and len(result.scores) == result.n
        assert math.isfinite(result.mean) and result.std >= 0
        assert "lr" in result.params
    assert search.metric is listed.metric and search.direction == "minimize"
    assert search.elapsed_s <= BUDGET + SLACK
    assert search.trials == 6 == len(search.outcomes)
    assert {o.state for o in search.outcomes} <= {"complete", "pruned", "failed"}
    assert search.pruned == sum(o.state == "pruned" for o in search.outcomes)
    assert search.storage == "in-memory"
    assert decision.chosen in listed.losses
    assert 0.0 <= decision.confidence <= 1.0
    assert {p.phase for p in seen} == {"explore", "confirm"}
    assert all(p.budget_s == BUDGET for p in seen)


@pytest.mark.slow
def test_resumed_study_does_not_repeat_finished_trials(table, tmp_path) -> None:
    frame, profile, listed = table
    listed = dataclasses.replace(listed, settings={**listed.settings, "repeats": 2})
    url = f"sqlite:///{tmp_path / 'study.db'}"
    kwargs = dict(budget_s=30.0, seed=0, storage=url, study_name="resume-me")
    first, _ = confirm(frame, profile, listed, trials=4, **kwargs)
    before = {o.number: o for o in first.outcomes}
    assert sorted(before) == [0, 1, 2, 3]
    with pytest.raises(UsageError, match="`resume=True`"):
        confirm(frame, profile, listed, trials=6, **kwargs)
    second, _ = confirm(frame, profile, listed, trials=6, resume=True, **kwargs)
    study = optuna.load_study(study_name="resume-me", storage=url)
    explored = [t for t in study.trials if t.user_attrs.get("phase") == "explore"]
    assert len(explored) == 6
    runs = [
        t.user_attrs["key"]
        for t in study.trials
        if t.user_attrs.get("phase") == "confirm" and t.state.is_finished()
    ]
    assert runs and len(runs) == len(set(runs))  # no confirmation run trained twice
    assert not [t for t in study.trials if t.state == optuna.trial.TrialState.RUNNING]
    numbers = sorted(o.number for o in second.outcomes)
    assert numbers[:4] == [0, 1, 2, 3] and len(numbers) == 6 and second.trials == 6
    new = [o for o in second.outcomes if o.number not in before]
    assert len(new) == 2 and all(o.seed >= 0 for o in new)
    for number, old in before.items():  # the first run's trials are kept as they were
        again = next(o for o in second.outcomes if o.number == number)
        assert again.state == old.state and again.loss is old.loss
        assert again.seed == -1  # read back from the study, not re-run
        if old.state == "complete":
            assert again.score == pytest.approx(old.score)
    assert study.user_attrs["fingerprint"]["seed"] == 0


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"budget_s": 0}, "`budget_s` must be a positive"),
        ({"budget_s": float("nan")}, "`budget_s` must be a positive"),
        ({"trials": 0}, "`trials` must be at least 1"),
    ],
)
def test_confirm_rejects_unusable_budgets(table, kwargs, match) -> None:
    frame, profile, listed = table
    with pytest.raises(UsageError, match=match):
        confirm(frame, profile, listed, **kwargs)


@pytest.mark.slow
def test_repeats_stop_once_no_finalist_can_matter(table) -> None:
    # MAE (chosen: the rules lead with robust losses here) against a pinball loss at q=0.95,
    # which is far off the median on the mae metric: settled after the first round of 3
    # splits, though the budget would buy up to 10.
    frame, profile, listed = table
    by_loss = {c.loss.value: c for c in listed.candidates}
    far = dataclasses.replace(by_loss["mae"], loss=LossId.QUANTILE, params={"q": 0.95})
    settings = {**listed.settings, "repeats": 3}
    pair = dataclasses.replace(listed, candidates=(by_loss["mae"], far), settings=settings)
    search, decision = confirm(frame, profile, pair, budget_s=60.0, trials=2, seed=0)
    assert decision.chosen.value == "mae"
    assert [r.n for r in search.results] == [3, 3]
    assert search.elapsed_s < 30.0


def test_the_sampler_passes_on_no_experimental_warning() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sampler = _sampler(0, n_startup_trials=3)
    assert isinstance(sampler, optuna.samplers.TPESampler)
    assert not [w for w in caught if issubclass(w.category, optuna.exceptions.ExperimentalWarning)]


@pytest.mark.slow
@pytest.mark.parametrize("budget", [2.0, 4.0])
def test_a_search_cut_by_its_budget_ends_within_it(table, budget) -> None:
    # far more trials than the budget buys: time, not the trial count, ends each phase; the
    # splits, the study and the decision are inside the budget, not added to it
    frame, profile, listed = table
    begun = time.monotonic()
    search, decision = confirm(frame, profile, listed, budget_s=budget, trials=5000, seed=0)
    wall = time.monotonic() - begun
    assert search.trials < 5000  # (60 trials fitted in 4 s on a quiet machine)
    assert search.elapsed_s <= budget + 0.1 and wall <= budget + 0.1
    assert decision.chosen in listed.losses


def test_the_phases_share_one_plan_settings_and_direction(table) -> None:
    frame, profile, listed = table
    begun = time.time()
    opened = open_search(
        frame,
        profile,
        listed,
        budget_s=10.0,
        trials=None,
        seed=0,
        storage=None,
        study_name=None,
        resume=False,
        device="cpu",
        job=None,
    )
    plan = opened.plan
    # the plan counts from the phase's start: the splits and the study are part of the budget
    assert plan.deadline == pytest.approx(begun + 10.0 - COLLECT_RESERVE_S, abs=0.05)
    assert plan.explore_until == pytest.approx(begun + EXPLORE_SHARE * 10.0, abs=0.05)
    assert plan.max_trials == 4 * len(listed.candidates)
    assert opened.settings == fit_settings_for(len(opened.splits.get(0).y_train))
    assert opened.direction == "minimize"
    assert opened.study.user_attrs["plan"] == plan.to_dict()


@pytest.mark.slow
def test_a_race_past_ten_splits_is_stored_and_reported_with_its_looks(
    table, tmp_path, monkeypatch
) -> None:
    """The race's rounds past 10 splits go through the study like the others (here a SQLite
    file): forced to race on (no loss settles, the prior always overrides a tied leader), it
    runs all 30 splits and reports its p-values adjusted for the 5 looks."""
    import advisor.search._race as race

    monkeypatch.setattr(race, "contenders", lambda scores, live, **kwargs: list(live))
    monkeypatch.setattr(race, "prior_overrides_leader", lambda *args, **kwargs: True)
    frame, profile, listed = table
    by_loss = {c.loss.value: c for c in listed.candidates}
    pair = dataclasses.replace(
        listed,
        candidates=(by_loss["mae"], by_loss["huber"]),
        settings={**listed.settings, "repeats": 3},
    )
    storage = f"sqlite:///{tmp_path / 'race.db'}"
    search, decision = confirm(
        frame, profile, pair, budget_s=60.0, trials=2, seed=0, storage=storage
    )
    assert [r.n for r in search.results] == [race.MOST_REPEATS] * 2
    assert decision.looks == race.looks(race.MOST_REPEATS) == 5
    assert "adjusted for 5 looks" in decision.comparison.statement
    stored = optuna.load_study(study_name=search.study_name, storage=storage)
    splits = {t.user_attrs.get("split") for t in stored.trials if t.user_attrs.get("split")}
    assert max(splits) == race.MOST_REPEATS
