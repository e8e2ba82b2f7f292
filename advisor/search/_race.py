"""The confirmation race as a pure function of the scores stored so far.

Each finalist repeats its best configuration on paired splits 1..R, then the race goes on in
rounds of ROUND_SPLITS more splits (3, then 3, then 4, up to MAX_REPEATS) as long as some
finalist is not settled against the loss the scores so far choose; a settled one leaves
(racing, as in F-Race: its later splits could not change the advice). A race still open at
MAX_REPEATS ends there when the loss it chooses is also the best mean. When the rule prior is
choosing against a measured leader the splits could not tell it from (a tie), and that leader
is ahead by a margin that matters (EQUIVALENCE, 0.5%: a smaller lead, proved, would not change
the advice), the race goes on in rounds of EXTRA_ROUND_SPLITS up to MOST_REPEATS while the
time allows, so that evidence, not the prior, settles the conflict where it can. On the
calibration corpus 82 of 115 races were open at 10 splits, most of them after a few seconds
of a 60 s budget, and the prior then kept picks the test found up to 18% behind
(``benchmarks/README.md``, "Races past ten splits"). A round's runs are
stored in the study as trials, so the race is replayed from them: :func:`plan_race` says what
is decided, and which (loss, split) runs the current round still lacks. Any process that finds
a round complete takes the next step; replaying the same scores always gives the same step.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence

from advisor.records import LossId, MetricId, Verdict
from advisor.search._decide import EQUIVALENCE, decide, settled
from advisor.search._results import candidate_result
from advisor.search._splits import N_SPLITS

__all__ = [
    "RacePlan",
    "contenders",
    "first_round",
    "looks",
    "plan_race",
    "prior_overrides_leader",
]

MIN_REPEATS = 2
MAX_REPEATS = 10  # where an unsettled race ends, unless the prior overrides a tied leader
MOST_REPEATS = N_SPLITS - 1  # the furthest such a race goes on
# splits per round after the first, while the race is not settled: small enough to stop a
# race that settles after 6 splits, large enough that a round's stack stays wide (3, 3, 4)
ROUND_SPLITS = 3
EXTRA_ROUND_SPLITS = 5  # past MAX_REPEATS: 15, 20, 25, 30


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RacePlan:
    """Where the race stands: scores of the complete rounds, and the round in progress."""

    scores: dict[LossId, list[float]]  # split by split from 1, complete rounds only
    live: list[LossId]  # contenders of the round in progress (of the last one when finished)
    done: int  # splits of the complete rounds
    round_start: int  # the round in progress starts after this split
    needed: tuple[tuple[LossId, int], ...]  # its (loss, split) runs, stored or not
    finished: bool


def _round(done: int, count: int) -> range:
    return range(done + 1, done + count + 1)


def first_round(repeats: int) -> range:
    """The splits of the race's first round: every finalist runs them, whatever the scores.

    Example:
        >>> list(first_round(3))
        [1, 2, 3]
    """
    return _round(0, min(MAX_REPEATS, max(repeats, MIN_REPEATS)))


def contenders(
    scores: Mapping[LossId, Sequence[float]],
    live: Sequence[LossId],
    *,
    prior: Sequence[LossId],
    metric: MetricId,
    maximize: bool,
) -> list[LossId]:
    """The loss the scores so far choose, and every other one not yet settled against it.

    A loss the rule prior ranks above the chosen one would win a tie with it, so it stays
    until it is worse by a margin that matters; any other stays until it can no longer be
    better by one. A single contender means the race is decided.
    """
    results = [candidate_result(loss, ({}, 0.0), list(scores[loss])) for loss in live]
    chosen = decide(results, prior=prior, metric=metric, maximize=maximize).chosen
    order = {loss: i for i, loss in enumerate(prior)}

    def out(loss: LossId) -> bool:
        margin = -EQUIVALENCE if order.get(loss, len(order)) < order.get(chosen, 0) else EQUIVALENCE
        return settled(scores[chosen], scores[loss], maximize=maximize, margin=margin)

    return [loss for loss in live if loss is chosen or not out(loss)]


def looks(splits: int) -> int:
    """How many times a race that ran ``splits`` paired splits tested for a decision it could
    stop on past MAX_REPEATS: once up to it, once more per extra round.

    Example:
        >>> [looks(n) for n in (3, 10, 15, 18, 30)]
        [1, 1, 2, 3, 5]
    """
    extra = max(0, splits - MAX_REPEATS)
    return 1 + -(-extra // EXTRA_ROUND_SPLITS)


def prior_overrides_leader(
    scores: Mapping[LossId, Sequence[float]],
    live: Sequence[LossId],
    *,
    prior: Sequence[LossId],
    metric: MetricId,
    maximize: bool,
) -> bool:
    """True when the scores so far leave the choice to the rule prior against a best mean
    that leads it by a margin that matters: a tie the splits could not break (not a lead
    shown negligible, nor a significant one) with the leader ahead by EQUIVALENCE or more.
    A smaller lead, proved, would not change the advice, so more splits could only cost time.

    Example:
        >>> from advisor.records import LossId, MetricId
        >>> tied = {LossId.MSE: [1.0, 1.3, 0.9, 1.2], LossId.HUBER: [0.9, 1.2, 1.0, 1.1]}
        >>> prior_overrides_leader(tied, list(tied), prior=list(tied), metric=MetricId.RMSE,
        ...                        maximize=False)
        True
        >>> close = {LossId.MSE: [1.0, 1.3, 0.9, 1.2], LossId.HUBER: [0.99, 1.3, 0.9, 1.2]}
        >>> prior_overrides_leader(close, list(close), prior=list(close), metric=MetricId.RMSE,
        ...                        maximize=False)
        False
    """
    results = [candidate_result(loss, ({}, 0.0), list(scores[loss])) for loss in live]
    decision = decide(results, prior=prior, metric=metric, maximize=maximize)
    if decision.verdict is not Verdict.TIE or decision.comparison is None:
        return False
    chosen = next(r for r in results if r.loss is decision.chosen)
    return decision.comparison.difference >= EQUIVALENCE * abs(chosen.mean)


def plan_race(
    finalists: Sequence[LossId],
    stored: Mapping[tuple[LossId, int], float],
    *,
    repeats: int,
    prior: Sequence[LossId],
    metric: MetricId,
    maximize: bool,
    rounds: Mapping[int, int] | None = None,
    afford: Callable[[int], int] = lambda live: MAX_REPEATS,
) -> RacePlan:
    """Replay the race on the stored scores; say what is decided and what the round needs.

    Args:
        finalists: the losses in the race, in the shortlist's order.
        stored: score of each (loss, split) run stored so far (NaN for a run that diverged).
        repeats: splits of the first round (the rules' setting, at least MIN_REPEATS).
        rounds: split count each round was given when it started, by its first split minus
            one; a round in progress keeps its count, whatever time is left now.
        afford: how many splits a new round of that many contenders can still pay for.
    """
    rounds = rounds or {}
    scores: dict[LossId, list[float]] = {loss: [] for loss in finalists}
    live = list(finalists)
    done = 0
    while done < MOST_REPEATS:
        if done == 0:
            count = len(first_round(repeats))
        else:
            racing = contenders(scores, live, prior=prior, metric=metric, maximize=maximize)
            if len(racing) < 2:
                break  # decided: the last round's contenders all keep every split they ran
            live = racing
            extra = done >= MAX_REPEATS
            if extra and not prior_overrides_leader(
                scores, live, prior=prior, metric=metric, maximize=maximize
            ):
                break  # open, but the splits agree with the choice, or the lead is too small
            size = EXTRA_ROUND_SPLITS if extra else ROUND_SPLITS
            rest = (MOST_REPEATS if extra else MAX_REPEATS) - done
            count = rest if rest < 2 * size else size  # a smaller remainder joins the round
            if done in rounds:
                count = min(count, rounds[done])
            elif not all(
                (loss, s) in stored for loss in live for s in range(done + 1, done + count + 1)
            ):
                count = min(count, afford(len(live)))
            if count < 1:
                break
        needed = tuple((loss, s) for s in range(done + 1, done + count + 1) for loss in live)
        if any(key not in stored for key in needed):
            return RacePlan(
                scores=scores,
                live=live,
                done=done,
                round_start=done,
                needed=needed,
                finished=False,
            )
        for split in range(done + 1, done + count + 1):
            for loss in live:
                scores[loss].append(stored[(loss, split)])
        done += count
    return RacePlan(scores=scores, live=live, done=done, round_start=done, needed=(), finished=True)
