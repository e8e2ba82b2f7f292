"""Profiling stage: CSV or DataFrame -> ``DataProfile`` (target, task, encoding, balance, tails).

``profile`` reads and profiles; ``profile_frame`` profiles a DataFrame; ``read_table`` only
reads; ``split_xy`` turns a table and its profile into the canonical training arrays.
"""

from ._imbalance import effective_number, imbalance_level
from ._profile import profile, profile_frame
from ._read import read_table
from ._split import split_xy
from ._target import TARGET_NAMES
from ._task import infer_task

__all__ = [
    "TARGET_NAMES",
    "effective_number",
    "imbalance_level",
    "infer_task",
    "profile",
    "profile_frame",
    "read_table",
    "split_xy",
]
