"""Sentences that more than one renderer prints, written once."""

from __future__ import annotations

from advisor.records import SearchResult

__all__ = ["race_note"]


def race_note(search: SearchResult) -> str | None:
    """Why some losses have fewer confirmation splits than others (None when none has).

    Example:
        >>> from advisor.records import CandidateResult, LossId, MetricId
        >>> def result(loss, n):
        ...     return CandidateResult(loss=loss, params={}, mean=1.0, std=0.0, n=n,
        ...                            scores=(1.0,) * n)
        >>> search = SearchResult(metric=MetricId.RMSE, direction="minimize", budget_s=1.0,
        ...     elapsed_s=1.0, trials=2, storage="in-memory", study_name="s",
        ...     results=(result(LossId.MSE, 6), result(LossId.MAE, 3)))
        >>> race_note(search)[:40]
        'a loss with fewer splits left the race o'
    """
    splits = [len(r.scores) for r in search.results]
    if not splits or min(splits) == max(splits):
        return None
    return (
        "a loss with fewer splits left the race once it was settled against the leader "
        "(it could no longer change the advice)"
    )
