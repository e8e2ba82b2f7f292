"""Canonical targets that every loss of a task accepts, shared by the loss tests."""

from __future__ import annotations

import numpy as np

from advisor.records import LossId, Task


def canonical_target(
    task: Task, loss_id: LossId, rows: int, rng: np.random.Generator, *, shuffle: bool = False
) -> np.ndarray:
    """A canonical target of ``task`` for ``loss_id``; classes cycle, in random order if asked."""
    if task is Task.REGRESSION_COUNT:
        return rng.poisson(3.0, rows).astype(np.float64)
    if task.is_regression:
        return rng.lognormal(1.0, 0.7, rows)
    if task is Task.MULTILABEL:
        return (rng.random((rows, 3)) < [0.5, 0.2, 0.1]).astype(np.float64)
    if loss_id is LossId.SOFT_CE:
        return rng.dirichlet([1.0, 1.0, 1.0], rows)
    n_classes = {Task.BINARY: 2, Task.MULTICLASS: 3, Task.ORDINAL: 4}[task]
    classes = np.arange(rows) % n_classes
    return rng.permutation(classes) if shuffle else classes
