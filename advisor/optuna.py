"""The advisor inside your own Optuna study: the rules' shortlist as a search space.

AutoML code that already runs an Optuna study treats the loss as one more hyper-parameter.
``suggest_loss`` lets the rules constrain that choice: the study samples only the shortlisted
losses, and each loss's parameters are conditional on it, within the catalog's ranges.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from advisor.losses._context import MAD_TO_SD
from advisor.records import Advice, DataProfile, LossId, Shortlist

if TYPE_CHECKING:
    import optuna

__all__ = ["suggest_loss", "target_scale"]


def target_scale(profile: DataProfile) -> float:
    """The target's robust scale (1.4826 x MAD, else the std, else 1) for relative ranges.

    The same chain of fallbacks as the training code's target encoding, read from the
    profile's measured statistics, so no data is needed.

    Example:
        >>> import numpy as np, pandas as pd
        >>> from advisor.losses import robust_center_scale
        >>> from advisor.profiling import profile_frame
        >>> y = np.random.default_rng(0).lognormal(size=200)
        >>> p = profile_frame(pd.DataFrame({"x": np.arange(200), "y": y}), target="y")
        >>> bool(np.isclose(target_scale(p), robust_center_scale(y)[1]))
        True
    """
    stats = profile.target_stats
    if not profile.task.is_regression:
        return 1.0
    for value in (MAD_TO_SD * (stats.mad or 0.0), stats.std or 0.0):
        if value > 0:
            return float(value)
    return 1.0


def suggest_loss(
    trial: optuna.Trial,
    shortlist: Shortlist | Advice,
    *,
    profile: DataProfile | None = None,
    scale: float | None = None,
) -> tuple[LossId, dict[str, Any]]:
    """Sample a loss and its parameters from the shortlist, inside the caller's trial.

    The loss is the categorical parameter ``loss``; its parameters are named
    ``<loss>.<param>`` and suggested only when that loss is drawn, within the catalog's ranges
    (a range in the target's units widened to hold the value the rules set: Huber's delta).
    Parameters the user's objective fixed (a quantile's ``q``) and values derived from the
    data (class weights) are returned as the rules set them, not searched.

    Args:
        trial: a trial of the caller's study.
        shortlist: ``advisor.shortlist(...)``, or the ``Advice`` of ``advisor.recommend``.
        profile: the data's profile, for ranges relative to the target's scale (Huber's
            delta); taken from ``shortlist`` when it is an ``Advice``.
        scale: the target's robust scale, when known otherwise; default from ``profile``.

    Returns:
        The loss id and its parameters, ready for ``advisor.losses.build_loss``.

    Example:
        >>> import optuna
        >>> from advisor.records import Candidate, MetricId, Objective, Task
        >>> listed = Shortlist(task=Task.BINARY, objective=Objective(), metric=MetricId.ACCURACY,
        ...     metric_reason="", candidates=(Candidate(loss=LossId.BCE, params={}, score=3.0),))
        >>> study = optuna.create_study()
        >>> suggest_loss(study.ask(), listed)
        (<LossId.BCE: 'bce'>, {})
    """
    from advisor.search._explore import suggest_loss as sample_loss

    if isinstance(shortlist, Advice):
        profile = shortlist.profile if profile is None else profile
        shortlist = shortlist.shortlist
    if scale is None:
        scale = target_scale(profile) if profile is not None else 1.0
    return sample_loss(trial, shortlist, scale=scale)
