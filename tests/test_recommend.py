"""The job's own logic (advisor/_recommend.py): what the metric implies about the task."""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd
import pytest

from advisor._recommend import (
    MIN_SEARCH_S,
    REPORT_RESERVE_S,
    profile_for_metric,
    search_budget,
)


def _scale_table(levels: int = 3, n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    x = rng.normal(size=n)
    y = np.clip(np.round(x + rng.normal(size=n) * 0.5) + 2, 1, levels).astype(int)
    return pd.DataFrame({"x": x, "z": rng.normal(size=n), "opinion": y})


def _profile(frame, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return profile_for_metric(frame, target="opinion", **kwargs)


def test_three_levels_read_as_classes_with_ordinal_as_the_alternative():
    profile = _profile(_scale_table(), task=None, metric=None)
    assert profile.task.value == "multiclass"
    assert "ordinal" in [a.task.value for a in profile.alternatives]


@pytest.mark.parametrize("metric", ["mae_index", "qwk"])
def test_an_ordinal_metric_makes_the_classes_ordered(metric):
    profile = _profile(_scale_table(), task=None, metric=metric)
    assert profile.task.value == "ordinal"
    assert profile.classes == ("1", "2", "3")
    assert f"--metric {metric}" in profile.target_detection


@pytest.mark.parametrize("metric", [None, "accuracy", "balanced_accuracy"])
def test_other_metrics_leave_the_detection_alone(metric):
    assert _profile(_scale_table(), task=None, metric=metric).task.value == "multiclass"


def test_an_explicit_task_wins_over_the_metric():
    profile = _profile(_scale_table(), task="multiclass", metric="mae_index")
    assert profile.task.value == "multiclass"


def test_string_categories_are_not_made_ordinal():
    # no ordinal alternative for unordered names: the metric cannot order them
    frame = _scale_table()
    frame["opinion"] = frame["opinion"].map({1: "red", 2: "green", 3: "blue"})
    profile = _profile(frame, task=None, metric="mae_index")
    assert profile.task.value == "multiclass"


def test_the_search_gets_what_the_job_left_less_the_reserve():
    now = time.monotonic()
    left = search_budget(60.0, started=now - 20.0)
    assert 60.0 - 20.0 - REPORT_RESERVE_S - 1.0 < left <= 60.0 - 20.0 - REPORT_RESERVE_S
    # a job whose reading outran its budget still measures something, briefly
    assert search_budget(60.0, started=now - 75.0) == MIN_SEARCH_S


# --------------------------------------------------------------------------- the phrasing


def _binary_table(positive_share: float = 0.35, n: int = 200) -> pd.DataFrame:
    """A binary table whose imbalance fires the rule that sets focal's alpha from the prior."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(n, 2))
    y = (np.arange(n) < positive_share * n).astype(int)
    return pd.DataFrame({"a": x[:, 0] + y, "b": x[:, 1], "label": y})


def _searched(advice, loss, params, *, other):
    """``advice``'s job re-phrased as if the search had picked ``loss`` with ``params``."""
    from advisor.records import CandidateResult, Comparison, Decision, SearchResult, Verdict

    comparison = Comparison(
        best=loss,
        other=other,
        difference=0.05,
        difference_std=0.01,
        p_value=0.01,
        significant=True,
        statement=f"{loss.value} beats {other.value}",
    )
    results = tuple(
        CandidateResult(
            loss=c.loss,
            params={**(params if c.loss is loss else dict(c.params)), "lr": 0.003},
            mean=0.9,
            std=0.01,
            n=3,
            scores=(0.9, 0.91, 0.89),
        )
        for c in advice.shortlist.candidates
    )
    search = SearchResult(
        metric=advice.shortlist.metric,
        direction="maximize",
        budget_s=5.0,
        elapsed_s=1.0,
        trials=4,
        storage="in-memory",
        study_name="s",
        results=results,
        comparison=comparison,
    )
    decision = Decision(
        chosen=loss,
        verdict=Verdict.SIGNIFICANT,
        confidence=0.99,
        label="high",
        metric=advice.shortlist.metric,
        splits=3,
        equivalence=0.005,
        comparison=comparison,
    )
    return search, decision


def _snippet_loss(code: str):
    namespace: dict = {}
    exec(code, namespace)  # the snippet is the product: it must run as printed
    return namespace["loss_fn"]


def _same_loss(snippet: str, module, output, target) -> None:
    import torch

    with torch.no_grad():
        expected = module(output, target)
        assert torch.allclose(_snippet_loss(snippet)(output, target), expected, rtol=1e-6)


def test_a_parameter_the_search_tuned_is_told_as_proposed_and_as_tuned():
    import torch

    from advisor._recommend import recommend, recommendation_from
    from advisor.losses import build_context, build_loss
    from advisor.profiling import split_xy
    from advisor.records import LossId

    frame = _binary_table()
    plain = recommend(frame, target="label", search=False)
    focal = next(c for c in plain.shortlist.candidates if c.loss is LossId.FOCAL)
    proposed = focal.params["alpha"]
    assert proposed == pytest.approx(0.65, abs=0.01)  # 1 - positive rate, from the rule
    search, decision = _searched(
        plain, LossId.FOCAL, {"gamma": 2.0, "alpha": 0.12590893}, other=LossId.BCE
    )
    rec = recommendation_from(frame, plain.profile, plain.shortlist, search, decision)
    assert rec.params == {"gamma": 2.0, "alpha": 0.1259}
    quoted = [line for line in rec.rationale if "alpha" in line and "positive rate" in line]
    assert len(quoted) == 1
    assert f"the rule proposed alpha={proposed:g}" in quoted[0]
    assert "the search tuned it to alpha=0.1259" in quoted[0]
    # the snippet writes the recommended alpha, never the rule's, and computes build_loss's loss
    assert "0.1259" in rec.pytorch and f"{proposed:g}" not in rec.pytorch
    _, y = split_xy(frame, plain.profile)
    context = build_context(y, task=plain.profile.task)
    target = torch.as_tensor(y[:50], dtype=torch.float32)
    output = torch.randn(50, 1, generator=torch.Generator().manual_seed(0))
    _same_loss(rec.pytorch, build_loss(rec.loss, rec.params, context=context), output, target)


def test_a_parameter_no_rule_set_is_told_when_the_search_moved_it():
    from advisor._recommend import recommend, recommendation_from
    from advisor.records import LossId

    frame = _binary_table()
    plain = recommend(frame, target="label", search=False)
    focal = next(c for c in plain.shortlist.candidates if c.loss is LossId.FOCAL)
    search, decision = _searched(
        plain,
        LossId.FOCAL,
        {"gamma": 3.902645881, "alpha": focal.params["alpha"]},
        other=LossId.BCE,
    )
    rec = recommendation_from(frame, plain.profile, plain.shortlist, search, decision)
    assert rec.params["gamma"] == 3.9026
    assert "the search tuned focal gamma from its default 2 to 3.9026" in rec.rationale
    # alpha kept the rule's value: its line is the rule's own, with no "tuned"
    assert not [line for line in rec.rationale if "tuned it to alpha" in line]


def test_the_learning_rate_reads_as_the_search_table_gives_it():
    import dataclasses

    from rich.console import Console

    from advisor._recommend import recommend, recommendation_from
    from advisor.records import LossId
    from advisor.report import render_search

    frame = _binary_table()
    plain = recommend(frame, target="label", search=False)
    focal = next(c for c in plain.shortlist.candidates if c.loss is LossId.FOCAL)
    search, decision = _searched(plain, LossId.FOCAL, dict(focal.params), other=LossId.BCE)
    results = tuple(
        dataclasses.replace(r, params={**r.params, "lr": 0.0081962}) for r in search.results
    )
    search = dataclasses.replace(search, results=results)
    rec = recommendation_from(frame, plain.profile, plain.shortlist, search, decision)
    assert "best learning rate in the short runs (AdamW): 0.008196" in rec.rationale
    console = Console(record=True, width=200, color_system=None)
    console.print(render_search(search))
    assert "lr=0.008196" in console.export_text()  # the search table: the same 4 digits


def test_rules_only_says_nothing_was_tuned():
    from advisor._recommend import recommend
    from advisor.records import LossId

    frame = _binary_table()
    rec = recommend(frame, target="label", search=False, objective="minority-recall")
    rec = rec.recommendation
    assert not [line for line in rec.rationale if "tuned" in line]
    if rec.loss is LossId.FOCAL:
        assert rec.params["alpha"] == pytest.approx(0.65, abs=0.01)


def test_a_rule_that_lowered_the_chosen_loss_is_said_to_count_against_it():
    from advisor._recommend import recommend, recommendation_from
    from advisor.records import EffectKind, LossId

    rng = np.random.default_rng(0)
    x = rng.normal(size=300)
    frame = pd.DataFrame({"x": x, "amount": np.exp(1.5 * x + rng.normal(size=300)) * 10})
    plain = recommend(frame, target="amount", search=False)
    mse = next(c for c in plain.shortlist.candidates if c.loss is LossId.MSE)
    lowered = [r.text for r in mse.reasons if r.effect.kind is EffectKind.LOWER]
    assert lowered, "the skewed-target rule lowers mse"
    search, decision = _searched(plain, LossId.MSE, {}, other=plain.shortlist.losses[0])
    rec = recommendation_from(frame, plain.profile, plain.shortlist, search, decision)
    for text in lowered:
        assert f"counts against mse: {text}" in rec.rationale
        assert text not in rec.rationale  # never as a reason for it


def test_a_small_parameter_keeps_its_digits_and_the_snippet_builds_it():
    import torch

    from advisor._recommend import recommend
    from advisor.records import LossId

    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 2))
    y = (2 * x[:, 0] + rng.normal(scale=0.3, size=200)) * 1e-4  # a target in ten-thousandths
    y[:20] += 30e-4
    frame = pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "y": y})
    advice = recommend(frame, target="y", search=False, objective="robust")
    rec = advice.recommendation
    assert rec.loss is LossId.HUBER
    delta = advice.shortlist.candidates[0].params["delta"]
    assert rec.params["delta"] == delta != round(delta, 4)  # 0.0003132, not 0.0003
    output = torch.randn(40, 1, generator=torch.Generator().manual_seed(1))
    target = advice.encode_target(y[:40])
    _same_loss(rec.pytorch, advice.build_loss(), output, target)
