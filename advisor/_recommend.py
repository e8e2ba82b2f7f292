"""The whole job, stage after stage: profile -> shortlist -> confirm -> Recommendation.

Each stage stays callable alone (``advisor.profile``, ``advisor.shortlist``,
``advisor.confirm``); this module only chains them and phrases the outcome.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Sequence

import pandas as pd

from advisor.errors import UsageError
from advisor.losses import build_context, pytorch_snippet, resolve_params
from advisor.profiling import profile_frame, read_table, split_xy
from advisor.records import (
    Advice,
    Candidate,
    DataProfile,
    InputInfo,
    LabelEncoding,
    MetricId,
    Recommendation,
    SearchResult,
    Shortlist,
    Task,
)
from advisor.search import SearchProgress, confirm
from advisor.search._decide import Decision
from advisor.selection import load_rules, shortlist
from advisor.training import metric_applies
from advisor.training._model import ModelFactory

__all__ = ["profile_for_metric", "recommend", "recommendation_from"]

_PARAM_DIGITS = 4
REPORT_RESERVE_S = 2.0  # interpreter start-up before the clock, the recommendation, printing
MIN_SEARCH_S = 1.0


def _rounded(params: dict) -> dict:
    return {
        k: (round(v, _PARAM_DIGITS) if isinstance(v, float) else v)
        for k, v in params.items()
        if k != "lr"
    }


# metrics that score the distance between class indices: they presume the classes are ordered
ORDINAL_METRICS = (MetricId.MAE_INDEX, MetricId.QWK)
# levels that carry their own order (string names are only sorted alphabetically)
NUMBERED_LEVELS = (LabelEncoding.INTEGER_INDEX, LabelEncoding.FLOAT_CODED_INTEGER)


def profile_for_metric(
    frame: pd.DataFrame,
    *,
    target: str | Sequence[str] | None,
    task: Task | str | None,
    metric: MetricId | str | None,
    path: str | None = None,
) -> DataProfile:
    """Profile the table; an ordinal metric settles an ordered-or-not reading the data left open.

    Integer levels 1..3 may be categories or an ordered scale, and the profiler keeps ordinal
    as an alternative when it reads them as classes. Judging by ``mae_index`` or ``qwk``
    (distances between class indices) says the classes are ordered, so the task becomes
    ordinal. Nothing changes when ``--task`` was given, or ordinal was not an alternative for
    numbered levels (names like "red", "blue" carry no order of their own).
    """
    profile = profile_frame(frame, target=target, task=task, path_hint=path)
    if task is not None or metric is None or str(metric) not in ORDINAL_METRICS:
        return profile
    ordinal = next(
        (
            a
            for a in profile.alternatives
            if a.task is Task.ORDINAL and a.label_encoding in NUMBERED_LEVELS
        ),
        None,
    )
    if profile.task is Task.ORDINAL or ordinal is None:
        return profile
    imposed = profile_frame(frame, target=target, task=Task.ORDINAL, path_hint=path)
    return dataclasses.replace(
        imposed,
        target_detection=f"{profile.target_detection}; task ordinal because --metric {metric} "
        f"scores ordered classes ({ordinal.evidence})",
        alternatives=(),
    )


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
    resolved = resolve_params(chosen.loss, params, context=context)
    rationale = [reason.text for reason in chosen.reasons if reason.effect != "note"]
    rationale += [reason.text for reason in chosen.reasons if reason.effect == "note"]
    rationale.append(f"validation metric {listed.metric.value}: {listed.metric_reason}")
    rationale.append(verdict)
    if lr is not None:
        rationale.append(f"best learning rate in the short runs (AdamW): {lr:.2g}")
    return Recommendation(
        loss=chosen.loss,
        params=_rounded(resolved),
        metric=listed.metric,
        confidence=confidence,
        confidence_label=label,
        verdict=verdict,
        rationale=tuple(dict.fromkeys(rationale)),
        pytorch=pytorch_snippet(chosen.loss, resolved, context=context),
    )


def recommend(
    source: str | os.PathLike[str] | pd.DataFrame,
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
    progress: Callable[[SearchProgress], None] | None = None,
    started_at: float | None = None,
) -> Advice:
    """Recommend a loss for a table: profile it, shortlist by rules, confirm by short runs.

    ``budget_s`` bounds the whole job: the search gets what reading and profiling left of it
    (``started_at``, a ``time.monotonic()`` instant, lets a caller count its own start-up).

    Returns:
        An ``Advice`` whose ``to_dict()`` is the SPEC's JSON document.
    """
    started = time.monotonic() if started_at is None else started_at
    path = None if isinstance(source, pd.DataFrame) else os.fspath(source)
    frame = read_table(source, sample=sample, seed=seed)
    profile = profile_for_metric(frame, target=target, task=task, metric=metric, path=path)
    listed = shortlist(profile, objective=objective, rules=load_rules(rules), metric=metric)
    if not metric_applies(listed.metric, profile.task):
        raise UsageError(
            f"metric {listed.metric.value!r} does not apply to task {profile.task.value!r}; "
            "pass another --metric (see the SPEC's metric ids)"
        )
    result = decision = None
    if search:
        # the budget covers the whole job: reading and profiling already spent part of it
        spent = time.monotonic() - started + REPORT_RESERVE_S
        result, decision = confirm(
            frame,
            profile,
            listed,
            budget_s=max(MIN_SEARCH_S, budget_s - spent),
            trials=trials,
            seed=seed,
            storage=storage,
            study_name=study_name,
            resume=resume,
            device=device,
            factory=factory,
            progress=progress,
            source=path,
            rule_files=[str(r) for r in rules],
        )
    return Advice(
        input=InputInfo(
            path=path, target=profile.target, rows=int(len(frame)), columns=int(frame.shape[1])
        ),
        profile=profile,
        shortlist=listed,
        search=result,
        recommendation=recommendation_from(frame, profile, listed, result, decision),
    )
