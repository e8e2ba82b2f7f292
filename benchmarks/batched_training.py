"""Batched vs one-after-another training of the same K trials, identical steps (issue #5).

Run: ``.venv/bin/python benchmarks/batched_training.py``. Prints both wall times and their
ratio, measured in one run on this machine; also checks both gave the same scores.

Each mode runs ``--rounds`` times, interleaved (the order alternates from round to round) and
the table shows each mode's median: on a shared 2-core machine one run of either mode varies by
10-20% from minute to minute, so a single pair of runs can swing the ratio by more than the
effect being measured. Both modes get exactly the same treatment.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np
import torch

from advisor.records import LossId, MetricId, Task
from advisor.search import fit_settings_for
from advisor.training import FitSettings, MemberSpec, TrainingData, fit_short

LOSSES = [LossId.MSE, LossId.HUBER, LossId.MAE, LossId.LOG_COSH]


def measure(
    rows: int, *, k: int, features: int, steps: int, batch: int | None, rounds: int
) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(rows, features)).astype(np.float32)
    y = x[:, 0] * 2 + np.sin(x[:, 1] * 3) + rng.normal(size=rows) * 0.3
    cut = int(rows * 0.8)
    data = TrainingData(
        x_train=x[:cut],
        y_train=y[:cut],
        x_val=x[cut:],
        y_val=y[cut:],
        task=Task.REGRESSION,
        n_classes=0,
        metric=MetricId.RMSE,
    )
    # the batch size the search itself uses for this many rows; patience larger than the
    # run, so both modes do exactly the same number of steps
    batch = fit_settings_for(cut).batch_size if batch is None else batch
    settings = FitSettings(max_steps=steps, batch_size=batch, eval_every=50, patience=10**6)
    members = [
        MemberSpec(loss=LOSSES[i % len(LOSSES)], params={}, lr=3e-3 * (1 + i % 3), seed=i)
        for i in range(k)
    ]
    fit_short(members[:1], data, settings=FitSettings(max_steps=20))  # warm-up
    times: dict[str, list[float]] = {"batched": [], "sequential": []}
    for round_ in range(rounds):
        modes = ["batched", "sequential"] if round_ % 2 == 0 else ["sequential", "batched"]
        for mode in modes:
            started = time.perf_counter()
            if mode == "batched":
                batched = fit_short(members, data, settings=settings)
            else:
                sequential = [fit_short([m], data, settings=settings)[0] for m in members]
            times[mode].append(time.perf_counter() - started)
    batched_s, sequential_s = (statistics.median(times[m]) for m in ("batched", "sequential"))
    gap = max(abs(a.score - b.score) for a, b in zip(batched, sequential, strict=True))
    print(
        f"| {rows} x {features} | {batch} | {sequential_s:.2f} s | {batched_s:.2f} s | "
        f"**{sequential_s / batched_s:.2f}x** | {gap:.1e} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--k", type=int, default=8)
    parser.add_argument("--rows", type=int, nargs="+", default=[1000, 3000, 10_000])
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--batch", type=int, help="default: what the search uses for the rows")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each mode; median shown")
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error(f"--rounds must be at least 1, got {args.rounds}")
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"torch {torch.__version__}; K={args.k} trials x {args.steps} identical steps; "
        f"median of {args.rounds} interleaved runs each; target: batched >= 3x faster\n"
    )
    print(
        "| rows x features | batch | one after another | batched | speed-up | "
        "largest score difference |"
    )
    print("|---|---|---|---|---|---|")
    for rows in args.rows:
        measure(
            rows,
            k=args.k,
            features=args.features,
            steps=args.steps,
            batch=args.batch,
            rounds=args.rounds,
        )


if __name__ == "__main__":
    main()
