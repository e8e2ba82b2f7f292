"""scikit-learn estimators: the advice itself, and MLPs that train with the advised loss.

- ``LossAdvisor().fit(X, y)`` profiles the data, shortlists by rules and confirms by short
  runs; the chosen loss is in ``loss_`` and ``advice_`` is the whole ``Advice``
  (``advice_.build_loss()``, ``encode_target``, ``decode_output``...).
- ``AdvisedMLPClassifier`` / ``AdvisedMLPRegressor`` ask the advisor for a loss when ``loss``
  is None (or take the loss id and ``loss_params`` given, so that both are ordinary
  hyper-parameters of ``GridSearchCV``), then train an MLP with it through the project's own
  training code (``fit_short``: the search's stacked trainer, early stopping on a held-out
  validation share by the advice's metric) and predict in the target's labels or units.

They follow scikit-learn's contract: ``__init__`` only stores, learned state ends in ``_``,
reading it before ``fit`` raises ``NotFittedError``, and ``parametrize_with_checks`` runs on
all three in the test suite. Arrays must be numeric (NaN allowed: it is imputed, as the
search does); a DataFrame may also hold categorical or text columns, which the profile reads
and the feature encoder one-hot encodes or drops, as in the search. Sparse input is densified:
tabular data of this size fits in memory, and the profile needs the columns.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from advisor.records import Advice, DataProfile, LossId, MetricId, Task

__all__ = ["AdvisedMLPClassifier", "AdvisedMLPRegressor", "LossAdvisor"]

MIN_SAMPLES = 2  # one row cannot be split, profiled or learned from
DEFAULT_LR = 3e-3


_NO_Y = "no_validation"  # validate_data's own marker for "predicting: no y"


def _validated(
    estimator: BaseEstimator, X: Any, y: Any = _NO_Y, *, reset: bool, y_numeric: bool = False
) -> tuple:
    """scikit-learn's checks (shapes, NaN/inf, complex, 1 sample), then X as a DataFrame.

    A DataFrame keeps its column types for the profile (categoricals, text); anything else
    must be numeric. A column-vector y is raveled with scikit-learn's warning. Returns
    ``(frame, y)``; ``y`` is None when not given.
    """
    if y is None:  # fit(X, None): scikit-learn's own message
        validate_data(estimator, X, y, reset=reset)
    if not isinstance(y, str) and np.asarray(y).ndim == 2 and np.asarray(y).shape[1] == 1:
        y = column_or_1d(y, warn=True)
    if hasattr(X, "toarray") and hasattr(X, "nnz"):  # scipy.sparse: densified, see module doc
        X = X.toarray()
    frame_given = isinstance(X, pd.DataFrame)
    common = {
        "dtype": None if frame_given else "numeric",
        "ensure_all_finite": "allow-nan",
        "ensure_min_samples": MIN_SAMPLES if reset else 1,
    }
    if isinstance(y, str) and y == _NO_Y:
        checked = validate_data(estimator, X, reset=reset, **common)
        y = None
    else:
        checked, y = validate_data(
            estimator, X, y, reset=reset, multi_output=True, y_numeric=y_numeric, **common
        )
    if frame_given:
        frame = X.reset_index(drop=True)
        frame.columns = [str(c) for c in frame.columns]
    else:
        frame = pd.DataFrame(checked, columns=[f"x{i}" for i in range(checked.shape[1])])
    return frame, y


def _target(y: np.ndarray) -> np.ndarray | pd.DataFrame:
    """y as ``advisor.recommend`` takes it: 1-D, or one column per output/label."""
    y = np.asarray(y)
    return y[:, 0] if y.ndim == 2 and y.shape[1] == 1 else y


class LossAdvisor(BaseEstimator):
    """Recommend a loss for (X, y), as a scikit-learn estimator.

    Args:
        task, objective, metric: as in ``advisor.recommend`` (None: detected / the rules').
        search: False answers from the rules alone (no training, fast).
        budget_s, trials, seed, device: the confirmation's budget, trials, seed and device.

    Example:
        >>> import numpy as np
        >>> X = np.random.default_rng(0).normal(size=(120, 3))
        >>> y = X[:, 0] + 0.1 * np.random.default_rng(1).normal(size=120)
        >>> LossAdvisor(search=False).fit(X, y).loss_ in {"mse", "huber", "log_cosh", "mae"}
        True
    """

    def __init__(
        self,
        *,
        task: str | None = None,
        objective: str = "auto",
        metric: str | None = None,
        search: bool = True,
        budget_s: float = 60.0,
        trials: int | None = None,
        seed: int = 0,
        device: str = "cpu",
    ) -> None:
        self.task = task
        self.objective = objective
        self.metric = metric
        self.search = search
        self.budget_s = budget_s
        self.trials = trials
        self.seed = seed
        self.device = device

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # imputed by the feature encoder, as in the search
        tags.input_tags.sparse = True  # densified
        tags.target_tags.required = True
        tags.target_tags.multi_output = True  # several target columns: multilabel
        return tags

    def fit(self, X: Any, y: Any) -> LossAdvisor:
        """Profile, shortlist and confirm on (X, y); the advice lands in ``advice_``."""
        from advisor._api import recommend

        frame, y = _validated(self, X, y, reset=True)
        # the estimator's parameters are recommend's own, by name
        self.advice_: Advice = recommend(frame, _target(y), **self.get_params())
        self.loss_ = self.advice_.recommendation.loss.value
        self.params_ = dict(self.advice_.recommendation.params)
        self.confidence_ = self.advice_.recommendation.confidence
        return self

    def build_loss(self):
        """The recommended loss as a ``torch.nn.Module`` (with weights from the fitted data)."""
        check_is_fitted(self, "advice_")
        return self.advice_.build_loss()


# --------------------------------------------------------------------------- advised MLPs


def _task_for(profile: DataProfile, allowed: tuple[Task, ...]) -> Task | None:
    """None when the detected task is allowed; else the likeliest allowed reading."""
    if profile.task in allowed:
        return None
    for alternative in profile.alternatives:
        if alternative.task in allowed:
            return alternative.task
    return allowed[0]


class _AdvisedMLP(BaseEstimator):
    """What the two estimators share: choose the loss, encode, train with ``fit_short``."""

    _ALLOWED: tuple[Task, ...] = ()
    _Y_NUMERIC = False

    def __init__(
        self,
        *,
        loss: str | None = None,
        loss_params: Mapping[str, float] | None = None,
        objective: str | None = None,
        metric: str | None = None,
        search: bool = True,
        budget_s: float = 30.0,
        trials: int | None = None,
        hidden: int = 64,
        depth: int = 2,
        factory: Callable[[int, int], Any] | None = None,
        lr: float | None = None,
        max_steps: int = 600,
        batch_size: int = 256,
        patience: int = 6,
        validation_fraction: float = 0.15,
        device: str = "cpu",
        random_state: int | np.random.RandomState | None = None,
    ) -> None:
        self.loss = loss
        self.loss_params = loss_params
        self.objective = objective
        self.metric = metric
        self.search = search
        self.budget_s = budget_s
        self.trials = trials
        self.hidden = hidden
        self.depth = depth
        self.factory = factory
        self.lr = lr
        self.max_steps = max_steps
        self.batch_size = batch_size
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.device = device
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # imputed by the feature encoder, as in the search
        tags.input_tags.sparse = True  # densified
        return tags

    # ----------------------------------------------------------------- choosing the loss

    def _allowed(self, y: np.ndarray) -> tuple[Task, ...]:
        return self._ALLOWED

    def _choose(
        self, frame: pd.DataFrame, target: tuple[str, ...], allowed: tuple[Task, ...], seed: int
    ) -> tuple[DataProfile, LossId, dict[str, Any], MetricId, float | None]:
        """The profile, loss, parameters, early-stopping metric and the search's rate."""
        from advisor._api import profile as profile_of
        from advisor._api import recommend, shortlist
        from advisor.losses import get_loss

        first = profile_of(frame, target=target, metric=self.metric)
        task = _task_for(first, allowed)
        if self.loss is None:
            advice = recommend(
                frame,
                target=target,
                task=task,
                objective=self.objective,
                metric=self.metric,
                search=self.search,
                budget_s=self.budget_s,
                trials=self.trials,
                seed=seed,
                device=self.device,
                factory=self._factory(),
            )
            self.advice_ = advice
            rec = advice.recommendation
            lr = None
            if advice.search is not None:
                result = next((r for r in advice.search.results if r.loss == rec.loss), None)
                lr = None if result is None else result.params.get("lr")
            return advice.profile, rec.loss, dict(rec.params), rec.metric, lr
        spec = get_loss(self.loss)
        usable = tuple(t for t in allowed if t in spec.tasks)
        if not usable:
            raise ValueError(
                f"loss {spec.id.value!r} applies to {', '.join(t.value for t in spec.tasks)}, "
                f"not to this target ({', '.join(t.value for t in allowed)}); pick a loss of "
                "the task (lossadvisor losses lists them)"
            )
        reading = _task_for(first, usable)  # e.g. ordinal_coral on levels read as multiclass
        profile = first if reading is None else profile_of(frame, target=target, task=reading)
        listed = shortlist(profile, objective=self.objective, metric=self.metric)
        self.advice_ = None
        return profile, spec.id, dict(self.loss_params or {}), listed.metric, None

    def _factory(self) -> Callable[[int, int], Any]:
        from advisor.training import default_mlp

        if self.factory is not None:
            return self.factory
        return functools.partial(default_mlp, hidden=self.hidden, depth=self.depth)

    # ----------------------------------------------------------------- training

    def _split(self, codes: np.ndarray | None, n: int, seed: int) -> tuple[np.ndarray, ...]:
        """Training and validation rows (stratified by class when every class has two rows)."""
        from sklearn.model_selection import train_test_split

        rows = np.arange(n)
        n_val = int(round(self.validation_fraction * n))
        if n_val < 1 or n - n_val < 1:
            return rows, rows  # too few rows to hold any out: validate on the training rows
        stratify = None
        if codes is not None and codes.ndim == 1:
            counts = np.bincount(codes)
            present = counts[counts > 0]
            if present.min() >= 2 and n_val >= present.size and n - n_val >= present.size:
                stratify = codes
        train, val = train_test_split(rows, test_size=n_val, random_state=seed, stratify=stratify)
        return np.sort(train), np.sort(val)

    def _fit(self, X: Any, y: Any) -> _AdvisedMLP:
        import torch

        from advisor._advice import coding_of, labels_in_order
        from advisor._inputs import table_from_arrays
        from advisor.profiling import split_xy
        from advisor.training import (
            FeatureEncoder,
            FitSettings,
            MemberSpec,
            TrainingData,
            fit_short,
        )

        features, y = _validated(self, X, y, reset=True, y_numeric=self._Y_NUMERIC)
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        frame, target = table_from_arrays(features, _target(y))
        profile, loss, params, metric, found_lr = self._choose(
            frame, target, self._allowed(y), seed
        )
        kept, canonical = split_xy(frame, profile)
        codes = None if profile.task.is_regression else canonical
        train, val = self._split(
            codes if codes is not None and codes.ndim == 1 else None, len(canonical), seed
        )
        encoder = FeatureEncoder.from_profile(profile).fit(kept.iloc[train])
        data = TrainingData(
            x_train=encoder.transform(kept.iloc[train]),
            y_train=canonical[train],
            x_val=encoder.transform(kept.iloc[val]),
            y_val=canonical[val],
            task=profile.task,
            n_classes=profile.n_classes,
            metric=metric,
            quantile=float(params.get("q") or 0.5),
        )
        lr = self.lr if self.lr is not None else (found_lr or DEFAULT_LR)
        settings = FitSettings(
            max_steps=self.max_steps,
            batch_size=self.batch_size,
            patience=self.patience,
            device=self.device,
            keep_model=True,
        )
        member = MemberSpec(loss=loss, params=params, lr=float(lr), seed=seed)
        (result,) = fit_short(
            [member], data, settings=settings, data_seed=seed, factory=self._factory()
        )
        self.profile_ = profile
        self.loss_ = loss.value
        self.loss_params_ = dict(params)
        self.metric_ = metric.value
        self.lr_ = float(lr)
        self.validation_score_ = float(result.score)
        self.n_steps_ = int(result.best_step)
        self.coding_ = coding_of(
            canonical[train],
            profile=profile,
            loss=loss,
            labels=labels_in_order(frame, profile, canonical),
        )
        self.encoder_ = encoder
        # predicted in float64: float32 sums differ in the last bits with the number of rows
        # (BLAS blocks them differently), and a row's prediction must not depend on its batch
        self.model_ = result.model.to("cpu", torch.float64)
        return self

    def _outputs(self, X: Any) -> np.ndarray:
        """The network's raw outputs on X (after the fitted feature encoding)."""
        import torch

        check_is_fitted(self, "model_")
        features, _ = _validated(self, X, reset=False)
        x = torch.as_tensor(self.encoder_.transform(features), dtype=torch.float64)
        with torch.no_grad():
            return self.model_(x)


class AdvisedMLPClassifier(ClassifierMixin, _AdvisedMLP):
    """An MLP classifier trained with the advised loss (or the one you give).

    Binary, multiclass, ordinal (levels the profile reads as ordered) and multilabel (a 0/1
    indicator matrix) targets. ``fit`` asks ``advisor.recommend`` for the loss when ``loss``
    is None; ``predict`` answers in the original labels, ``predict_proba`` per ``classes_``.

    Args:
        loss, loss_params: a SPEC loss id and its parameters, or None to be advised.
        objective, metric, search, budget_s, trials: passed to the advisor; ``metric`` (or
            the advisor's choice) also picks the early-stopping step.
        hidden, depth, factory: the MLP (``default_mlp``), or your own
            ``factory(n_inputs, n_outputs) -> nn.Module``.
        lr: AdamW's rate; None takes the search's best for the loss, else 3e-3.
        max_steps, batch_size, patience, validation_fraction: the training run.
        device, random_state: where it trains; the seed of weights, split and batches.

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(200, 3))
        >>> y = np.where(X[:, 0] > 0, "yes", "no")
        >>> clf = AdvisedMLPClassifier(search=False, max_steps=200, random_state=0).fit(X, y)
        >>> clf.loss_, clf.classes_.tolist(), clf.score(X, y) > 0.9
        ('bce', ['no', 'yes'], True)
    """

    _ALLOWED = (Task.BINARY, Task.MULTICLASS, Task.ORDINAL)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags

    def _allowed(self, y: np.ndarray) -> tuple[Task, ...]:
        kind = type_of_target(y)
        if kind == "multilabel-indicator":
            return (Task.MULTILABEL,)
        if kind == "binary":
            return (Task.BINARY,)
        return (Task.MULTICLASS, Task.ORDINAL)

    def fit(self, X: Any, y: Any) -> AdvisedMLPClassifier:
        """Choose the loss (advised unless given), then train the MLP with it."""
        from advisor._advice import canonical_target

        check_classification_targets(y)
        y_checked = np.asarray(y)
        if y_checked.ndim == 2 and y_checked.shape[1] == 1:
            y_checked = y_checked[:, 0]
        self._fit(X, y)
        if self.profile_.task is Task.MULTILABEL:
            self.classes_ = np.arange(np.asarray(y).shape[1])
            self.order_ = self.classes_
        else:
            self.classes_ = np.unique(y_checked)
            # each of classes_' position among the profile's class codes, which training used
            self.order_ = np.asarray(canonical_target(self.profile_, self.classes_))
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, columns in ``classes_`` order (label probabilities for
        multilabel)."""
        from advisor._advice import class_probabilities

        check_is_fitted(self, "model_")
        proba = class_probabilities(self.coding_, self._outputs(X))
        return proba[:, self.order_]

    def predict(self, X: Any) -> np.ndarray:
        """The original class labels (for ordinal, the level the metric reads; multilabel: 0/1)."""
        from advisor.training._metrics import _labels

        proba = self.predict_proba(X)
        if self.profile_.task is Task.MULTILABEL:
            return (proba >= 0.5).astype(np.int64)
        return self.classes_[_labels(proba, MetricId(self.metric_))]


class AdvisedMLPRegressor(RegressorMixin, _AdvisedMLP):
    """An MLP regressor trained with the advised loss (or the one you give).

    Regression, count and positive targets: ``fit`` asks ``advisor.recommend`` for the loss
    (MSE, Huber, Poisson, Gamma, quantile...) when ``loss`` is None; ``predict`` answers in
    the target's units. Arguments as for ``AdvisedMLPClassifier``.

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(300, 3))
        >>> y = 2.0 * X[:, 0] + rng.normal(scale=0.1, size=300) + 50.0
        >>> reg = AdvisedMLPRegressor(search=False, max_steps=300, random_state=0).fit(X, y)
        >>> reg.loss_, reg.score(X, y) > 0.9
        ('mse', True)
    """

    _ALLOWED = (Task.REGRESSION, Task.REGRESSION_COUNT, Task.REGRESSION_POSITIVE)
    _Y_NUMERIC = True

    def fit(self, X: Any, y: Any) -> AdvisedMLPRegressor:
        """Choose the loss (advised unless given), then train the MLP with it."""
        y_checked = np.asarray(y)
        if y_checked.ndim == 2 and y_checked.shape[1] != 1:
            raise ValueError(
                f"AdvisedMLPRegressor takes one target column, got y of shape {y_checked.shape}"
            )
        return self._fit(X, y)

    def predict(self, X: Any) -> np.ndarray:
        """Predictions in the target's own units."""
        from advisor._advice import class_probabilities

        check_is_fitted(self, "model_")
        return np.asarray(class_probabilities(self.coding_, self._outputs(X)), dtype=np.float64)
