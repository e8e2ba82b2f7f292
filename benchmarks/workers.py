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

Under the time sheet, every process's storage traffic, counted in the benchmark only (each
process is started through this script's ``--as-process``, which hooks Optuna's cached storage
and SQLAlchemy's engine events before handing over to the CLI; the product runs unhooked):
storage calls, SQL statements and committed transactions, per trial the process trained, and
the calls it made most. Unlike seconds, these counts do not move with the machine's load.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np
import optuna
import pandas as pd

from advisor.search._clock import ACTIVITIES, CLOCK_PREFIX, Clock


def _table(rows: int, path: str) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(rows, 10))
    y = x[:, 0] * 3 + np.abs(x[:, 1]) * 2 + rng.standard_t(3, size=rows)
    pd.DataFrame(x, columns=[f"x{i}" for i in range(10)]).assign(target=y).to_csv(path, index=False)


COUNTS_ENV = "LOSSADVISOR_BENCH_COUNTS"  # folder where each counted process leaves its counts


def _command(args: list[str], cores: str | None) -> list[str]:
    prefix = ["taskset", "-c", cores] if cores and shutil.which("taskset") else []
    return [*prefix, sys.executable, os.path.abspath(__file__), "--as-process", *args]


class _Counts:
    """Storage calls (outermost only), SQL statements and commits, main thread and others."""

    def __init__(self) -> None:
        self.calls: collections.Counter = collections.Counter()
        self.call_s: collections.Counter = collections.Counter()
        self.sql: collections.Counter = collections.Counter()
        self.local = threading.local()
        # with LOSSADVISOR_BENCH_CALLERS=1, each call is keyed by the advisor code that made it
        self.callers = bool(os.environ.get("LOSSADVISOR_BENCH_CALLERS"))

    def where(self) -> str:
        return "main" if threading.current_thread() is threading.main_thread() else "other"

    def hook(self) -> None:
        from optuna.storages import BaseStorage, RDBStorage, _CachedStorage
        from sqlalchemy import event
        from sqlalchemy.engine import Engine

        names = {n for n in vars(BaseStorage) if not n.startswith("_")} | {
            n for n in vars(_CachedStorage) if not n.startswith("__")
        }
        names -= {"get_heartbeat_interval", "get_heartbeat_stale_trial_callback"}  # no I/O
        for name in names:
            original = getattr(_CachedStorage, name, None)
            if callable(original):
                setattr(_CachedStorage, name, self._wrap(name, original))
        build = RDBStorage._build_frozen_trial_from_trial_model  # one trial read from its rows

        def built(*args, **kwargs):
            self.sql[f"{self.where()}/trials read"] += 1
            if self.callers:
                self.sql[f"{self.where()}/trials read <- {_caller()}"] += 1
            return build(*args, **kwargs)

        RDBStorage._build_frozen_trial_from_trial_model = built

        def on_execute(conn, cursor, statement, parameters, context, executemany) -> None:
            words = statement.split()
            verb = " ".join(words[:2] if words[:1] == ["BEGIN"] else words[:1]).upper() or "?"
            self.sql[f"{self.where()}/sql/{verb}"] += 1
            self.local.begun = time.perf_counter()

        def after_execute(conn, cursor, statement, parameters, context, executemany) -> None:
            if statement.startswith("BEGIN IMMEDIATE"):  # the wait for SQLite's write lock
                self.call_s[f"{self.where()}/lock wait"] += time.perf_counter() - self.local.begun

        def on_commit(conn) -> None:
            self.sql[f"{self.where()}/commit"] += 1

        event.listen(Engine, "before_cursor_execute", on_execute)
        event.listen(Engine, "after_cursor_execute", after_execute)
        event.listen(Engine, "commit", on_commit)

    def _wrap(self, name: str, original):
        counts = self

        def counted(*args, **kwargs):
            depth = getattr(counts.local, "depth", 0)
            counts.local.depth = depth + 1
            begun = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                counts.local.depth = depth
                if depth == 0:
                    key = f"{counts.where()}/{name}"
                    if counts.callers:
                        key += f" <- {_caller()}"
                    counts.calls[key] += 1
                    counts.call_s[key] += time.perf_counter() - begun

        return counted

    def dump(self, folder: str) -> None:
        data = {"calls": self.calls, "call_s": self.call_s, "sql": self.sql}
        with open(os.path.join(folder, f"{os.getpid()}.json"), "w") as handle:
            json.dump(data, handle)


def _caller() -> str:
    """The innermost advisor frame (file:function:line) on the stack, for the caller's key."""
    frame = sys._getframe(2)
    while frame is not None:
        path = frame.f_code.co_filename
        if f"{os.sep}advisor{os.sep}" in path and not path.endswith("_storage.py"):
            return f"{os.path.basename(path)}:{frame.f_code.co_name}:{frame.f_lineno}"
        frame = frame.f_back
    return "?"


def _as_process(args: list[str]) -> None:
    """Run the CLI with ``args`` in this process, counting its storage traffic (benchmark only)."""
    counts = _Counts()
    counts.hook()
    from advisor._clock import process_started
    from advisor.cli import main

    sys.argv = ["lossadvisor", *args]
    code = main(args, started=process_started())
    folder = os.environ.get(COUNTS_ENV)
    if folder:
        counts.dump(folder)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _traffic(folder: str, pid: int, trained: int) -> str:
    """One process's counted storage traffic, in all and per trial it trained."""
    try:
        with open(os.path.join(folder, f"{pid}.json")) as handle:
            data = json.load(handle)
    except OSError:
        return f"    (no counts for pid {pid})"
    per = max(1, trained)
    main_calls = {k[5:]: v for k, v in data["calls"].items() if k.startswith("main/")}
    seconds = {k[5:]: v for k, v in data["call_s"].items() if k.startswith("main/")}
    waited = seconds.pop("lock wait", 0.0)
    sql = data["sql"]
    statements = sum(v for k, v in sql.items() if k.startswith("main/sql/"))
    other = sum(v for k, v in sql.items() if k.startswith("other/sql/"))
    commits = sql.get("main/commit", 0)
    locked = sql.get("main/sql/BEGIN IMMEDIATE", 0)
    rebuilt = sql.get("main/trials read", 0)
    top = sorted(main_calls, key=lambda k: -main_calls[k])[:8]
    return (
        f"    storage (main thread): {sum(main_calls.values())} calls "
        f"({sum(main_calls.values()) / per:.1f}/trial, {sum(seconds.values()):.2f} s), "
        f"{statements} SQL statements ({statements / per:.1f}/trial) reading "
        f"{rebuilt} trials ({rebuilt / per:.1f}/trial), "
        f"{commits} transactions ({commits / per:.1f}/trial, {locked / per:.1f} of them "
        f"taking the write lock, waited for {waited:.2f} s in all); "
        f"beat thread {other} statements\n"
        "    most: " + ", ".join(f"{k} {main_calls[k]} ({seconds.get(k, 0.0):.2f} s)" for k in top)
    )


def _trained(trial: optuna.trial.FrozenTrial) -> bool:
    state = optuna.trial.TrialState
    if trial.state in (state.COMPLETE, state.PRUNED):
        return True
    return trial.state == state.FAIL and trial.user_attrs.get("outcome") == "diverged"


def _rate(url: str, counts: str) -> tuple[int, float, dict, list[str]]:
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
        sheets.append(_traffic(counts, pid, by_process.get(pid, 0)))
    return len(done), (end - start).total_seconds(), by_process, sheets, _phases(done)


def _phases(done: list[optuna.trial.FrozenTrial]) -> dict[str, tuple[int, float]]:
    """Per phase, its trials and their span (first start to last end). Two processes' races may
    take other rounds than one process's (their exploration sampled other trials), so the
    whole study's rate compares unlike mixes; the exploration phase has the same trial count
    in both and compares like with like."""
    out = {}
    for phase in ("explore", "confirm"):
        trials = [t for t in done if t.user_attrs.get("phase") == phase]
        if trials:
            span = max(t.datetime_complete for t in trials) - min(t.datetime_start for t in trials)
            out[phase] = (len(trials), span.total_seconds())
    return out


def _run(data: str, folder: str, *, workers: int, trials: int, budget: float, cores) -> tuple:
    url = f"sqlite:///{os.path.join(folder, f'bench{workers}.db')}"
    counts = os.path.join(folder, f"counts{workers}")
    os.makedirs(counts, exist_ok=True)
    env = {**os.environ, "OMP_NUM_THREADS": "1", COUNTS_ENV: counts}
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
        if helper.wait() != 0:  # a worker that never joined would leave one process's rate
            raise SystemExit("lossadvisor worker failed")
    return _rate(url, counts)


def main() -> None:
    if sys.argv[1:2] == ["--as-process"]:
        _as_process(sys.argv[2:])
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=4000)
    parser.add_argument("--trials", type=int, default=48)
    parser.add_argument("--budget", type=float, default=600.0)
    parser.add_argument("--cores", default="0,1", help="CPU list for taskset ('' for none)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        data = os.path.join(folder, "bench.csv")
        _table(args.rows, data)
        rates, phases = {}, {}
        for workers in (1, 2):
            count, seconds, by_process, sheets, phases[workers] = _run(
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
            print(
                "  by phase: "
                + "; ".join(
                    f"{phase} {n} trials in {span:.1f} s = {n / span:.2f}/s"
                    for phase, (n, span) in phases[workers].items()
                )
            )
            print("\n".join(sheets))
    print(f"two workers / one: {rates[2] / rates[1]:.2f}x (target >= 1.7 on 2 cores)")
    if "explore" in phases[1] and "explore" in phases[2]:
        (n1, s1), (n2, s2) = phases[1]["explore"], phases[2]["explore"]
        print(f"exploration alone ({n1} and {n2} trials): {(n2 / s2) / (n1 / s1):.2f}x")


if __name__ == "__main__":
    main()
