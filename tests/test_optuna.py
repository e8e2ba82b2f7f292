"""``advisor.optuna.suggest_loss`` inside a real study with several candidates."""

from __future__ import annotations

import numpy as np
import optuna
import pytest

import advisor
from advisor.losses import load_catalog
from advisor.optuna import suggest_loss, target_scale

pytestmark = pytest.mark.filterwarnings("ignore::advisor.errors.AdvisorWarning")


@pytest.fixture(scope="module")
def regression():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    y = 50 + 20 * X[:, 0] + rng.standard_t(2, size=300) * 5  # heavy tails: robust losses listed
    profile = advisor.profile(X, y)
    return profile, advisor.shortlist(profile)


def _run(listed, profile, n_trials=60):
    drawn = []

    def objective(trial):
        loss, params = suggest_loss(trial, listed, profile=profile)
        drawn.append((trial, loss, params))
        return float(len(loss.value))

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(objective, n_trials=n_trials)
    return study, drawn


def test_only_shortlisted_losses_are_drawn_and_all_of_them(regression):
    profile, listed = regression
    assert len(listed.candidates) >= 3
    _, drawn = _run(listed, profile)
    assert {loss for _, loss, _ in drawn} == {c.loss for c in listed.candidates}


def test_parameters_are_conditional_on_the_loss_and_inside_the_catalog_ranges(regression):
    profile, listed = regression
    catalog = load_catalog()
    scale = target_scale(profile)
    _, drawn = _run(listed, profile)
    searched = 0
    for trial, loss, params in drawn:
        own = {name for name in trial.params if name != "loss"}
        assert all(name.startswith(f"{loss.value}.") for name in own), (loss, own)
        for spec in catalog[loss].params:
            name = f"{loss.value}.{spec.name}"
            if name not in trial.params:
                continue
            searched += 1
            low, high = (
                (spec.low * scale, spec.high * scale) if spec.relative else (spec.low, spec.high)
            )
            ruled = next(c for c in listed.candidates if c.loss is loss).params.get(spec.name)
            if spec.relative and ruled:  # the range holds the value the rules set
                low, high = min(low, ruled), max(high, ruled)
            assert low <= params[spec.name] <= high
            assert params[spec.name] == trial.params[name]
    assert searched > 0  # Huber's delta at least is searched


def test_an_advice_carries_its_profile_for_relative_ranges(regression):
    profile, listed = regression
    advice = advisor.recommend(*_xy(), search=False)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    for _ in range(20):
        trial = study.ask()
        loss, params = suggest_loss(trial, advice)
        study.tell(trial, 0.0)
        if loss.value == "huber" and "huber.delta" in trial.params:
            scale = target_scale(advice.profile)
            spec = next(p for p in load_catalog()[loss].params if p.name == "delta")
            ruled = next(c for c in advice.shortlist.candidates if c.loss is loss).params["delta"]
            low, high = min(spec.low * scale, ruled), max(spec.high * scale, ruled)
            assert low <= params["delta"] <= high
            return
    pytest.fail("huber's delta was never searched in 20 trials")


def _xy():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    return X, 50 + 20 * X[:, 0] + rng.standard_t(2, size=300) * 5
