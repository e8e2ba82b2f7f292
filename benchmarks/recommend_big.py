"""``recommend`` on a 10,000,000-row CSV: within its default budget, and its peak memory.

Target (issue #16): ``lossadvisor recommend`` on a 10,000,000-row CSV finishes within its
default budget (60 s) with peak resident memory under 2 GB. The file (about 1 GB, so it is
streamed: exact counts, a 200,000-row uniform sample, a 50,000-row stratified search sample)
is generated under ``benchmarks/results/`` and deleted afterwards unless ``--keep``.

The command runs in a subprocess; its peak resident set size is
``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss``, its time the wall clock around it. The
search's own elapsed time and budget are read from the JSON it prints.

Run: ``OMP_NUM_THREADS=1 python benchmarks/recommend_big.py [--rows 10000000]``.
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

DEFAULT_BUDGET_S = 60.0  # recommend's --budget default; it bounds the whole job


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
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "advisor", "recommend", str(path), "--json"],
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - start
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        if done.returncode != 0:
            print(done.stderr[-3000:])
            raise SystemExit(f"recommend failed with exit {done.returncode}")
        result = json.loads(done.stdout)
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
        print(f"peak resident memory: {peak_mb:.0f} MB (target < 2048 MB)")
        notes = [line for line in done.stderr.splitlines() if "sample" in line]
        print("warnings about samples:", *notes, sep="\n  ")
        print(f"load average: {os.getloadavg()}")
    finally:
        if not args.keep:
            path.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
