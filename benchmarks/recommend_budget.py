"""``recommend`` end to end on a 10,000-row, 20-feature table with the default budget (issue #5).

Run: ``.venv/bin/python benchmarks/recommend_budget.py``. Prints the wall time of the whole
command (read, profile, rules, search, report) as a ratio to its budget (target <= 1.0).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import pandas as pd


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--budget", type=float, default=60.0)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(10_000, 20))
    y = x[:, 0] * 3 + np.abs(x[:, 1]) * 2 + rng.standard_t(3, size=10_000)
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(20)]).assign(target=y)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "bench.csv")
        frame.to_csv(path, index=False)
        started = time.perf_counter()
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "advisor",
                "recommend",
                path,
                "--budget",
                str(args.budget),
                "--json",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        elapsed = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"recommend failed: {result.stderr.strip()}")
    import json

    advice = json.loads(result.stdout)
    search = advice["search"]
    print(f"10,000 rows x 20 features, budget {args.budget:g} s, {os.cpu_count()} cores")
    print(
        f"recommendation: {advice['recommendation']['loss']} "
        f"(confidence {advice['recommendation']['confidence']})"
    )
    print(f"search: {search['trials']} trials, search elapsed {search['elapsed_s']} s")
    print(
        f"end-to-end wall time: {elapsed:.1f} s = {elapsed / args.budget:.2f} x budget "
        "(target <= 1.00)"
    )


if __name__ == "__main__":
    main()
