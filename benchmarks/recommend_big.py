"""``recommend`` on a 10,000,000-row CSV: within its default budget, its peak memory, its stages.

Target (issue #16): ``lossadvisor recommend`` on a 10,000,000-row CSV finishes within its
default budget (60 s, the whole command as the user times it) with peak resident memory under
2 GB. The file (about 0.75 GB, so it is streamed: exact counts, a 200,000-row uniform sample,
a 50,000-row stratified search sample) is generated under ``benchmarks/results/`` and deleted
afterwards unless ``--keep``.

The command runs in a subprocess that does what the ``lossadvisor`` script does
(``advisor.cli._entry``: the budget counts from the process's start), with the pipeline's
stage functions wrapped to record when each began and ended, so the time of each stage is
printed next to the total. Its peak resident set size is
``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss``, its time the wall clock around it.

Run: ``OMP_NUM_THREADS=1 python benchmarks/recommend_big.py [--rows 10000000] [--keep]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

from profile_big import RESULTS, write_csv

DEFAULT_BUDGET_S = 60.0  # recommend's --budget default; it bounds the whole command
STAGES = "STAGES "

# the console script's own steps, with the stage functions wrapped (they are looked up by name
# where they are called, so wrapping the names there times every call)
_CHILD = r"""
import json, sys, time
from advisor._clock import process_started

started = process_started()
marks, spans = {}, []
import advisor.cli as cli
marks["cli imported"] = time.monotonic() - started
import advisor._recommend as rec
import advisor.search._confirm as conf
import advisor.search._prepare as prep
import advisor.search._work as work
marks["torch, optuna, sklearn imported"] = time.monotonic() - started

def timed(owner, name, label):
    original = getattr(owner, name, None)
    if original is None:
        return
    def wrapper(*args, **kwargs):
        begun = time.monotonic() - started
        try:
            return original(*args, **kwargs)
        finally:
            spans.append((label, begun, time.monotonic() - started))
    setattr(owner, name, wrapper)

for owner, name, label in (
    (prep, "data_digest", "content hash"), (prep, "read_table", "read (stream)"),
    (prep, "profile_for_metric", "profile"), (prep, "shortlist", "shortlist"),
    (rec, "confirm", "search"), (conf, "make_splits", "search: splits"),
    (conf, "open_study", "search: open study"), (work.Work, "_explore", "search: explore"),
    (work.Work, "_confirm", "search: race"), (work, "fit_splits", "search: race fits"),
    (conf, "decide", "search: decide"),
    (rec, "recommendation_from", "recommendation"),
):
    timed(owner, name, label)
run = cli.main

def main(*args, **kwargs):
    code = run(*args, **kwargs)
    marks["command returned"] = time.monotonic() - started
    sys.stderr.write("\n" + STAGES + json.dumps({"marks": marks, "spans": spans}) + "\n")
    return code

cli.main = main
sys.argv[0] = "lossadvisor"
cli._entry()  # as the console script: main, then the quick exit
""".replace("STAGES", repr(STAGES))


def stage_lines(stages: dict, wall: float) -> list[str]:
    """Each stage's seconds (summed over its calls) and when it ended, from the child's record."""
    totals: dict[str, list[float]] = {}
    for label, begun, ended in stages["spans"]:
        seen = totals.setdefault(label, [0.0, 0.0, 0])
        seen[0] += ended - begun
        seen[1] = max(seen[1], ended)
        seen[2] += 1
    lines = [f"  {label}: ended at {at:.1f} s" for label, at in stages["marks"].items()]
    lines += [
        f"  {label}: {seconds:.1f} s ({calls} call{'s' if calls > 1 else ''}), ended at {at:.1f} s"
        for label, (seconds, at, calls) in sorted(totals.items(), key=lambda kv: kv[1][1])
    ]
    left = wall - stages["marks"]["command returned"]
    lines.append(f"  after the command (interpreter exit): {left:.1f} s")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--columns", type=int, default=10)
    parser.add_argument("--keep", action="store_true", help="keep the generated CSV")
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"recommend_big_{args.rows}.csv"
    try:
        if not path.exists():
            start = time.perf_counter()
            rows = write_csv(path, max_rows=args.rows, columns=args.columns)
            print(f"wrote {path.name}: {rows:,} rows, {time.perf_counter() - start:.0f} s")
        load_before = os.getloadavg()
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", _CHILD, "recommend", str(path), "--json"],
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - start
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        if done.returncode != 0:
            print(done.stderr[-3000:])
            raise SystemExit(f"recommend failed with exit {done.returncode}")
        result = json.loads(done.stdout)
        stages = json.loads(done.stderr.split(STAGES)[-1])
        search, profile = result["search"], result["profile"]
        budget = DEFAULT_BUDGET_S
        print(f"file: {path.stat().st_size / 1e9:.2f} GB, {profile['n_rows']:,} rows")
        print(f"profile: {profile['task']}, sample {profile['evidence']['stream']}")
        print(f"recommended: {result['recommendation']['loss']}, trials {search['trials']}")
        print(
            f"time: recommend {wall:.1f} s end to end = {wall / budget:.2f}x of the default "
            f"budget {budget:.0f} s (the search was given the {search['budget_s']:.1f} s that "
            f"reading and profiling left and took {search['elapsed_s']:.1f} s)"
        )
        print("stages (seconds from the process's start):", *stage_lines(stages, wall), sep="\n")
        print(f"peak resident memory: {peak_mb:.0f} MB (target < 2048 MB)")
        notes = [line for line in done.stderr.splitlines() if "sample" in line]
        print("warnings about samples:", *notes, sep="\n  ")
        print(f"load average: before {load_before}, after {os.getloadavg()}")
    finally:
        if not args.keep:
            path.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
