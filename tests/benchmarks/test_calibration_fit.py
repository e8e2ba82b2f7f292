"""fit_priors.py: the weight fit on the stored reference runs (no training; seconds)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from calibration_scripts import load as _load


@pytest.fixture(scope="module")
def fp():
    return _load("fit_priors")


@pytest.fixture(scope="module")
def corpus(fp):
    tables = fp.load_tables(fp.DEFAULT_REFERENCE)
    if len(tables) < 40:
        pytest.skip("the reference runs are not in this checkout")
    return tables


def _naive_fit(fp, space, rows):
    """The coordinate descent re-scoring every table at each try (the definition)."""
    weights = space.hand.copy()
    active = [(r, c) for r, c in space.free if space.fired[rows, r].sum() >= space.min_tables]
    best = fp.objective(space, weights, rows)
    for _ in range(3):
        improved = False
        for r, c in active:
            start = weights[r, c]
            kept = space.includes[r] and (r, c) not in space.new
            for value in fp.GRID:
                if value == start or (kept and value == 0.0):
                    continue
                weights[r, c] = value
                score = fp.objective(space, weights, rows)
                if score < best - 1e-12:
                    best, start, improved = score, value, True
            weights[r, c] = start
        if not improved:
            break
    return weights


def test_incremental_fit_equals_rescoring_every_table(fp, corpus):
    space = fp.build_space(corpus)
    space.min_tables = 8
    rows = np.arange(0, len(corpus), 2)  # half the corpus keeps the naive fit quick
    fitted = fp.fit(space, rows)
    np.testing.assert_array_equal(fitted, _naive_fit(fp, space, rows))
    assert fp.objective(space, fitted, rows) <= fp.objective(space, space.hand, rows)


def test_a_weight_moves_only_where_its_rule_fired_on_enough_tables(fp, corpus):
    space = fp.build_space(corpus)
    rows = np.arange(len(corpus))
    space.min_tables = 20
    moved = np.argwhere(fp.fit(space, rows) != space.hand)
    assert len(moved)  # the corpus does pay for some change
    assert all(space.fired[:, r].sum() >= 20 for r, _ in moved)
    space.min_tables = len(corpus) + 1
    np.testing.assert_array_equal(fp.fit(space, rows), space.hand)


def test_folds_keep_a_table_and_its_contaminated_copy_together(fp, corpus):
    for seed in (0, 1):
        parts = fp.folds(corpus, 5, seed)
        assert sorted(np.concatenate(parts).tolist()) == list(range(len(corpus)))
        fold_of = {int(t): f for f, part in enumerate(parts) for t in part}
        for t, table in enumerate(corpus):
            if table.name.endswith("_contaminated"):
                clean = next(i for i, o in enumerate(corpus) if o.name == table.group)
                assert fold_of[t] == fold_of[clean]


def test_bagged_weights_are_quarter_units_and_keep_hand_includes(fp, corpus):
    space = fp.build_space(corpus)
    rows = np.arange(len(corpus))
    assert np.array_equal(fp.fit_bagged(space, corpus, rows, bags=1), fp.fit(space, rows))
    bagged = fp.fit_bagged(space, corpus, rows, bags=3, seed=0)
    np.testing.assert_array_equal(bagged * 4, np.round(bagged * 4))
    for r, c in zip(*np.nonzero(space.hand), strict=True):
        if space.includes[r]:
            assert bagged[r, c] > 0  # a loss the hand rules include stays included


def test_zero_inflated_tables_are_built_as_the_task_their_zeros_allow():
    build = _load("build_corpus")
    counts = pd.Series([0, 0, 0, 12, 40, 250])
    amounts = pd.Series([0.0, 0.0, 15.5, 3210.25])
    assert build.zero_inflated_task(counts, "regression_positive") == "regression_count"
    assert build.zero_inflated_task(amounts, "regression_positive") == "regression"
    assert build.zero_inflated_task(amounts + 1, "regression_positive") == "regression_positive"
    assert build.zero_inflated_task(amounts, "regression") == "regression"
