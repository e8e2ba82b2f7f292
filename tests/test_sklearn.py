"""The scikit-learn estimators follow its contract and train with the advised loss."""

from __future__ import annotations

import pickle
import time
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from advisor.errors import AdvisorWarning
from advisor.sklearn import AdvisedMLPClassifier, AdvisedMLPRegressor, LossAdvisor


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# Rules only and a few dozen steps: the checks fit each estimator about a hundred times.
# Every check applies and passes; scikit-learn itself skips check_array_api_input (it needs
# SCIPY_ARRAY_API=1) and, for the classifier, the decision_function format check (there is
# no decision_function: the losses' outputs are read through predict_proba).
CHECKED = [
    LossAdvisor(search=False),
    AdvisedMLPClassifier(search=False, max_steps=30, lr=0.03, random_state=0),
    AdvisedMLPRegressor(search=False, max_steps=30, lr=0.03, random_state=0),
]


@parametrize_with_checks(CHECKED)
def test_scikit_learn_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        # the checks' tiny integer targets read as ordinal-or-multiclass: a doubtful reading
        warnings.simplefilter("ignore", AdvisorWarning)
        check(estimator)


def test_init_only_stores_and_clone_round_trips():
    advisor = LossAdvisor(objective="robust", budget_s=5.0, seed=3)
    assert advisor.get_params()["objective"] == "robust"
    assert clone(advisor).get_params() == advisor.get_params()
    mlp = AdvisedMLPClassifier(loss="focal", loss_params={"gamma": 1.0}, hidden=16)
    assert clone(mlp).get_params() == mlp.get_params()


def test_build_loss_before_fit_raises():
    with pytest.raises(NotFittedError):
        LossAdvisor().build_loss()
    with pytest.raises(NotFittedError):
        AdvisedMLPRegressor().predict(np.zeros((2, 2)))


def test_rules_only_fit_on_imbalanced_classes_builds_a_weighted_loss():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(400, 4)), columns=list("abcd"))
    y = np.where(rng.random(400) < 0.1, "yes", "no")
    fitted = LossAdvisor(search=False).fit(X, y)
    assert fitted.advice_.profile.task.value == "binary"
    assert fitted.loss_ in {"bce_weighted", "focal"}
    module = fitted.build_loss()
    assert isinstance(module, torch.nn.Module)
    value = module(torch.zeros(8, 1), fitted.advice_.encode_target(["no", "yes"] * 4))
    assert torch.isfinite(value)


def test_a_feature_named_target_does_not_clash_with_the_target():
    rng = np.random.default_rng(2)
    X = pd.DataFrame({"target": rng.normal(size=150), "y": rng.normal(size=150)})
    y = 2.0 * X["target"].to_numpy() + rng.normal(scale=0.1, size=150)
    fitted = LossAdvisor(search=False).fit(X, y)
    assert fitted.n_features_in_ == 2
    assert list(fitted.feature_names_in_) == ["target", "y"]
    assert fitted.advice_.profile.target not in (("target",), ("y",))
    assert fitted.advice_.profile.features.n_features == 2
    reg = AdvisedMLPRegressor(search=False, max_steps=200, random_state=0).fit(X, y)
    assert reg.score(X, y) > 0.8  # it learned from the column called "target"


def test_fitted_estimators_pickle_and_predict_the_same():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(120, 3))
    y = np.where(X[:, 0] > 0, "up", "down")
    advisor = LossAdvisor(search=False).fit(X, y)
    assert pickle.loads(pickle.dumps(advisor)).advice_ == advisor.advice_
    clf = AdvisedMLPClassifier(search=False, max_steps=60, random_state=0).fit(X, y)
    copy = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(copy.predict_proba(X), clf.predict_proba(X))


def test_given_loss_and_parameters_are_used_and_checked():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(150, 2))
    y = X[:, 0] + rng.normal(scale=0.2, size=150)
    reg = AdvisedMLPRegressor(loss="huber", loss_params={"delta": 0.5}, max_steps=50)
    reg.fit(X, y)
    assert reg.loss_ == "huber" and reg.loss_params_ == {"delta": 0.5}
    assert reg.advice_ is None  # no advisor call when the loss is given
    with pytest.raises(ValueError, match="loss 'bce' applies to binary, not to this target"):
        AdvisedMLPRegressor(loss="bce").fit(X, y)
    with pytest.raises(ValueError, match="has no parameter 'delt'"):
        AdvisedMLPRegressor(loss="huber", loss_params={"delt": 1.0}).fit(X, y)


def test_classifier_answers_in_the_original_labels_and_classes_order():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(300, 2))
    # labels whose natural order (profile: level2 < level10) differs from np.unique's
    names = np.array(["level10", "level2", "level3"])
    y = names[np.argmax(np.column_stack([X[:, 0], X[:, 1], -X[:, 0] - X[:, 1]]), axis=1)]
    clf = AdvisedMLPClassifier(search=False, max_steps=300, random_state=0).fit(X, y)
    assert clf.classes_.tolist() == ["level10", "level2", "level3"]
    proba = clf.predict_proba(X)
    assert proba.shape == (300, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(clf.classes_[proba.argmax(axis=1)], clf.predict(X))
    assert clf.score(X, y) > 0.9


def test_ordinal_and_multilabel_targets():
    rng = np.random.default_rng(6)
    X = rng.normal(size=(300, 2))
    levels = np.clip(np.rint(1.5 * X[:, 0] + 3), 1, 5).astype(int)
    clf = AdvisedMLPClassifier(loss="ordinal_coral", max_steps=300, random_state=0)
    clf.fit(X, levels)
    assert clf.profile_.task.value == "ordinal" and clf.classes_.tolist() == [1, 2, 3, 4, 5]
    assert np.mean(np.abs(clf.predict(X) - levels)) < 0.5
    labels = np.column_stack([X[:, 0] > 0, X[:, 1] > 0.5]).astype(int)
    multi = AdvisedMLPClassifier(search=False, max_steps=300, random_state=0).fit(X, labels)
    assert multi.loss_.startswith("multilabel")
    assert multi.predict(X).shape == (300, 2) and multi.predict_proba(X).shape == (300, 2)
    assert multi.score(X, labels) > 0.8  # exact-match accuracy over both labels


def test_categorical_columns_of_a_dataframe_are_encoded_as_in_the_search():
    rng = np.random.default_rng(7)
    colour = rng.choice(["red", "green", "blue"], size=240)
    X = pd.DataFrame({"colour": colour, "noise": rng.normal(size=240)})
    y = np.where(colour == "red", 5.0, 0.0) + rng.normal(scale=0.1, size=240)
    reg = AdvisedMLPRegressor(search=False, max_steps=300, random_state=0).fit(X, y)
    assert reg.score(X, y) > 0.9


def test_classifier_in_grid_search_on_breast_cancer_beats_the_constant_baseline():
    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0, stratify=y)
    started = time.monotonic()
    grid = GridSearchCV(
        make_pipeline(
            StandardScaler(), AdvisedMLPClassifier(search=False, max_steps=150, random_state=0)
        ),
        {"advisedmlpclassifier__loss": [None, "focal"]},
        cv=3,
    )
    grid.fit(X_train, y_train)
    elapsed = time.monotonic() - started
    baseline = DummyClassifier().fit(X_train, y_train).score(X_test, y_test)
    score = grid.score(X_test, y_test)
    assert baseline < 0.65 and score > 0.9, (score, baseline)
    assert elapsed < 60  # about 5 s on one thread; a wide margin for a shared machine
    chosen = grid.best_estimator_[-1]
    assert chosen.loss_ in {"bce", "bce_weighted", "focal"}


def test_regressor_in_cross_val_score_beats_the_mean_baseline():
    X, y = load_diabetes(return_X_y=True)
    model = AdvisedMLPRegressor(search=False, max_steps=300, lr=1e-2, random_state=0)
    scores = cross_val_score(model, X, y, cv=3)
    baseline = cross_val_score(DummyRegressor(), X, y, cv=3)
    assert scores.mean() > baseline.mean() + 0.3, (scores, baseline)


@pytest.mark.slow
def test_fit_with_search_confirms_between_candidates():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 3))
    y = X[:, 0] * 2 + rng.normal(scale=0.2, size=300)
    fitted = LossAdvisor(budget_s=6.0, trials=4).fit(X, y)
    assert fitted.advice_.search is not None
    assert fitted.loss_ in {r.loss.value for r in fitted.advice_.search.results}
    assert 0.0 <= fitted.confidence_ <= 1.0


@pytest.mark.slow
def test_advised_classifier_trains_with_the_searched_loss_and_rate():
    rng = np.random.default_rng(8)
    X = rng.normal(size=(300, 3))
    y = np.where(X[:, 0] + 0.3 * rng.normal(size=300) > 0.8, "rare", "common")
    clf = AdvisedMLPClassifier(budget_s=6.0, trials=4, random_state=0).fit(X, y)
    advice = clf.advice_
    assert advice.search is not None
    assert clf.loss_ == advice.recommendation.loss.value
    searched = next(r for r in advice.search.results if r.loss.value == clf.loss_)
    assert clf.lr_ == pytest.approx(searched.params["lr"])
    assert clf.score(X, y) > 0.8


def test_loss_parameters_are_ordinary_hyper_parameters_of_grid_search():
    rng = np.random.default_rng(9)
    X = rng.normal(size=(200, 2))
    y = 3.0 * X[:, 0] + rng.standard_t(df=2, size=200)
    grid = GridSearchCV(
        AdvisedMLPRegressor(loss="huber", max_steps=100, random_state=0),
        {"loss_params": [{"delta": 0.3}, {"delta": 3.0}]},
        cv=2,
    ).fit(X, y)
    assert grid.best_estimator_.loss_params_ in ({"delta": 0.3}, {"delta": 3.0})
    assert grid.best_params_["loss_params"] == grid.best_estimator_.loss_params_
    assert len(grid.cv_results_["params"]) == 2
