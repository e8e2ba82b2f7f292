"""The whole job, stage after stage: profile -> shortlist -> confirm -> Recommendation.

Each stage stays callable alone (``advisor.profile``, ``advisor.shortlist``,
``advisor.confirm``); this module only chains them and phrases the outcome. Reading,
profiling and shortlisting go through ``search.prepare``, the steps a worker replays from a
stored study, so the two cannot drift.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from advisor._advice import target_coding
from advisor._inputs import Table, as_table
from advisor.errors import UsageError
from advisor.losses import build_context, pytorch_snippet, resolve_params
from advisor.profiling import split_xy
from advisor.records import (
    Advice,
    Candidate,
    DataProfile,
    InputInfo,
    MetricId,
    Recommendation,
    SearchResult,
    Shortlist,
    Task,
)
from advisor.report._wording import param_text, reason_lines, tuned_lines
from advisor.search import (
    Prepared,
    SearchProgress,
    check_limits,
    confirm,
    prepare,
    profile_for_metric,
)
from advisor.search._decide import Decision
from advisor.search._quiet import library_call
from advisor.training import metric_applies
from advisor.training._model import ModelFactory

__all__ = ["profile_for_metric", "recommend", "recommendation_from", "search_budget"]

_PARAM_DIGITS = 4
# after the search: phrasing the recommendation, printing it (JSON, terminal or HTML report),
# and the interpreter's exit, which tears torch down
REPORT_RESERVE_S = 2.0
MIN_SEARCH_S = 1.0
ROBUST_VALIDATION_NOTE = (
    "validation scored without the labels that a robust (Huber) fit of each split's training "
    "rows flags as gross errors (modified z > 3.5): the errors cannot decide the comparison"
)


def _round(value: float) -> float:
    """``_PARAM_DIGITS`` decimals, but never fewer significant digits: a Huber delta of
    0.0003132 on a target measured in thousandths stays 0.0003132, not 0.0003."""
    if value == 0 or not math.isfinite(value):
        return value
    return round(value, max(_PARAM_DIGITS, _PARAM_DIGITS - 1 - math.floor(math.log10(abs(value)))))


def _rounded(params: dict) -> dict:
    """The recommended parameters as reported; the snippet and ``build_loss`` use these."""
    return {k: (_round(v) if isinstance(v, float) else v) for k, v in params.items() if k != "lr"}


def _prior_confidence(candidates: Sequence[Candidate]) -> float:
    """Rules only: how far the top candidate leads the next, mapped to 0.5..0.8 (a prior)."""
    if len(candidates) < 2:
        return 0.8
    margin = candidates[0].score - candidates[1].score
    return round(min(0.8, 0.5 + 0.06 * margin), 3)


def recommendation_from(
    frame: pd.DataFrame,
    profile: DataProfile,
    listed: Shortlist,
    search: SearchResult | None,
    decision: Decision | None,
) -> Recommendation:
    """Phrase the final answer: the loss, its parameters, confidence, reasons and code."""
    by_loss = {c.loss: c for c in listed.candidates}
    if decision is None or search is None:
        chosen = listed.candidates[0]
        params = dict(chosen.params)
        confidence = _prior_confidence(listed.candidates)
        label = "prior only"
        verdict = (
            f"rules only (no search): {chosen.loss.value} leads the shortlist with score "
            f"{chosen.score:g}; run without --no-search to measure it"
        )
    else:
        chosen = by_loss[decision.chosen]
        result = next(r for r in search.results if r.loss is decision.chosen)
        params = dict(result.params)
        confidence, label = decision.confidence, decision.label
        verdict = (
            decision.comparison.statement
            if decision.comparison
            else (f"{chosen.loss.value} was the only candidate that could be scored")
        )
    _, target = split_xy(frame, profile)
    context = build_context(target, task=profile.task, n_classes=profile.n_classes or None)
    lr = params.pop("lr", None)
    # one set of values for every view: the JSON, the terminal, the report, the snippet and
    # Advice.build_loss all carry the rounded parameters
    used = _rounded(resolve_params(chosen.loss, params, context=context))
    proposed = _rounded(resolve_params(chosen.loss, dict(chosen.params), context=context))
    rationale = reason_lines(chosen, proposed=proposed, used=used)
    rationale.append(f"validation metric {listed.metric.value}: {listed.metric_reason}")
    if search is not None and listed.settings.get("robust_validation"):
        rationale.append(ROBUST_VALIDATION_NOTE)
    rationale.append(verdict)
    rationale += tuned_lines(chosen, proposed=proposed, used=used)
    if lr is not None:
        # as the search table shows it (4 significant digits), not a coarser 2
        lr_text = param_text(chosen.loss, "lr", lr)
        rationale.append(f"best learning rate in the short runs (AdamW): {lr_text}")
    return Recommendation(
        loss=chosen.loss,
        params=used,
        metric=listed.metric,
        confidence=confidence,
        confidence_label=label,
        verdict=verdict,
        rationale=tuple(dict.fromkeys(rationale)),
        pytorch=pytorch_snippet(chosen.loss, used, context=context),
    )


@library_call
def recommend(
    source: Any,
    y: Any = None,
    *,
    target: str | Sequence[str] | None = None,
    task: Task | str | None = None,
    objective: str | None = None,
    metric: MetricId | str | None = None,
    rules: Sequence[str | os.PathLike[str]] = (),
    search: bool = True,
    budget_s: float = 60.0,
    trials: int | None = None,
    seed: int = 0,
    storage: str | None = None,
    study_name: str | None = None,
    resume: bool = False,
    device: str = "cpu",
    factory: ModelFactory | None = None,
    sample: int | None = None,
    decimal: str | None = None,
    progress: Callable[[SearchProgress], None] | None = None,
    started_at: float | None = None,
) -> Advice:
    """Recommend a loss: profile the data, shortlist by rules, confirm by short runs.

    Args:
        source: a CSV (or Parquet, .gz, .zip) path, a DataFrame (``target=`` or detected),
            ``X`` with ``y`` (1-D, or a column per output or label), or ``(X, y)``.
        target, task, objective, metric, rules, sample, decimal: see ``profile``, ``shortlist``.
        search: ``False`` answers from the rules alone (no training).
        budget_s: wall-clock seconds for the whole job, from ``started_at`` (monotonic) if
            given; the search gets what reading left, less a reserve (``search_budget``).
        trials, seed, storage, study_name, resume, device, factory: as in ``advisor.confirm``.
        progress: ``True`` prints progress on stderr; a callable receives each update.

    Returns an ``Advice``: ``.recommendation``, ``.to_dict()`` (SPEC's JSON), ``.build_loss()``...

    Example:
        >>> import numpy as np
        >>> X = np.random.default_rng(0).normal(size=(80, 3))
        >>> advice = recommend(X, X[:, 0] > 0, search=False)
        >>> advice.recommendation.loss.value, advice.profile.target
        ('bce', ('target',))
    """
    started = time.monotonic() if started_at is None else started_at
    if search:
        check_limits(budget_s, trials)
    table = as_table(source, y, target=target)
    prepared = _checked(
        prepare(
            table.source,
            target=table.target,
            task=task,
            objective=objective,
            metric=metric,
            rules=rules,
            sample=sample,
            decimal=decimal,
            seed=seed,
            content_hash=storage is not None,  # for the processes that join a stored study
        )
    )
    result = decision = None
    if search:
        result, decision = confirm(
            prepared.frame,
            prepared.profile,
            prepared.listed,
            budget_s=search_budget(budget_s, started=started),
            trials=trials,
            seed=seed,
            storage=storage,
            study_name=study_name,
            resume=resume,
            device=device,
            factory=factory,
            progress=progress,
            job=prepared.job,
        )
    return _advice(table, prepared, result, decision)


def search_budget(budget_s: float, *, started: float) -> float:
    """Seconds left for the search of a job given ``budget_s`` that began at ``started``.

    What reading, profiling and shortlisting spent is gone, and the answer (the
    recommendation, its JSON or report, the interpreter's exit) needs
    :data:`REPORT_RESERVE_S` after the search; the search gets the rest, but never less
    than :data:`MIN_SEARCH_S`, so a job whose reading alone outran its budget still
    measures something (and says how long it took).

    Example:
        >>> import time
        >>> round(search_budget(60.0, started=time.monotonic() - 20.0))
        38
    """
    spent = time.monotonic() - started
    return max(MIN_SEARCH_S, budget_s - spent - REPORT_RESERVE_S)


def _checked(prepared: Prepared) -> Prepared:
    """The prepared job, once its validation metric is known to apply to its task.

    Raises:
        UsageError: the metric (given or chosen) does not score this task.
    """
    listed, task = prepared.listed, prepared.profile.task
    if not metric_applies(listed.metric, task):
        raise UsageError(
            f"metric {listed.metric.value!r} does not apply to task {task.value!r}; "
            "pass another `metric` (see the SPEC's metric ids)"
        )
    return prepared


def _advice(
    table: Table,
    prepared: Prepared,
    search: SearchResult | None,
    decision: Decision | None,
) -> Advice:
    """The answer: the recommendation phrased, with what training with it needs."""
    frame, profile = prepared.frame, prepared.profile
    recommendation = recommendation_from(frame, profile, prepared.listed, search, decision)
    return Advice(
        input=InputInfo(
            path=table.path,
            target=profile.target,
            rows=int(len(frame)),
            columns=int(frame.shape[1]),
        ),
        profile=profile,
        shortlist=prepared.listed,
        search=search,
        recommendation=recommendation,
        coding=target_coding(frame, profile, recommendation.loss),
    )
