"""Two workers against one on the same study and budget: trials finished per second (issue #16).

Run: ``.venv/bin/python benchmarks/workers.py [--rows 4000] [--trials 48] [--cores 0,1]``.

The same request twice, each on a fresh SQLite study: ``recommend`` alone (one process), then
``recommend`` with one ``lossadvisor worker`` beside it (two processes), every process on one
thread (``OMP_NUM_THREADS=1``), pinned to the same two cores when ``--cores`` is given (Linux
``taskset``). Throughput counts every trial of the study that training finished (exploration
trials and confirmation runs: complete, pruned, or diverged; not a queued copy failed as a
duplicate) over the span from the first trial's start to the last one's end, read from the
storage, so interpreter start-up is not part of it. Prints both rates and their ratio
(target >= 1.7 on 2 cores).

Below each rate, every process's time sheet (``search/_clock.py``, stored in the study): when
its first trial started after the study's first one (``joined``), its share of its own span
spent training (``busy``), and its seconds per phase training, on storage (reading, replaying,
queueing, claiming) and waiting (nothing to take). These explain the ratio: two processes are
twice as fast only if both join at once and train all the time.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import optuna
import pandas as pd

from advisor.search._clock import ACTIVITIES, CLOCK_PREFIX, Clock


def _table(rows: int, path: str) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(rows, 10))
    y = x[:, 0] * 3 + np.abs(x[:, 1]) * 2 + rng.standard_t(3, size=rows)
    pd.DataFrame(x, columns=[f"x{i}" for i in range(10)]).assign(target=y).to_csv(path, index=False)


def _command(args: list[str], cores: str | None) -> list[str]:
    prefix = ["taskset", "-c", cores] if cores and shutil.which("taskset") else []
    return [*prefix, sys.executable, "-m", "advisor", *args]


def _trained(trial: optuna.trial.FrozenTrial) -> bool:
    state = optuna.trial.TrialState
    if trial.state in (state.COMPLETE, state.PRUNED):
        return True
    return trial.state == state.FAIL and trial.user_attrs.get("outcome") == "diverged"


def _rate(url: str) -> tuple[int, float, dict, list[str]]:
    study = optuna.load_study(study_name="bench", storage=url)
    done = [t for t in study.trials if _trained(t) and t.datetime_complete]
    start = min(t.datetime_start for t in done)
    end = max(t.datetime_complete for t in done)
    by_process: dict = {}
    first: dict = {}
    for trial in done:
        pid = trial.system_attrs.get("lossadvisor:owner", {}).get("pid")
        by_process[pid] = by_process.get(pid, 0) + 1
        first[pid] = min(first.get(pid, trial.datetime_start), trial.datetime_start)
    sheets = []
    for key, stored in sorted(study.user_attrs.items()):
        if not key.startswith(CLOCK_PREFIX):
            continue
        pid = int(key.rsplit(":", 1)[1])
        sheet = Clock.summary(stored)
        joined = (first[pid] - start).total_seconds() if pid in first else float("nan")
        phases = "; ".join(
            f"{phase} "
            + ", ".join(
                f"{activity} {sheet.get(f'{phase}/{activity}', 0.0):.1f} s"
                for activity in ACTIVITIES
            )
            for phase in ("explore", "confirm")
        )
        sheets.append(
            f"  pid {pid}: {by_process.get(pid, 0)} trials, joined +{joined:.1f} s, "
            f"span {sheet['span']:.1f} s, busy {sheet['busy']:.0%} ({phases})"
        )
    return len(done), (end - start).total_seconds(), by_process, sheets


def _run(data: str, folder: str, *, workers: int, trials: int, budget: float, cores) -> tuple:
    url = f"sqlite:///{os.path.join(folder, f'bench{workers}.db')}"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    lead = subprocess.Popen(
        _command(
            [
                "recommend",
                data,
                "--storage",
                url,
                "--study-name",
                "bench",
                "--trials",
                str(trials),
                "--budget",
                str(budget),
                "--quiet",
            ],
            cores,
        ),
        env=env,
        stdout=subprocess.DEVNULL,
    )
    helpers = []
    if workers > 1:  # started with recommend: a worker waits for the study to appear
        helpers = [
            subprocess.Popen(
                _command(
                    ["worker", "--storage", url, "--study-name", "bench", "--budget", str(budget)],
                    cores,
                ),
                env=env,
                stdout=subprocess.DEVNULL,
            )
            for _ in range(workers - 1)
        ]
    if lead.wait() != 0:
        raise SystemExit("recommend failed")
    for helper in helpers:
        helper.wait()
    return _rate(url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=4000)
    parser.add_argument("--trials", type=int, default=48)
    parser.add_argument("--budget", type=float, default=600.0)
    parser.add_argument("--cores", default="0,1", help="CPU list for taskset ('' for none)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        data = os.path.join(folder, "bench.csv")
        _table(args.rows, data)
        rates = {}
        for workers in (1, 2):
            count, seconds, by_process, sheets = _run(
                data,
                folder,
                workers=workers,
                trials=args.trials,
                budget=args.budget,
                cores=args.cores or None,
            )
            rates[workers] = count / seconds
            print(
                f"{workers} process(es): {count} trials in {seconds:.1f} s "
                f"= {rates[workers]:.2f} trials/s (per process: {sorted(by_process.values())})"
            )
            print("\n".join(sheets))
    print(f"two workers / one: {rates[2] / rates[1]:.2f}x (target >= 1.7 on 2 cores)")


if __name__ == "__main__":
    main()
