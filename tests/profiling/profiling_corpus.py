"""The corpus of tricky targets: each case builds a table in memory (a DataFrame or CSV bytes).

Used by ``test_profiling_corpus.py`` and by ``benchmarks/type_of_target_table.py``; nothing here
reads from disk, so the tests run from a clean clone.

The "51 distinct integers in 1001 rows" case: AutoGluon's unique/rows rule calls it regression.
We read it as 51 classes because the integers are consecutive codes 0..50 with flat
frequencies (each about 20 times), which counts and measurements do not produce; the profile
names regression_count as the alternative. Poisson counts with a similar number of distinct
values (``poisson_counts_wide``) are bell-shaped, not flat, and stay counts.
"""

from __future__ import annotations

import dataclasses
import zlib
from collections.abc import Callable

import numpy as np
import pandas as pd

N = 400


@dataclasses.dataclass(frozen=True)
class Case:
    id: str
    make: Callable[[np.random.Generator], pd.DataFrame | bytes]
    task: str
    encoding: str
    target: tuple[str, ...] | None = None


def _frame(y: object, name: str = "y", *, n: int | None = None, rng=None, **extra) -> pd.DataFrame:
    values = y if isinstance(y, (list, tuple)) else list(y)  # type: ignore[arg-type]
    size = len(values) if n is None else n
    rng = rng or np.random.default_rng(1)
    data = {"x1": rng.normal(size=size), "x2": rng.integers(0, 5, size=size)}
    data.update(extra)
    data[name] = values
    return pd.DataFrame(data)


def _csv(text: str, encoding: str = "utf-8") -> bytes:
    return text.encode(encoding)


def _rows(rng: np.random.Generator, labels: list[str], n: int = 60) -> list[str]:
    return [str(v) for v in rng.choice(labels, n)]


def _one_hot(rng: np.random.Generator, names: list[str], n: int = N) -> pd.DataFrame:
    picks = rng.integers(0, len(names), n)
    frame = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n)})
    for i, name in enumerate(names):
        frame[name] = (picks == i).astype(int)
    return frame


def _multi_hot(rng: np.random.Generator, names: list[str], n: int = N) -> pd.DataFrame:
    frame = pd.DataFrame({"x1": rng.normal(size=n)})
    for name in names:
        frame[name] = (rng.random(n) < 0.4).astype(int)
    return frame


def _probabilities(rng: np.random.Generator) -> pd.DataFrame:
    raw = rng.dirichlet([1.0, 1.0, 1.0], N)
    frame = pd.DataFrame({"x1": rng.normal(size=N)})
    for i, name in enumerate(["p_cat", "p_dog", "p_bird"]):
        frame[name] = raw[:, i]
    return frame


def _wide(rng: np.random.Generator) -> bytes:
    x = rng.normal(size=(200, 499))
    frame = pd.DataFrame(x, columns=[f"f{i}" for i in range(499)])
    frame["target"] = x[:, 0] * 3 + rng.normal(size=200)
    return frame.to_csv(index=False).encode()


def _csv_of(frame: pd.DataFrame, **kwargs) -> bytes:
    encoding = kwargs.pop("encoding", "utf-8")
    return frame.to_csv(index=False, **kwargs).encode(encoding)


CASES: list[Case] = [
    # ---- ordinal vs multiclass vs regression on whole numbers
    Case(
        "rating_1_5_named",
        lambda r: _frame(r.integers(1, 6, N), "rating"),
        "ordinal",
        "integer_index",
        ("rating",),
    ),
    Case(
        "rating_1_5_as_y",
        lambda r: _frame(r.choice([1, 2, 3, 4, 5], N, p=[0.1, 0.1, 0.2, 0.3, 0.3])),
        "ordinal",
        "integer_index",
    ),
    Case(
        "rating_float_1_5",
        lambda r: _frame(r.integers(1, 6, N).astype(float)),
        "ordinal",
        "float_coded_integer",
    ),
    Case(
        "nps_0_10",
        lambda r: _frame(np.clip(np.round(r.normal(7.5, 2, N)), 0, 10).astype(int), "score"),
        "ordinal",
        "integer_index",
        ("score",),
    ),
    Case(
        "half_star_ratings",
        lambda r: _frame(r.integers(2, 11, N) / 2.0),
        "regression",
        "continuous",
    ),
    Case(
        "species_float_codes",
        lambda r: _frame(r.integers(1, 4, N).astype(float), "species"),
        "multiclass",
        "float_coded_integer",
        ("species",),
    ),
    Case(
        "float_codes_three",
        lambda r: _frame(r.integers(1, 4, N).astype(float)),
        "multiclass",
        "float_coded_integer",
    ),
    Case("int_codes_0_2", lambda r: _frame(r.integers(0, 3, N)), "multiclass", "integer_index"),
    Case(
        "digits_0_9",
        lambda r: _frame(r.integers(0, 10, N), "digit"),
        "multiclass",
        "integer_index",
        ("digit",),
    ),
    Case(
        "sparse_codes", lambda r: _frame(r.choice([3, 7, 12, 40], N)), "multiclass", "integer_index"
    ),
    Case(
        "codes_51_in_1001",
        lambda r: _frame(np.r_[np.arange(51).repeat(19), r.integers(0, 51, 32)], n=1001),
        "multiclass",
        "integer_index",
    ),
    # ---- counts
    Case(
        "doctor_visits",
        lambda r: _frame(np.minimum(r.negative_binomial(0.3, 0.08, N * 3), 121), "visits", n=N * 3),
        "regression_count",
        "continuous",
        ("visits",),
    ),
    Case(
        "small_poisson_counts",
        lambda r: _frame(r.poisson(1.2, N)),
        "regression_count",
        "continuous",
    ),
    Case(
        "poisson_counts_wide",
        lambda r: _frame(r.poisson(25, 1001), n=1001),
        "regression_count",
        "continuous",
    ),
    Case(
        "claims_named_count",
        lambda r: _frame(r.poisson(3, N), "n_claims"),
        "regression_count",
        "continuous",
        ("n_claims",),
    ),
    # ---- continuous
    Case(
        "prices_lognormal",
        lambda r: _frame(np.round(np.exp(r.normal(12, 0.6, N)), 2), "price"),
        "regression_positive",
        "continuous",
        ("price",),
    ),
    Case(
        "wages_whole_dollars",
        lambda r: _frame(np.round(np.exp(r.normal(10.5, 0.7, N))).astype(int)),
        "regression_positive",
        "continuous",
    ),
    Case("normal_continuous", lambda r: _frame(r.normal(0, 3, N)), "regression", "continuous"),
    Case("positive_symmetric", lambda r: _frame(r.normal(100, 5, N)), "regression", "continuous"),
    Case("fraction_0_1", lambda r: _frame(r.beta(2, 5, N)), "regression", "continuous"),
    # ---- one column of probabilities: soft binary labels when the name or the shape says so
    Case(
        "click_through_rate",
        lambda r: _frame(np.round(r.beta(1, 30, N), 4), "ctr"),
        "binary",
        "probability",
        ("ctr",),
    ),
    Case(
        "teacher_probabilities",
        lambda r: _frame(np.clip(r.beta(0.3, 0.3, N), 0, 1)),
        "binary",
        "probability",
    ),
    Case(
        "negative_integers", lambda r: _frame(r.integers(-500, 500, N)), "regression", "continuous"
    ),
    Case(
        "zero_inflated_amounts",
        lambda r: _frame(np.where(r.random(N) < 0.4, 0.0, r.gamma(2, 50, N))),
        "regression",
        "continuous",
    ),
    Case("years", lambda r: _frame(r.integers(1950, 2021, N)), "regression", "continuous"),
    # ---- binary
    Case("zero_one_ints", lambda r: _frame(r.integers(0, 2, N)), "binary", "integer_index"),
    Case(
        "zero_one_floats",
        lambda r: _frame(r.integers(0, 2, N).astype(float)),
        "binary",
        "float_coded_integer",
    ),
    Case(
        "one_two_floats",
        lambda r: _frame(r.integers(1, 3, N).astype(float)),
        "binary",
        "float_coded_integer",
    ),
    Case("plus_minus_one", lambda r: _frame(r.choice([-1, 1], N)), "binary", "plus_minus_one"),
    Case("yes_no", lambda r: _frame(r.choice(["yes", "no"], N)), "binary", "boolean"),
    Case("Y_N_upper", lambda r: _frame(r.choice(["Y", "N"], N)), "binary", "boolean"),
    Case(
        "true_false_csv",
        lambda r: _csv(
            "x,y\n" + "\n".join(f"{i},{v}" for i, v in enumerate(r.choice(["True", "False"], 50)))
        ),
        "binary",
        "boolean",
    ),
    Case(
        "income_strings",
        lambda r: _frame(r.choice(["<=50K", ">50K"], N, p=[0.76, 0.24]), "income"),
        "binary",
        "string",
        ("income",),
    ),
    Case(
        "yes_no_missing_labels",
        lambda r: _frame(
            [None if i % 7 == 0 else v for i, v in enumerate(r.choice(["yes", "no"], N))]
        ),
        "binary",
        "boolean",
    ),
    # ---- multiclass strings and multi-column targets
    Case(
        "iris_strings",
        lambda r: _frame(r.choice(["setosa", "versicolor", "virginica"], N), "class"),
        "multiclass",
        "string",
    ),
    Case(
        "one_hot_y_prefix",
        lambda r: _one_hot(r, ["y_a", "y_b", "y_c"]),
        "multiclass",
        "one_hot_columns",
    ),
    Case(
        "one_hot_mode_at_end",
        lambda r: _one_hot(r, ["mode_beach", "mode_pier", "mode_boat"]),
        "multiclass",
        "one_hot_columns",
    ),
    Case(
        "two_column_multi_hot",
        lambda r: _multi_hot(r, ["tag_a", "tag_b"]),
        "multilabel",
        "multilabel_indicator_columns",
        ("tag_a", "tag_b"),
    ),
    Case(
        "multi_hot_y_prefix",
        lambda r: _multi_hot(r, ["y_red", "y_green", "y_blue"]),
        "multilabel",
        "multilabel_indicator_columns",
    ),
    Case(
        "probability_columns",
        _probabilities,
        "multiclass",
        "probability",
        ("p_cat", "p_dog", "p_bird"),
    ),
    Case(
        "pipe_label_sets",
        lambda r: _frame(r.choice(["a|b", "b", "a|c", "c|b|a", "a"], N), "labels"),
        "multilabel",
        "string",
    ),
    # ---- CSV dialects and encodings
    Case(
        "bom_header",
        lambda r: (
            b"\xef\xbb\xbf"
            + _csv("target,x\n" + "\n".join(f"{v},{i}" for i, v in enumerate(r.integers(0, 2, 50))))
        ),
        "binary",
        "integer_index",
    ),
    Case(
        "semicolon_decimal",
        lambda r: _csv_of(
            pd.DataFrame({"a": r.normal(size=80), "y": r.normal(10, 2, 80)}), sep=";"
        ),
        "regression",
        "continuous",
    ),
    Case(
        "tab_separated",
        lambda r: _csv_of(
            pd.DataFrame({"a": r.normal(size=80), "label": r.choice(["x", "y", "z"], 80)}), sep="\t"
        ),
        "multiclass",
        "string",
    ),
    Case(
        "pipe_separated",
        lambda r: _csv_of(
            pd.DataFrame({"a": r.normal(size=80), "outcome": r.integers(0, 2, 80)}), sep="|"
        ),
        "binary",
        "integer_index",
    ),
    Case(
        "latin1_labels",
        lambda r: _csv_of(
            pd.DataFrame({"a": r.normal(size=80), "label": r.choice(["café", "thé", "crème"], 80)}),
            encoding="latin-1",
        ),
        "multiclass",
        "string",
    ),
    Case(
        "unicode_names",
        lambda r: _csv_of(
            pd.DataFrame(
                {
                    "température": r.normal(size=80),
                    "größe": r.normal(size=80),
                    "Target": r.choice(["猫", "犬"], 80),
                }
            )
        ),
        "binary",
        "string",
    ),
    Case("wide_500_columns", _wide, "regression", "continuous"),
    Case(
        "question_mark_missing",
        lambda r: _csv(
            "x,y\n"
            + "\n".join(
                f"{i},{'?' if i % 9 == 0 else round(float(v), 3)}"
                for i, v in enumerate(r.normal(50, 10, 90))
            )
        ),
        "regression",
        "continuous",
    ),
    Case(
        "last_column_fallback",
        lambda r: pd.DataFrame(
            {"a": r.normal(size=N), "b": r.normal(size=N), "churned": r.choice(["no", "yes"], N)}
        ),
        "binary",
        "boolean",
    ),
]


def build(case: Case, tmp_path=None) -> pd.DataFrame | str:
    """The case's table: a DataFrame, or the path of the CSV it wrote under ``tmp_path``."""
    made = case.make(np.random.default_rng(zlib.crc32(case.id.encode())))
    if isinstance(made, pd.DataFrame):
        return made
    if tmp_path is None:
        import tempfile

        tmp_path = tempfile.mkdtemp()
    path = f"{tmp_path}/{case.id}.csv"
    with open(path, "wb") as handle:
        handle.write(made)
    return path
