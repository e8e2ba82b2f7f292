"""The public functions on every form of data, quietly (advisor/_api.py, advisor/_inputs.py)."""

from __future__ import annotations

import numpy as np
import optuna
import pandas as pd
import pytest
import scipy.sparse
import torch
from torch import nn

import advisor
from advisor._inputs import as_table, table_from_arrays
from advisor.errors import UsageError
from advisor.records import DataProfile, SearchResult

pytestmark = pytest.mark.filterwarnings("ignore::advisor.errors.AdvisorWarning")


def _regression(n: int = 160, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    return X, 2.0 * X[:, 0] - X[:, 1] + 0.3 * rng.normal(size=n)


# --------------------------------------------------------------------------- data forms


def test_arrays_a_tuple_and_a_dataframe_give_the_same_profile():
    X, y = _regression()
    frame = pd.DataFrame(X, columns=["x0", "x1", "x2"]).assign(target=y)
    by_arrays = advisor.profile(X, y)
    by_tuple = advisor.profile((X, y))
    by_frame = advisor.profile(frame, target="target")
    assert by_arrays.to_dict() == by_tuple.to_dict() == by_frame.to_dict()
    assert by_arrays.target == ("target",)


def test_a_feature_named_target_never_clashes_with_the_target():
    X, y = _regression()
    features = pd.DataFrame(X, columns=["target", "y", "z"])
    listed = advisor.shortlist(features, pd.Series(y, name="target"))
    assert listed.task.value == "regression"
    frame, names = table_from_arrays(features, pd.Series(y, name="target"))
    assert names == ("target_1",)
    assert list(frame.columns) == ["target", "y", "z", "target_1"]
    np.testing.assert_array_equal(frame["target"], X[:, 0])  # the feature is untouched
    np.testing.assert_array_equal(frame["target_1"], y)


def test_unnamed_target_avoids_feature_names_in_order():
    X = pd.DataFrame({"target": [1.0, 2.0], "y": [3.0, 4.0]})
    assert table_from_arrays(X, [0, 1])[1] == ("target_1",)


def test_several_target_columns_are_multilabel():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    Y = pd.DataFrame({"a": (X[:, 0] > 0).astype(int), "b": (X[:, 1] > 0.5).astype(int)})
    profile = advisor.profile(X, Y)
    assert profile.task.value == "multilabel"
    assert profile.target == ("a", "b")
    unnamed = advisor.profile(X, Y.to_numpy())
    assert unnamed.target == ("target_0", "target_1")


def test_sparse_features_are_read_as_a_table():
    X, y = _regression()
    sparse = advisor.profile(scipy.sparse.csr_matrix(X), y)
    assert sparse.to_dict() == advisor.profile(X, y).to_dict()


def test_a_path_still_works(tmp_path):
    X, y = _regression()
    path = tmp_path / "t.csv"
    pd.DataFrame(X, columns=["a", "b", "c"]).assign(price=y).to_csv(path, index=False)
    assert advisor.profile(path, target="price").target == ("price",)
    assert advisor.profile(str(path), target="price").target == ("price",)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda X, y: as_table(X, y, target="t"), "either y or target="),
        (lambda X, y: as_table("data.csv", y), "a CSV holds its own target"),
        (lambda X, y: as_table(X, y[:-1]), "different numbers of rows"),
        (lambda X, y: as_table(X[:, 0], y), "X must be 2-D"),
        (lambda X, y: as_table(X), "pass y="),
        (lambda X, y: as_table(X, np.zeros((len(y), 0))), "at least one column"),
    ],
)
def test_unusable_data_is_a_usage_error(call, match):
    X, y = _regression(20)
    with pytest.raises(UsageError, match=match):
        call(X, y)


# --------------------------------------------------------------------------- stages


def test_shortlist_of_a_profile_equals_shortlist_of_the_data():
    X, y = _regression()
    profile = advisor.profile(X, y)
    assert isinstance(profile, DataProfile)
    assert advisor.shortlist(profile).to_dict() == advisor.shortlist(X, y).to_dict()


def test_shortlist_takes_extra_rule_files(tmp_path):
    rules = tmp_path / "team.yaml"
    rules.write_text(
        "rules:\n"
        "  - id: team-no-mae\n    factor: model_objective\n    when: []\n"
        "    effect: exclude\n    losses: [mae]\n    why: our team never ships MAE\n"
    )
    X, y = _regression()
    plain = [c.loss.value for c in advisor.shortlist(X, y).candidates]
    team = [c.loss.value for c in advisor.shortlist(X, y, rules=[rules]).candidates]
    assert "mae" in plain
    assert "mae" not in team


def test_confirm_on_a_tuple_makes_the_missing_stages():
    X, y = _regression(120)
    result, decision = advisor.confirm((X, y), budget_s=3, trials=2)
    assert isinstance(result, SearchResult)
    assert decision.chosen in {r.loss for r in result.results}


# --------------------------------------------------------------------------- quiet


def test_a_library_call_prints_nothing_and_leaves_optuna_logging_alone(capfd):
    optuna.logging.set_verbosity(optuna.logging.INFO)
    try:
        X, y = _regression(120)
        advisor.recommend(X, y, budget_s=3, trials=2)
        captured = capfd.readouterr()
        assert captured.err == ""
        assert captured.out == ""
        assert optuna.logging.get_verbosity() == optuna.logging.INFO
    finally:
        optuna.logging.set_verbosity(optuna.logging.WARNING)


def test_progress_true_prints_progress_lines(capfd):
    X, y = _regression(120)
    advisor.recommend(X, y, budget_s=3, trials=2, progress=True)
    err = capfd.readouterr().err
    assert "lossadvisor: " in err
    assert "A new study created" not in err


def test_progress_callable_receives_updates():
    X, y = _regression(120)
    seen = []
    advisor.recommend(X, y, budget_s=3, trials=2, progress=seen.append)
    assert len(seen) >= 2  # at least one exploration batch and one confirmation round
    assert all(0 <= update.done <= update.total for update in seen)
    assert all(update.elapsed_s <= update.budget_s + 1.0 for update in seen)


def test_recommend_leaves_the_global_torch_rng_alone():
    X, y = _regression(120)
    torch.manual_seed(123)
    state = torch.random.get_rng_state()
    advisor.recommend(X, y, budget_s=3, trials=2, factory=_dropout_net)
    assert torch.equal(state, torch.random.get_rng_state())


# --------------------------------------------------------------------------- user's network


def _dropout_net(n_inputs: int, n_outputs: int) -> nn.Module:
    return nn.Sequential(
        nn.Linear(n_inputs, 16), nn.ReLU(), nn.Dropout(0.1), nn.Linear(16, n_outputs)
    )


class _Residual(nn.Module):
    """Not a Sequential: trained through torch.func's vmap path, with batch norm and dropout."""

    built = 0

    def __init__(self, n_inputs: int, n_outputs: int) -> None:
        super().__init__()
        type(self).built += 1
        self.inner = nn.Linear(n_inputs, 16)
        self.norm = nn.BatchNorm1d(16)
        self.drop = nn.Dropout(0.1)
        self.out = nn.Linear(16, n_outputs)
        self.skip = nn.Linear(n_inputs, n_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.drop(torch.relu(self.norm(self.inner(x))))) + self.skip(x)


def test_a_user_network_is_trained_end_to_end_by_recommend():
    X, y = _regression(200)
    _Residual.built = 0
    advice = advisor.recommend(X, y, budget_s=4, trials=2, factory=_Residual)
    assert _Residual.built > 0
    assert advice.search is not None and advice.search.results
    # a network that learns beats predicting the mean (rmse of y around its mean)
    assert min(r.mean for r in advice.search.results) < 0.8 * float(np.std(y))


def test_a_user_network_with_dropout_is_reproducible():
    X, y = _regression(150)
    runs = [
        advisor.confirm((X, y), budget_s=30, trials=2, seed=3, factory=_dropout_net)[0]
        for _ in range(2)
    ]
    first, second = ([(r.loss, r.mean) for r in run.results] for run in runs)
    assert first == second
