"""Profiling speed and memory against reading the same CSV with pyarrow alone.

Targets (issue #3): ``profile(path)`` within 1.5x the time of ``pandas.read_csv(engine="pyarrow")``
on 1,000,000 rows x 20 numeric columns, peak extra memory of profiling within 2x the loaded
DataFrame, and 10,000 rows x 1,000 columns profiled in under 10 s.

Run: ``python benchmarks/profile_speed.py`` (writes temporary CSVs, prints the figures).
"""

from __future__ import annotations

import os
import tempfile
import time
import tracemalloc
import warnings

import numpy as np
import pandas as pd

from advisor.errors import AdvisorWarning
from advisor.profiling import profile, profile_frame


def _write(path: str, rows: int, columns: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, columns - 1)).astype(np.float32)
    y = x[:, :5].sum(axis=1) + rng.normal(scale=0.5, size=rows).astype(np.float32)
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(columns - 1)])
    frame["target"] = y
    # pyarrow writes CSV far faster than DataFrame.to_csv
    import pyarrow as pa
    import pyarrow.csv as pacsv

    pacsv.write_csv(pa.Table.from_pandas(frame, preserve_index=False), path)


def _best(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    warnings.simplefilter("ignore", AdvisorWarning)
    with tempfile.TemporaryDirectory() as tmp:
        big = os.path.join(tmp, "big.csv")
        _write(big, 1_000_000, 20)
        size_mb = os.path.getsize(big) / 1e6
        # interleaved, best of 5 each: a shared machine's noise hits both alike
        read_times, profile_times = [], []
        for _ in range(5):
            read_times.append(_best(lambda: pd.read_csv(big, engine="pyarrow"), repeat=1))
            profile_times.append(_best(lambda: profile(big), repeat=1))
        read_s, profile_s = min(read_times), min(profile_times)
        frame = pd.read_csv(big, engine="pyarrow")
        frame_bytes = int(frame.memory_usage(deep=True).sum())
        tracemalloc.start()
        profile_frame(frame)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(f"1,000,000 rows x 20 numeric columns ({size_mb:.0f} MB CSV, {os.cpu_count()} CPUs)")
        print(f"  read_csv(engine='pyarrow')   {read_s:7.3f} s")
        print(f"  profile(path) end to end     {profile_s:7.3f} s")
        print(f"  time ratio                   {profile_s / read_s:7.2f} x   (target <= 1.5)")
        print(f"  DataFrame memory             {frame_bytes / 1e6:7.1f} MB")
        print(f"  profiling peak (tracemalloc) {peak / 1e6:7.1f} MB")
        print(f"  memory ratio                 {peak / frame_bytes:7.2f} x   (target <= 2)")
        del frame

        wide = os.path.join(tmp, "wide.csv")
        _write(wide, 10_000, 1_000, seed=1)
        wide_s = _best(lambda: profile(wide), repeat=1)
        print("10,000 rows x 1,000 columns")
        print(f"  profile(path) end to end     {wide_s:7.3f} s   (target < 10)")


if __name__ == "__main__":
    main()
