"""Turn the feature columns into the float matrix a short MLP run needs, with scikit-learn.

Numeric columns are median-imputed with missing indicators and standardised; booleans and
categoricals are one-hot encoded (rare levels pooled); datetimes become numbers; text, ID-like
and constant columns are dropped, because a short run cannot learn anything honest from them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from advisor.errors import DataError
from advisor.records import DataProfile, FeatureKind

__all__ = ["FeatureEncoder"]

_DROPPED = {FeatureKind.TEXT, FeatureKind.ID_LIKE, FeatureKind.CONSTANT}


class FeatureEncoder:
    """Fit on the training rows only (no leakage into validation), then transform any rows.

    Example:
        >>> import pandas as pd
        >>> from advisor.training import FeatureEncoder
        >>> X = pd.DataFrame({"a": [1.0, 2.0, None, 4.0], "c": ["x", "y", "x", "x"]})
        >>> FeatureEncoder({"a": "numeric", "c": "categorical"}).fit_transform(X).shape
        (4, 4)
    """

    def __init__(self, kinds: dict[str, FeatureKind | str]) -> None:
        self.kinds = {name: FeatureKind(kind) for name, kind in kinds.items()}
        self.transformer_: ColumnTransformer | None = None

    @classmethod
    def from_profile(cls, profile: DataProfile) -> FeatureEncoder:
        return cls({column.name: column.kind for column in profile.features.columns})

    def _columns(self, kinds: set[FeatureKind]) -> list[str]:
        return [name for name, kind in self.kinds.items() if kind in kinds]

    def _prepare(self, frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame[[name for name, kind in self.kinds.items() if kind not in _DROPPED]].copy()
        for name in self._columns({FeatureKind.DATETIME}):
            stamps = pd.to_datetime(frame[name], errors="coerce", format="mixed")
            frame[name] = stamps.astype("int64", errors="ignore").where(stamps.notna()) / 86400e9
        for name in self._columns({FeatureKind.BOOLEAN, FeatureKind.CATEGORICAL}):
            column = frame[name]
            frame[name] = column.astype("object").where(column.notna(), "__missing__").astype(str)
        for name in self._columns({FeatureKind.NUMERIC}):
            frame[name] = pd.to_numeric(frame[name], errors="coerce").astype("float64")
        return frame

    def fit(self, frame: pd.DataFrame) -> FeatureEncoder:
        numeric = self._columns({FeatureKind.NUMERIC, FeatureKind.DATETIME})
        categorical = self._columns({FeatureKind.BOOLEAN, FeatureKind.CATEGORICAL})
        if not numeric and not categorical:
            raise DataError(
                "no usable feature columns: every column besides the target is text, ID-like or "
                "constant; a network needs at least one numeric or categorical feature"
            )
        parts = []
        if numeric:
            parts.append(
                (
                    "numeric",
                    make_pipeline(
                        SimpleImputer(
                            strategy="median", add_indicator=True, keep_empty_features=True
                        ),
                        StandardScaler(),
                    ),
                    numeric,
                )
            )
        if categorical:
            parts.append(
                (
                    "categorical",
                    OneHotEncoder(
                        handle_unknown="infrequent_if_exist",
                        # rare levels pooled, but never all of them on small tables
                        min_frequency=min(5, max(1, len(frame) // 50)),
                        max_categories=32,
                        sparse_output=False,
                        dtype=np.float32,
                    ),
                    categorical,
                )
            )
        self.transformer_ = ColumnTransformer(parts, sparse_threshold=0.0)
        self.transformer_.fit(self._prepare(frame))
        return self

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        if self.transformer_ is None:
            from sklearn.exceptions import NotFittedError

            raise NotFittedError("FeatureEncoder.transform called before fit")
        matrix = self.transformer_.transform(self._prepare(frame))
        return np.nan_to_num(np.asarray(matrix, dtype=np.float32), nan=0.0)

    def fit_transform(self, frame: pd.DataFrame) -> np.ndarray:
        return self.fit(frame).transform(frame)
