"""The public functions: each stage callable on a path, a DataFrame, or ``X, y`` arrays.

The stage modules take one table (``advisor.profiling``, ``advisor.selection``,
``advisor.search``); these functions turn what a caller holds into that table (``_inputs``),
keep library calls quiet (``library_call``: no Optuna log lines unless the caller asks for
progress), and chain the stages where a caller skips one (``shortlist`` of raw data profiles
it first). ``recommend`` is the job's own function (``_recommend``), which does the same.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

from advisor._inputs import as_table
from advisor._recommend import recommend
from advisor.records import DataProfile, MetricId, SearchResult, Shortlist, Task
from advisor.search._quiet import library_call

__all__ = ["confirm", "profile", "recommend", "shortlist"]


def _rules(rules: Sequence[Any] | None) -> Sequence[Any] | None:
    """Rule files are loaded on top of the bundled rules; loaded ``Rule`` objects pass as given."""
    from advisor.selection import load_rules

    if rules is None:
        return None
    if all(isinstance(r, str | os.PathLike) for r in rules):
        return load_rules(list(rules))
    return rules


def profile(
    data: Any,
    y: Any = None,
    *,
    target: str | Sequence[str] | None = None,
    task: Task | str | None = None,
    metric: MetricId | str | None = None,
    sample: int | None = None,
    seed: int = 0,
    decimal: str | None = None,
) -> DataProfile:
    """Profile a table: its task, label encoding, balance, outliers, tails and features.

    Args:
        data: a CSV path, a DataFrame (its target named by ``target=`` or detected), a
            feature array or DataFrame ``X`` with ``y``, or an ``(X, y)`` tuple.
        y: the target, with array ``data``: 1-D, or several columns for multi-output or
            multilabel targets.
        target: the target column(s) of a path or DataFrame.
        task: a task id that overrides detection.
        metric: the metric you are judged by; an ordinal one (``qwk``, ``mae_index``) says
            that numbered classes are ordered.
        sample: profile this many randomly drawn rows only.
        seed: seed of the row sample.
        decimal: a CSV's decimal mark, ``"."`` or ``","``; detected from the values when None.

    Example:
        >>> import numpy as np
        >>> X = np.random.default_rng(0).normal(size=(60, 2))
        >>> profile(X, y=np.where(X[:, 0] > 0, "yes", "no")).task.value
        'binary'
    """
    from advisor._recommend import profile_for_metric
    from advisor.profiling import read_table

    table = as_table(data, y, target=target)
    frame = read_table(table.source, sample=sample, seed=seed, decimal=decimal)
    return profile_for_metric(frame, target=table.target, task=task, metric=metric, path=table.path)


def shortlist(
    data: Any,
    y: Any = None,
    *,
    objective: str | None = None,
    metric: MetricId | str | None = None,
    rules: Sequence[Any] | None = None,
    target: str | Sequence[str] | None = None,
    task: Task | str | None = None,
) -> Shortlist:
    """Rank the losses that suit the data and your objective, with the rules behind each.

    Args:
        data: a ``DataProfile``, or data in any form ``profile`` takes (it is profiled first).
        y, target, task: as in ``profile``, when ``data`` is not a profile.
        objective: your stated preference (``robust``, ``quantile:0.9``, ...); default auto.
        metric: the metric you are judged by; it overrides the one the rules choose.
        rules: extra rule files (on top of the bundled rules), or loaded rules to use instead.

    Example:
        >>> import numpy as np
        >>> X = np.random.default_rng(0).normal(size=(80, 2))
        >>> listed = shortlist(X, y=X[:, 0] * 3 + 1)
        >>> listed.task.value, listed.candidates[0].loss.value
        ('regression', 'mse')
    """
    from advisor.selection import shortlist as rank

    if not isinstance(data, DataProfile):
        data = _profile(data, y, target=target, task=task, metric=metric)
    return rank(data, objective=objective, rules=_rules(rules), metric=metric)


@library_call
def confirm(
    data: Any,
    profile: DataProfile | None = None,
    shortlist: Shortlist | None = None,
    *,
    y: Any = None,
    target: str | Sequence[str] | None = None,
    budget_s: float = 60.0,
    trials: int | None = None,
    seed: int = 0,
    storage: str | None = None,
    study_name: str | None = None,
    resume: bool = False,
    device: str = "cpu",
    factory: Callable[[int, int], Any] | None = None,
    progress: Callable[[Any], None] | None = None,
) -> tuple[SearchResult, Any]:
    """Train the shortlisted losses briefly and compare them on a loss-independent metric.

    Args:
        data: the table in any form ``profile`` takes (an ``(X, y)`` tuple for arrays, or
            ``y=``); it must be the table the profile was made from.
        profile, shortlist: the earlier stages' results; made here when omitted.
        budget_s, trials, seed, storage, study_name, resume, device: as in ``recommend``.
        factory: your own network, ``factory(n_inputs, n_outputs) -> nn.Module``.
        progress: ``True`` prints progress on stderr; a callable receives each update.

    Returns:
        The search's results and its decision (the chosen loss, its confidence, the test).
    """
    from advisor.profiling import read_table
    from advisor.search import confirm as run

    table = as_table(data, y, target=target)
    frame = read_table(table.source)
    if profile is None:
        profile = _profile(frame, target=table.target)
    if shortlist is None:
        shortlist = _shortlist(profile)
    return run(
        frame,
        profile,
        shortlist,
        budget_s=budget_s,
        trials=trials,
        seed=seed,
        storage=storage,
        study_name=study_name,
        resume=resume,
        device=device,
        factory=factory,
        progress=progress,
    )


_profile, _shortlist = profile, shortlist  # for confirm, whose arguments take these names
