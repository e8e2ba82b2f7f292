"""Write the bundled example CSVs from datasets that ship inside scikit-learn (no download).

Run from the repository root: ``python examples/make_examples.py``. The CSVs are committed, so
this script only documents where they came from and lets anyone regenerate them.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from sklearn import datasets

HERE = Path(__file__).parent


def _frame(bunch, target_name: str, target_values) -> pd.DataFrame:
    frame = pd.DataFrame(bunch.data, columns=[str(c) for c in bunch.feature_names])
    frame[target_name] = target_values
    return frame


def main() -> None:
    diabetes = datasets.load_diabetes(scaled=False)
    _frame(diabetes, "target", diabetes.target).to_csv(HERE / "diabetes.csv", index=False)

    cancer = datasets.load_breast_cancer()
    names = [cancer.target_names[i] for i in cancer.target]
    _frame(cancer, "diagnosis", names).to_csv(HERE / "breast_cancer.csv", index=False)

    wine = datasets.load_wine()
    _frame(wine, "cultivar", [f"cultivar_{i}" for i in wine.target]).to_csv(
        HERE / "wine.csv", index=False
    )

    print("wrote diabetes.csv, breast_cancer.csv, wine.csv to", HERE)


if __name__ == "__main__":
    main()
