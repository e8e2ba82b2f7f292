"""fit_short: batched == sequential, early stopping, pruning callback, divergence, deadline."""

from __future__ import annotations

import dataclasses
import math
import time

import numpy as np
import pytest
import torch

from advisor.records import LossId, MetricId, Task
from advisor.training import FitSettings, MemberSpec, TrainingData, fit_short, fit_splits

SETTINGS = FitSettings(max_steps=60, batch_size=64, eval_every=10, patience=100)


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny matrices: intra-op threads only add contention (10x slower on a busy 2-core box)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _regression(n: int = 240, scale: float = 1.0, seed: int = 0) -> TrainingData:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype(np.float32)
    y = (x @ np.array([1.5, -2.0, 0.5, 0.0]) + rng.normal(scale=0.3, size=n)) * scale
    cut = int(0.8 * n)
    return TrainingData(x_train=x[:cut], y_train=y[:cut], x_val=x[cut:], y_val=y[cut:],
                        task=Task.REGRESSION, n_classes=0, metric=MetricId.MAE)


def _binary(n: int = 240, seed: int = 0) -> TrainingData:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype(np.float32)
    y = (x[:, 0] - x[:, 1] + rng.normal(scale=0.5, size=n) > 0).astype(np.int64)
    cut = int(0.8 * n)
    return TrainingData(x_train=x[:cut], y_train=y[:cut], x_val=x[cut:], y_val=y[cut:],
                        task=Task.BINARY, n_classes=2, metric=MetricId.ROC_AUC)


CASES = {
    "regression": (_regression, [
        MemberSpec(loss=LossId.MSE, params={}, lr=3e-3, seed=0),
        MemberSpec(loss=LossId.HUBER, params={"delta": 1.0}, lr=1e-2, seed=1),
        MemberSpec(loss=LossId.MAE, params={}, lr=5e-3, seed=2),
    ]),
    "binary": (_binary, [
        MemberSpec(loss=LossId.BCE, params={}, lr=3e-3, seed=0),
        MemberSpec(loss=LossId.FOCAL, params={"gamma": 2.0, "alpha": 0.25}, lr=1e-2, seed=1),
    ]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_batched_and_sequential_training_give_the_same_scores(case: str) -> None:
    """Exactly the same: a member's arithmetic does not depend on the stack it is trained in."""
    make, members = CASES[case]
    data = make()
    batched = fit_short(members, data, settings=SETTINGS, data_seed=7)
    for member, together in zip(members, batched, strict=True):
        (alone,) = fit_short([member], data, settings=SETTINGS, data_seed=7)
        assert math.isfinite(together.score)
        assert together.history == alone.history
        assert together.score == alone.score
        assert together.best_step == alone.best_step
        assert together.steps == alone.steps
        np.testing.assert_array_equal(together.prediction, alone.prediction)


def test_batched_and_sequential_runs_stay_identical_over_a_long_run() -> None:
    """ReLU's kink would turn last-bit differences into score gaps over hundreds of steps."""
    data = _regression(n=400)
    members = CASES["regression"][1]
    settings = FitSettings(max_steps=400, batch_size=32, eval_every=50, patience=100)
    batched = fit_short(members, data, settings=settings, data_seed=3)
    for member, together in zip(members, batched, strict=True):
        (alone,) = fit_short([member], data, settings=settings, data_seed=3)
        assert together.history == alone.history
        np.testing.assert_array_equal(together.prediction, alone.prediction)


GROUPED = {
    "regression": (_regression, [
        MemberSpec(loss=LossId.HUBER, params={"delta": 0.5}, lr=3e-3, seed=0),
        MemberSpec(loss=LossId.LOG_COSH, params={}, lr=1e-2, seed=1),
        MemberSpec(loss=LossId.HUBER, params={"delta": 2.0}, lr=1e-2, seed=2),
        MemberSpec(loss=LossId.LOG_COSH, params={}, lr=3e-3, seed=3),
    ]),
    "binary": (_binary, [
        MemberSpec(loss=LossId.FOCAL, params={"gamma": 2.0, "alpha": 0.25}, lr=1e-2, seed=0),
        MemberSpec(loss=LossId.BCE, params={}, lr=3e-3, seed=1),
        MemberSpec(loss=LossId.FOCAL, params={"gamma": 1.0}, lr=3e-3, seed=2),
        MemberSpec(loss=LossId.BCE, params={}, lr=1e-2, seed=3),
    ]),
}


@pytest.mark.parametrize("case", sorted(GROUPED))
def test_members_sharing_a_loss_train_as_they_would_alone(case: str) -> None:
    """One stacked loss call per loss id, bit for bit as alone, also after a member stops."""
    make, members = GROUPED[case]
    data = make()
    # 50 rows: not a whole number of SIMD blocks, so the padded rows are exercised
    settings = FitSettings(max_steps=60, batch_size=50, eval_every=10, patience=100)
    batched = fit_short(
        members, data, settings=settings, data_seed=5,
        should_stop=lambda index, step, score: index == 0 and step >= 20,
    )
    assert batched[0].pruned and batched[0].steps == 20
    for member, together in zip(members[1:], batched[1:], strict=True):
        (alone,) = fit_short([member], data, settings=settings, data_seed=5)
        assert together.history == alone.history
        np.testing.assert_array_equal(together.prediction, alone.prediction)


def test_narrow_heads_in_a_wide_stack_train_as_beside_one_wide_member() -> None:
    """One-logit members use the first column of a two-logit stack, gathered apart from it.

    A one-output head alone takes another matmul kernel than inside a two-output stack, so
    each is compared bit for bit with a run beside one two-logit member; alone, it agrees
    within float rounding (next test).
    """
    data = _binary()
    wide = MemberSpec(loss=LossId.CE, params={}, lr=1e-2, seed=0)
    members = [
        wide,
        MemberSpec(loss=LossId.FOCAL, params={"gamma": 2.0}, lr=3e-3, seed=1),
        MemberSpec(loss=LossId.CE_LABEL_SMOOTHING, params={}, lr=3e-3, seed=2),
        MemberSpec(loss=LossId.BCE, params={}, lr=1e-2, seed=3),
        MemberSpec(loss=LossId.FOCAL, params={"gamma": 1.0, "alpha": 0.25}, lr=1e-2, seed=4),
    ]
    settings = FitSettings(max_steps=60, batch_size=50, eval_every=10, patience=100)
    batched = fit_short(members, data, settings=settings, data_seed=5)
    for member, together in zip(members[1:], batched[1:], strict=True):
        beside = fit_short([wide, member], data, settings=settings, data_seed=5)[1]
        assert together.history == beside.history
        np.testing.assert_array_equal(together.prediction, beside.prediction)


def test_a_narrow_head_in_a_wide_stack_trains_as_alone_within_rounding() -> None:
    """Its head is built at its own width and zero-padded: it starts where it starts alone."""
    data = _binary()
    narrow = MemberSpec(loss=LossId.BCE, params={}, lr=1e-2, seed=3)
    wide = MemberSpec(loss=LossId.CE, params={}, lr=1e-2, seed=0)
    settings = FitSettings(max_steps=60, batch_size=50, eval_every=10, patience=100)
    (alone,) = fit_short([narrow], data, settings=settings, data_seed=5)
    together = fit_short([wide, narrow], data, settings=settings, data_seed=5)[1]
    assert [step for step, _ in together.history] == [step for step, _ in alone.history]
    np.testing.assert_allclose(
        [score for _, score in together.history], [score for _, score in alone.history],
        rtol=1e-5,
    )


def test_a_batch_as_large_as_the_data_reshuffles_every_step() -> None:
    data = _regression(n=50)
    settings = FitSettings(max_steps=12, batch_size=500, eval_every=4, patience=100)
    members = [MemberSpec(loss=LossId.MSE, params={}, lr=1e-2, seed=s) for s in range(2)]
    first, second = fit_short(members, data, settings=settings)
    assert first.steps == second.steps == 12
    assert math.isfinite(first.score) and math.isfinite(second.score)


@pytest.mark.parametrize("cpu_threads", [None, 2])
def test_the_thread_count_is_restored(cpu_threads: int | None) -> None:
    settings = FitSettings(max_steps=3, batch_size=64, eval_every=3, cpu_threads=cpu_threads)
    fit_short([MemberSpec(loss=LossId.MSE, params={})] * 9, _regression(), settings=settings)
    assert torch.get_num_threads() == 1


def test_results_keep_the_best_score_and_its_history() -> None:
    data = _regression()
    (result,) = fit_short([MemberSpec(loss=LossId.MSE, params={})], data, settings=SETTINGS)
    assert [step for step, _ in result.history] == [10, 20, 30, 40, 50, 60]
    assert result.score == min(score for _, score in result.history)
    assert dict(result.history)[result.best_step] == result.score
    assert result.prediction.shape == (len(data.y_val),)
    assert not result.pruned


def test_early_stopping_stops_on_a_plateau() -> None:
    data = _regression()
    # lr 0 never improves after the first evaluation: a flat plateau
    settings = FitSettings(max_steps=100, batch_size=64, eval_every=5, patience=2)
    (result,) = fit_short([MemberSpec(loss=LossId.MSE, params={}, lr=0.0)], data,
                          settings=settings)
    # best at 5; 10, 15 and 20 no better: more than `patience` evaluations without progress
    assert result.steps == 20
    assert result.steps < settings.max_steps
    assert result.best_step == 5
    assert not result.pruned


def test_should_stop_prunes_that_member_only() -> None:
    data = _regression()
    calls: list[tuple[int, int]] = []

    def should_stop(index: int, step: int, score: float) -> bool:
        calls.append((index, step))
        return index == 1 and step >= 20

    members = [MemberSpec(loss=LossId.MSE, params={}, seed=s) for s in range(3)]
    results = fit_short(members, data, settings=SETTINGS, should_stop=should_stop)
    assert results[1].pruned and results[1].steps == 20
    assert not results[0].pruned and results[0].steps == SETTINGS.max_steps
    assert not results[2].pruned and results[2].steps == SETTINGS.max_steps
    assert (1, 30) not in calls and (0, 30) in calls


def test_a_diverging_member_does_not_break_the_others() -> None:
    data = _regression(scale=1e6)
    members = [
        MemberSpec(loss=LossId.MSE, params={}, lr=3e-3, seed=0),
        MemberSpec(loss=LossId.MSE, params={}, lr=1e30, seed=1),
    ]
    good, bad = fit_short(members, data, settings=SETTINGS, data_seed=1)
    (alone,) = fit_short(members[:1], data, settings=SETTINGS, data_seed=1)
    assert math.isfinite(good.score)
    assert good.score == pytest.approx(alone.score, rel=1e-4)
    # the first evaluation is NaN: the member stops there, unscored and not "pruned"
    assert math.isnan(bad.score) and bad.steps == SETTINGS.eval_every
    assert bad.prediction is None and not bad.pruned


def test_deadline_in_the_past_ends_after_one_step() -> None:
    data = _regression()
    members = [MemberSpec(loss=LossId.MSE, params={}), MemberSpec(loss=LossId.MAE, params={})]
    results = fit_short(members, data, settings=SETTINGS, deadline=time.monotonic() - 1.0)
    for result in results:
        assert result.steps == 1
        assert [step for step, _ in result.history] == [1]
        assert math.isfinite(result.score)


class _Residual(torch.nn.Module):
    """A user model that is not a plain Sequential: trained through vmap."""

    def __init__(self, n_inputs: int, n_outputs: int) -> None:
        super().__init__()
        self.inner = torch.nn.Linear(n_inputs, 16)
        self.head = torch.nn.Linear(n_inputs + 16, n_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.cat([x, torch.relu(self.inner(x))], dim=-1))


def test_a_user_factory_trains_through_the_vmap_path() -> None:
    data = _regression()
    members = [MemberSpec(loss=LossId.MSE, params={}, lr=1e-2, seed=s) for s in range(2)]
    results = fit_short(members, data, settings=SETTINGS, factory=_Residual)
    for result in results:
        first, best = result.history[0][1], result.score
        assert math.isfinite(best) and best < first


def test_stopped_members_leave_the_stack(monkeypatch) -> None:
    """A pruned or early-stopped member costs no more compute: the stack shrinks to the rest."""
    from advisor.training._model import StackedModel

    kept: list[list[int]] = []
    original = StackedModel.keep

    def spy(self, positions):
        kept.append(list(positions))
        return original(self, positions)

    monkeypatch.setattr(StackedModel, "keep", spy)
    data = _regression()
    members = [MemberSpec(loss=LossId.MSE, params={}, seed=s) for s in range(4)]
    results = fit_short(
        members, data, settings=SETTINGS,
        should_stop=lambda index, step, score: (index, step) in {(1, 20), (3, 20), (0, 40)},
    )
    # positions in the stack of that moment: [0, 2] after step 20, then [1] (member 2)
    assert kept == [[0, 2], [1]]
    assert [r.steps for r in results] == [40, 20, SETTINGS.max_steps, 20]


def _split_of(data: TrainingData, seed: int, drop_column: bool = False) -> TrainingData:
    """Another train/validation split of the same rows, as the search makes them."""
    x = np.concatenate([data.x_train, data.x_val])
    y = np.concatenate([data.y_train, data.y_val])
    order = np.random.default_rng(seed).permutation(len(y))
    cut = len(data.y_train)
    if drop_column:
        x = x[:, :-1]
    return dataclasses.replace(
        data, x_train=x[order[:cut]], y_train=y[order[:cut]],
        x_val=x[order[cut:]], y_val=y[order[cut:]],
    )


SPLIT_CASES = {
    **CASES,
    # weights and priors derived from each split's own training labels (its loss context)
    "binary-weighted": (_binary, [
        MemberSpec(loss=LossId.BCE_WEIGHTED, params={}, lr=3e-3, seed=0),
        MemberSpec(loss=LossId.LOGIT_ADJUSTED, params={"tau": 1.0}, lr=1e-2, seed=1),
    ]),
}


@pytest.mark.parametrize("case", sorted(SPLIT_CASES))
def test_splits_trained_together_score_as_each_split_alone(case: str) -> None:
    """Each split keeps its own rows, minibatch order, targets, loss context and stopping."""
    make, members = SPLIT_CASES[case]
    data = make()
    splits = [_split_of(data, seed) for seed in (1, 2, 3)]
    per_split = [
        [dataclasses.replace(m, seed=m.seed + 10 * s) for m in members] for s in range(3)
    ]
    settings = FitSettings(max_steps=120, batch_size=50, eval_every=10, patience=2)
    together = fit_splits(per_split, splits, settings=settings, data_seeds=[5, 6, 7])
    for split, group, seed, results in zip(splits, per_split, [5, 6, 7], together, strict=True):
        alone = fit_short(group, split, settings=settings, data_seed=seed)
        for one, other in zip(results, alone, strict=True):
            assert one.history == other.history
            np.testing.assert_array_equal(one.prediction, other.prediction)
    # the members stop at different steps, so the stack shrank along the way
    assert len({r.steps for results in together for r in results}) > 1


def test_splits_with_fewer_feature_columns_are_zero_padded() -> None:
    data = _regression()
    splits = [_split_of(data, 1), _split_of(data, 2, drop_column=True)]
    member = MemberSpec(loss=LossId.MSE, params={}, lr=1e-2, seed=0)
    (wide,), (narrow,) = fit_splits(
        [[member], [member]], splits, settings=SETTINGS, data_seeds=[0, 0]
    )
    assert math.isfinite(wide.score) and math.isfinite(narrow.score)
    assert narrow.prediction.shape == (len(splits[1].y_val),)


def test_fit_splits_wants_one_member_list_and_seed_per_split() -> None:
    data = _regression()
    with pytest.raises(ValueError, match="one list of members"):
        fit_splits([[MemberSpec(loss=LossId.MSE, params={})]], [data, data], data_seeds=[0])


ON_BEST_MEMBERS = [
    MemberSpec(loss=LossId.MSE, params={}, lr=1e-2, seed=0),
    MemberSpec(loss=LossId.QUANTILE, params={"q": 0.8}, lr=3e-3, seed=1),
    MemberSpec(loss=LossId.MAE, params={}, lr=1e30, seed=2),  # NaN at once: never improves
]
ON_BEST_SETTINGS = FitSettings(max_steps=60, batch_size=32, eval_every=10, patience=1)


def test_on_best_predicts_other_rows_at_each_improvement() -> None:
    data = _regression(n=160)
    calls: list[tuple[int, np.ndarray]] = []
    results = fit_short(
        ON_BEST_MEMBERS, data, settings=ON_BEST_SETTINGS, data_seed=3,
        on_best=lambda member, predict: calls.append((member, predict(data.x_val))),
    )
    for index, result in enumerate(results[:2]):
        mine = [prediction for member, prediction in calls if member == index]
        improvements = sum(
            1 for k, (_, score) in enumerate(result.history)
            if all(score < before for _, before in result.history[:k])
        )
        assert len(mine) == improvements >= 1
        # the last call was at the best step: the validation rows give the best prediction
        np.testing.assert_array_equal(mine[-1], result.prediction)
    assert math.isnan(results[2].score) and all(member != 2 for member, _ in calls)


def test_on_best_takes_flat_indices_and_pads_each_split_features() -> None:
    data = _regression(n=160)
    splits = [_split_of(data, 1), _split_of(data, 2, drop_column=True)]
    seen: dict[int, np.ndarray] = {}

    def on_best(member: int, predict) -> None:
        seen[member] = predict(splits[member // 2].x_val)

    together = fit_splits([ON_BEST_MEMBERS[:2]] * 2, splits, settings=ON_BEST_SETTINGS,
                          data_seeds=[0, 1], on_best=on_best)
    for split, results in enumerate(together):
        for index, result in enumerate(results):
            np.testing.assert_array_equal(seen[2 * split + index], result.prediction)
