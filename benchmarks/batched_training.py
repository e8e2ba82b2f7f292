"""Batched vs one-after-another training of the same K trials, identical steps (issue #5).

Run: ``.venv/bin/python benchmarks/batched_training.py``. Prints both wall times and their
ratio, measured in one run on this machine; also checks both gave the same scores.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import torch

from advisor.records import LossId, MetricId, Task
from advisor.training import FitSettings, MemberSpec, TrainingData, fit_short

LOSSES = [LossId.MSE, LossId.HUBER, LossId.MAE, LossId.LOG_COSH]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--k", type=int, default=8)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--steps", type=int, default=600)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(args.rows, args.features)).astype(np.float32)
    y = x[:, 0] * 2 + np.sin(x[:, 1] * 3) + rng.normal(size=args.rows) * 0.3
    cut = int(args.rows * 0.8)
    data = TrainingData(
        x_train=x[:cut],
        y_train=y[:cut],
        x_val=x[cut:],
        y_val=y[cut:],
        task=Task.REGRESSION,
        n_classes=0,
        metric=MetricId.RMSE,
    )
    # patience larger than the run: both modes do exactly the same number of steps
    settings = FitSettings(max_steps=args.steps, batch_size=256, eval_every=50, patience=10**6)
    members = [
        MemberSpec(loss=LOSSES[i % len(LOSSES)], params={}, lr=3e-3 * (1 + i % 3), seed=i)
        for i in range(args.k)
    ]
    fit_short(members[:1], data, settings=FitSettings(max_steps=20))  # warm-up
    started = time.perf_counter()
    batched = fit_short(members, data, settings=settings)
    batched_s = time.perf_counter() - started
    started = time.perf_counter()
    sequential = [fit_short([m], data, settings=settings)[0] for m in members]
    sequential_s = time.perf_counter() - started
    gap = max(abs(a.score - b.score) for a, b in zip(batched, sequential, strict=True))
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads"
    )
    print(f"K={args.k} trials x {args.steps} steps, {args.rows} rows x {args.features} features")
    print(
        f"sequential: {sequential_s:.2f} s   batched: {batched_s:.2f} s   "
        f"speed-up: {sequential_s / batched_s:.2f}x   (target >= 3x)"
    )
    print(f"largest score difference batched vs sequential: {gap:.2e}")


if __name__ == "__main__":
    main()
