"""explore: ask-and-tell over batched runs; the pruner really stops weak trials."""

from __future__ import annotations

import time

import numpy as np
import optuna
import pytest
import torch

from advisor.records import (
    Candidate,
    EffectKind,
    Factor,
    LossEffect,
    LossId,
    MetricId,
    Reason,
    Task,
)
from advisor.search._explore import DEFAULT_LR, best_settings, explore, fixed_params
from advisor.training import FitSettings, TrainingData

SETTINGS = FitSettings(max_steps=60, batch_size=32, eval_every=10, patience=100)
CANDIDATES = {
    LossId.MSE: Candidate(loss=LossId.MSE, params={}, score=2.0),
    LossId.HUBER: Candidate(loss=LossId.HUBER, params={"delta": 1.0}, score=1.0),
}


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def data() -> TrainingData:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3)).astype(np.float32)
    y = x @ np.array([1.0, -2.0, 0.5]) + rng.normal(scale=0.3, size=200)
    return TrainingData(x_train=x[:160], y_train=y[:160], x_val=x[160:], y_val=y[160:],
                        task=Task.REGRESSION, n_classes=0, metric=MetricId.RMSE)


def _study() -> optuna.Study:
    return optuna.create_study(
        direction="minimize", sampler=optuna.samplers.TPESampler(seed=0),
        pruner=optuna.pruners.SuccessiveHalvingPruner(min_resource=10, reduction_factor=3),
    )


def _explore(study: optuna.Study, data: TrainingData, max_trials: int, candidates=CANDIDATES):
    return explore(study, candidates, data, settings=SETTINGS, max_trials=max_trials,
                   deadline=time.monotonic() + 600, scale=1.0, seed=0)


def test_every_candidate_is_tried_first_with_the_rules_parameters(data) -> None:
    study = _study()
    outcomes = _explore(study, data, max_trials=2)
    assert [o.loss for o in outcomes] == [LossId.MSE, LossId.HUBER]
    assert [t.params["lr"] for t in study.trials] == [DEFAULT_LR, DEFAULT_LR]
    assert outcomes[1].params["delta"] == 1.0
    assert [o.number for o in outcomes] == [0, 1]


def test_a_rule_delta_below_the_catalog_range_widens_it_without_a_warning(data) -> None:
    """Huber's delta from the noise's scale can lie below the catalog's 0.5-3 x the target's
    scale: the first trial tries it as the rules set it (no out-of-range fix-up, no Optuna
    warning), and the sampled trials may go as low."""
    import warnings

    low = 0.05  # scale=1.0 below: the catalog's range is [0.5, 3.0]
    candidates = {LossId.HUBER: Candidate(loss=LossId.HUBER, params={"delta": low}, score=1.0)}
    study = _study()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Optuna warns of an enqueued value out of range
        outcomes = _explore(study, data, max_trials=6, candidates=candidates)
    assert outcomes[0].params["delta"] == low
    deltas = [t.params["huber.delta"] for t in study.trials]
    distribution = study.trials[-1].distributions["huber.delta"]
    assert (distribution.low, distribution.high) == (low, 3.0)
    assert all(low <= d <= 3.0 for d in deltas)


def test_a_bad_trial_is_pruned_and_stops_at_the_first_rung(data) -> None:
    study, mse = _study(), {LossId.MSE: CANDIDATES[LossId.MSE]}
    _explore(study, data, max_trials=1, candidates=mse)  # a good run, reported every 10 steps
    study.enqueue_trial({"loss": "mse", "lr": 3e-4})  # barely moves in 10 steps
    (outcome,) = _explore(study, data, max_trials=2, candidates=mse)
    assert study.trials[0].state == optuna.trial.TrialState.COMPLETE
    assert outcome.state == "pruned"
    assert outcome.steps == SETTINGS.eval_every
    trial = study.trials[1]
    assert trial.state == optuna.trial.TrialState.PRUNED
    assert max(trial.intermediate_values) == SETTINGS.eval_every
    assert trial.intermediate_values[10] > study.trials[0].intermediate_values[10]


def test_pruning_stops_trials_in_a_batch_and_the_rest_complete(data) -> None:
    study = _study()
    outcomes = _explore(study, data, max_trials=8)
    states = [o.state for o in outcomes]
    assert len(outcomes) == 8 and "pruned" in states and "complete" in states
    for outcome, trial in zip(outcomes, study.trials, strict=True):
        assert trial.state.name.lower() == outcome.state
        if outcome.state == "pruned":
            assert outcome.steps < SETTINGS.max_steps
            assert max(trial.intermediate_values) == outcome.steps
        else:
            assert outcome.steps == SETTINGS.max_steps
            assert trial.value == pytest.approx(outcome.score)


def test_best_settings_picks_each_losss_best_completed_trial(data) -> None:
    study = _study()
    outcomes = _explore(study, data, max_trials=6)
    best = best_settings(study, CANDIDATES)
    assert set(best) == set(CANDIDATES)
    for loss, (params, lr) in best.items():
        done = [o for o in outcomes if o.loss is loss and o.state == "complete"]
        if not done:
            continue
        winner = min(done, key=lambda o: o.score)
        assert dict(params) == dict(winner.params)
        assert lr == study.trials[winner.number].params["lr"]


def test_a_passed_deadline_runs_no_trials(data) -> None:
    study = _study()
    outcomes = explore(study, CANDIDATES, data, settings=SETTINGS, max_trials=4,
                       deadline=time.monotonic() - 1, scale=1.0, seed=0)
    assert outcomes == []
    assert all(not t.state.is_finished() for t in study.trials)


def test_a_run_cut_by_the_deadline_is_not_told_as_complete(data) -> None:
    # no pruner: with one, the worse of the two can be pruned at the first rung before the
    # deadline comes, which is not what this test is about
    study = optuna.create_study(direction="minimize", pruner=optuna.pruners.NopPruner())
    long_runs = FitSettings(max_steps=10**6, batch_size=32, eval_every=10, patience=10**6)
    outcomes = explore(study, CANDIDATES, data, settings=long_runs, max_trials=2,
                       deadline=time.monotonic() + 0.5, scale=1.0, seed=0)
    assert [o.state for o in outcomes] == ["cut", "cut"]
    assert all(t.state == optuna.trial.TrialState.PRUNED for t in study.trials)
    # with nothing complete, each loss falls back to the rules' parameters
    assert best_settings(study, CANDIDATES)[LossId.HUBER] == ({"delta": 1.0}, DEFAULT_LR)


def _set(loss: LossId, param: str, factor: Factor) -> Reason:
    effect = LossEffect(kind=EffectKind.SET, loss=loss, param=param, value=0.9)
    return Reason(rule=f"set-{param}", factor=factor, text="t", effect=effect)


def test_fixed_params_are_the_ones_an_objective_set() -> None:
    raised = LossEffect(kind=EffectKind.RAISE, loss=LossId.QUANTILE, value=2.0)
    candidate = Candidate(
        loss=LossId.QUANTILE,
        params={"q": 0.9},
        score=1.0,
        reasons=(
            Reason(rule="r", factor=Factor.MODEL_OBJECTIVE, text="t", effect=raised),
            _set(LossId.QUANTILE, "q", Factor.MODEL_OBJECTIVE),  # a stated wish: fixed
            _set(LossId.QUANTILE, "width", Factor.OUTLIERS),  # measured from data: tuned
        ),
    )
    assert fixed_params(candidate) == {"q"}
    assert fixed_params(CANDIDATES[LossId.HUBER]) == set()


def test_the_quantile_objective_fixes_q_end_to_end() -> None:
    import pandas as pd

    from advisor import profile, shortlist

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=120), "y": rng.normal(size=120)})
    listed = shortlist(profile(frame, target="y"), objective="quantile:0.8")
    quantile = next(c for c in listed.candidates if c.loss is LossId.QUANTILE)
    assert quantile.params["q"] == 0.8
    assert fixed_params(quantile) == {"q"}
