"""Print the test corpus side by side: expected, lossadvisor, scikit-learn's ``type_of_target``.

Run: ``python benchmarks/type_of_target_table.py`` (Markdown table on stdout).
"""

from __future__ import annotations

import sys
import tempfile
import warnings
from pathlib import Path

from sklearn.utils.multiclass import type_of_target

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "profiling"))

from profiling_corpus import CASES, build  # noqa: E402

from advisor.errors import AdvisorWarning  # noqa: E402
from advisor.profiling import profile, read_table  # noqa: E402


def main() -> None:
    warnings.simplefilter("ignore", AdvisorWarning)
    print("| case | expected | lossadvisor | type_of_target |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for case in CASES:
            frame = read_table(build(case, tmp))
            result = profile(frame, target=case.target)
            y = frame[list(result.target)].dropna()
            values = y.to_numpy() if len(result.target) > 1 else y.iloc[:, 0].to_numpy()
            if values.dtype.kind not in "biuf" and values.ndim == 1:
                values = values.astype(str)
            try:
                theirs = type_of_target(values)
            except ValueError as exc:
                theirs = f"error: {exc}"
            ours = f"{result.task.value} / {result.label_encoding.value}"
            expected = f"{case.task} / {case.encoding}"
            print(f"| {case.id} | {expected} | {ours} | {theirs} |")


if __name__ == "__main__":
    main()
