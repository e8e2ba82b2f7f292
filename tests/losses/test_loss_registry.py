"""Custom losses: registered from Python or an entry point, named by rules, trained, listed.

Every test leaves ``LossId`` and the catalog as it found them (the autouse fixture checks it),
since a registered id joins the enum that the rest of the suite iterates over.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib.metadata
import json
import math
import os
import pickle
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from torch import nn

import advisor
from advisor.cli import main
from advisor.errors import RuleError, UsageError
from advisor.losses import (
    EachMember,
    LossContext,
    _registry,
    build_context,
    build_loss,
    fit_target,
    get_loss,
    load_catalog,
    losses_for,
    pytorch_snippet,
    register,
    stacked_loss,
    unregister,
)
from advisor.losses._catalog import BUILTIN_IDS, TORCH_LOSSES
from advisor.records import Candidate, LossId, MetricId, Task
from advisor.selection import load_rules, parse_rules
from advisor.training import FitSettings, MemberSpec, TrainingData, fit_short

ROOT = Path(__file__).resolve().parents[2]
LINE = re.compile(r"^(?P<source>[^:]+):(?P<id>[^:]+):(?P<field>[^:]+): (?P<message>.+)$")


class SquaredError(nn.Module):
    """MSE as a team would write it: must train exactly as the built-in ``mse`` does."""

    def __init__(self, scale: float = 1.0) -> None:
        super().__init__()
        self.scale = scale

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.scale * ((output.squeeze(-1) - target) ** 2).mean()


class Asymmetric(nn.Module):
    """Squared error that costs ``over`` times more when the prediction is too high."""

    def __init__(self, over: float = 2.0) -> None:
        super().__init__()
        self.over = over

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        error = output.squeeze(-1) - target
        return torch.where(error > 0, self.over * error**2, error**2).mean()


def scaled_by_context(scale: float = 1.0, *, context: LossContext) -> nn.Module:
    """A factory that needs the data: a delta in target units, as Huber's."""
    return nn.HuberLoss(delta=scale / context.target_scale)


SQUARED = {
    "tasks": ["regression"],
    "head": "score",
    "target": "standardize",
    "summary": "Squared error times a constant.",
    "simplicity": 2,
    "params": [{"name": "scale", "default": 1.0, "low": 0.5, "high": 2.0}],
}
ASYMMETRIC = {
    "tasks": ["regression", "regression_positive"],
    "head": "score",
    "target": "standardize",
    "summary": "Squared error, over-prediction costs more.",
    "simplicity": 3,
    "params": [{"name": "over", "default": 2.0, "low": 1.0, "high": 4.0}],
}


@pytest.fixture(autouse=True)
def _leaves_the_catalog_as_found():
    yield
    assert list(LossId) == list(BUILTIN_IDS), "a test left a registered loss behind"
    assert list(load_catalog()) == list(BUILTIN_IDS)


@pytest.fixture
def squared():
    loss = register("team_squared", SquaredError, **SQUARED)
    yield loss
    unregister(loss)


@pytest.fixture
def asymmetric():
    loss = register("team_asymmetric", Asymmetric, **ASYMMETRIC)
    yield loss
    unregister(loss)


# --------------------------------------------------------------------------- LossId


def test_a_registered_id_is_a_member_like_the_spec_ones(squared: LossId) -> None:
    assert squared is LossId.TEAM_SQUARED is LossId("team_squared") is LossId["TEAM_SQUARED"]
    assert isinstance(squared, LossId) and squared.value == "team_squared"
    assert squared == "team_squared" and str(squared) == f"{squared}" == "team_squared"
    assert repr(squared) == "<LossId.TEAM_SQUARED: 'team_squared'>"
    assert list(LossId)[-1] is squared and len(LossId) == len(BUILTIN_IDS) + 1
    assert squared in LossId and "team_squared" in LossId.__members__.values()
    assert {squared: 1}["team_squared"] == 1
    assert json.dumps({squared: squared}) == '{"team_squared": "team_squared"}'
    document = Candidate(loss=squared, params={}, score=1.0).to_dict()
    assert type(document["loss"]) is str and document["loss"] == "team_squared"


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_a_registered_id_pickles_and_copies_to_itself(squared: LossId, protocol: int) -> None:
    assert pickle.loads(pickle.dumps(squared, protocol=protocol)) is squared
    assert pickle.loads(pickle.dumps(LossId.MSE, protocol=protocol)) is LossId.MSE
    assert copy.copy(squared) is squared and copy.deepcopy(squared) is squared


def test_unregister_removes_the_member_everywhere() -> None:
    loss = register("team_gone", SquaredError, **SQUARED)
    unregister(loss)
    assert not hasattr(LossId, "TEAM_GONE") and "TEAM_GONE" not in LossId.__members__
    assert "team_gone" not in [loss.value for loss in LossId]
    with pytest.raises(UsageError, match=r"unknown loss id 'team_gone'"):
        LossId("team_gone")
    again = register("team_gone", Asymmetric, **ASYMMETRIC)  # the id is free again
    assert get_loss(again).summary == ASYMMETRIC["summary"]
    unregister(again)


def test_spec_losses_cannot_be_unregistered() -> None:
    with pytest.raises(UsageError, match=r"'mse' is a built-in loss"):
        unregister("mse")


def test_an_unknown_id_raises_with_a_suggestion() -> None:
    with pytest.raises(UsageError, match=r"^unknown loss id 'hubber'; did you mean 'huber'\?$"):
        LossId("hubber")
    with pytest.raises(UsageError, match=r"unknown loss id 'zzz'; expected one of mse, mae"):
        LossId("zzz")
    with pytest.raises(ValueError, match=r"3 is not a valid LossId"):
        LossId(3)


def test_a_registered_id_is_suggested(squared: LossId) -> None:
    with pytest.raises(UsageError, match=r"did you mean 'team_squared'\?"):
        get_loss("team_sqared")


# --------------------------------------------------------------------------- catalog entry


def test_the_catalog_lists_a_registered_loss_after_the_spec_ones(squared: LossId) -> None:
    catalog = load_catalog()
    assert list(catalog) == [*BUILTIN_IDS, squared] == list(LossId)
    spec = get_loss("team_squared")
    assert spec.id is squared and spec.source == "register"
    assert spec.tasks == (Task.REGRESSION,) and spec.defaults() == {"scale": 1.0}
    assert squared in [s.id for s in losses_for(Task.REGRESSION)]
    assert squared not in [s.id for s in losses_for(Task.BINARY)]
    assert load_catalog() is catalog  # cached until the next change


def test_registering_renews_the_cached_catalog() -> None:
    before = load_catalog()
    loss = register("team_fresh", SquaredError, **SQUARED)
    try:
        assert load_catalog() is not before and loss in load_catalog()
    finally:
        unregister(loss)
    assert loss not in load_catalog()


def problem_lines(error: pytest.ExceptionInfo[RuleError]) -> list[str]:
    header, *lines = str(error.value).splitlines()
    assert re.fullmatch(r"cannot register loss '.*' \(\d+ problems?\):", header), header
    for line in lines:
        assert LINE.match(line), line
    return lines


@pytest.mark.parametrize(
    ("loss_id", "module", "overrides", "expected"),
    [
        ("mse", SquaredError, {}, "register:mse:id: 'mse' is already a loss id (from the SPEC)"),
        ("Team Loss", SquaredError, {}, "register:Team Loss:id: 'Team Loss' is not a loss id"),
        (
            "team_x",
            SquaredError,
            {"tasks": ["regresion"]},
            "register:team_x:tasks: unknown task 'regresion'; did you mean 'regression'?",
        ),
        (
            "team_x",
            SquaredError,
            {"head": "scor"},
            "register:team_x:head: unknown head kind 'scor'; did you mean 'score'?",
        ),
        (
            "team_x",
            SquaredError,
            {"target": "zscore"},
            "register:team_x:target: unknown target kind 'zscore'; expected one of standardize",
        ),
        (
            "team_x",
            SquaredError,
            {"torch": "MSELos"},
            "register:team_x:torch: unknown torch.nn loss 'MSELos'; did you mean 'MSELoss'?",
        ),
        (
            "team_x",
            SquaredError,
            {"params": [{"name": "scale", "default": 1.0, "low": 2.0, "high": 0.5}]},
            "register:team_x:params.scale: low 2.0 must be below high 0.5",
        ),
        (
            "team_x",
            SquaredError,
            {"params": [{"name": "scale", "dfault": 1.0, "low": 0.5, "high": 2.0}]},
            "register:team_x:params.0.dfault: unknown field; did you mean 'default'?",
        ),
        (
            "team_x",
            SquaredError,
            {"params": [{"name": "scael", "default": 1.0, "low": 0.5, "high": 2.0}]},
            "register:team_x:params.scael: SquaredError takes no argument 'scael'; "
            "did you mean 'scale'?",
        ),
        (
            "team_x",
            Asymmetric,
            {"params": [{"name": "scale", "default": 1.0, "low": 0.5, "high": 2.0}]},
            "register:team_x:params.scale: Asymmetric takes no argument 'scale'",
        ),
        (
            "team_x",
            lambda scale, width: SquaredError(scale),
            {},
            "register:team_x:module: <lambda> requires 'width', which the loss's params do not",
        ),
        (
            "team_x",
            "SquaredError",
            {},
            "register:team_x:module: expected a torch.nn.Module class or a function",
        ),
        ("team_x", SquaredError, {"summary": ""}, "register:team_x:summary: String should have"),
        (
            "team_x",
            SquaredError,
            {"simplicity": -1},
            "register:team_x:simplicity: Input should be greater than or equal to 0",
        ),
        (
            "team_x",
            SquaredError,
            {"binary_form": {"head": "logit", "target": "binary_01"}},
            "register:team_x:binary_form.target: unknown target kind 'binary_01'; "
            "did you mean 'binary01'?",
        ),
    ],
)
def test_a_bad_registration_names_the_problem_and_adds_nothing(
    loss_id: str, module: Any, overrides: dict, expected: str
) -> None:
    before = load_catalog()
    with pytest.raises(RuleError) as error:
        register(loss_id, module, **{**SQUARED, **overrides})
    assert any(line.startswith(expected) for line in problem_lines(error)), str(error.value)
    assert list(LossId) == list(BUILTIN_IDS) and load_catalog() is before


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(RuleError, match=r"\(3 problems\)") as error:
        register(
            "team_x",
            SquaredError,
            **{**SQUARED, "tasks": ["regresion"], "head": "x", "target": "y"},
        )
    assert [LINE.match(line)["field"] for line in problem_lines(error)] == [
        "tasks",
        "head",
        "target",
    ]


def test_a_registered_id_cannot_be_registered_twice(squared: LossId) -> None:
    with pytest.raises(RuleError) as error:
        register("team_squared", Asymmetric, **ASYMMETRIC)
    assert problem_lines(error) == [
        "register:team_squared:id: 'team_squared' is already a loss id (from register)"
    ]


def test_context_is_reserved_for_the_loss_context() -> None:
    params = [{"name": "context", "default": 1.0, "low": 0.5, "high": 2.0}]
    with pytest.raises(RuleError, match=r"register:team_x:params.context: 'context' is reserved"):
        register("team_x", scaled_by_context, **{**SQUARED, "params": params})


def test_enums_and_param_specs_are_accepted() -> None:
    from advisor.losses import HeadKind, ParamSpec, TargetKind

    loss = register(
        "team_typed",
        SquaredError,
        tasks=(Task.REGRESSION, Task.ORDINAL),
        head=HeadKind.SCORE,
        target=TargetKind.STANDARDIZE,
        summary="typed",
        simplicity=1,
        params=(ParamSpec(name="scale", default=1.0, low=0.5, high=2.0, log=True),),
    )
    try:
        assert get_loss(loss).tasks == (Task.REGRESSION, Task.ORDINAL)
        assert get_loss(loss).params[0].log
    finally:
        unregister(loss)


# --------------------------------------------------------------------------- building, training


def regression_data(n: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype(np.float32)
    return x, x @ np.array([1.5, -2.0, 0.5, 0.0]) + rng.normal(scale=0.3, size=n) + 10.0


def test_build_loss_calls_the_module_with_its_params(asymmetric: LossId) -> None:
    module = build_loss(asymmetric, {"over": 3.0}, context=LossContext())
    assert isinstance(module, Asymmetric) and module.over == 3.0
    assert build_loss(asymmetric, None, context=LossContext()).over == 2.0
    with pytest.raises(UsageError, match=r"'team_asymmetric' has no parameter 'ovr'; did you"):
        build_loss(asymmetric, {"ovr": 3.0}, context=LossContext())
    with pytest.raises(UsageError, match=r"over=inf is not finite"):
        build_loss(asymmetric, {"over": math.inf}, context=LossContext())


def test_an_integer_parameter_reaches_the_module_as_an_int() -> None:
    class Power(nn.Module):
        def __init__(self, k: int = 2) -> None:
            super().__init__()
            self.k = k

    params = [{"name": "k", "default": 2, "low": 1, "high": 4, "type": "int"}]
    loss = register("team_power", Power, **{**SQUARED, "params": params})
    try:
        assert build_loss(loss, {}, context=LossContext()).k == 2
        module = build_loss(loss, {"k": 3.0}, context=LossContext())
        assert module.k == 3 and type(module.k) is int
    finally:
        unregister(loss)


def test_a_factory_taking_context_gets_the_data_summary() -> None:
    loss = register("team_huber", scaled_by_context, **SQUARED)
    try:
        _, y = regression_data()
        context = build_context(y, task=Task.REGRESSION)
        module = build_loss(loss, {"scale": 2.0}, context=context)
        assert isinstance(module, nn.HuberLoss)
        assert module.delta == pytest.approx(2.0 / context.target_scale)
    finally:
        unregister(loss)


def test_a_module_that_is_not_a_torch_module_is_refused_when_built() -> None:
    loss = register("team_bad", lambda scale=1.0: "not a module", **SQUARED)
    try:
        with pytest.raises(UsageError, match=r"'team_bad': .*<lambda>\(scale=1.0\) returned a str"):
            build_loss(loss, {}, context=LossContext())
    finally:
        unregister(loss)


def test_a_module_rejecting_its_params_is_named() -> None:
    def picky(scale: float = 1.0) -> nn.Module:
        raise ValueError(f"scale {scale} is not supported")

    loss = register("team_picky", picky, **SQUARED)
    try:
        with pytest.raises(UsageError, match=r"'team_picky': .*picky\(scale=1.0\) failed: scale"):
            build_loss(loss, {}, context=LossContext())
    finally:
        unregister(loss)


def test_the_stacked_fallback_is_each_member_s_own_module(asymmetric: LossId) -> None:
    _, y = regression_data()
    context = build_context(y, task=Task.REGRESSION)
    target = fit_target(asymmetric, y, context=context).encode(y)
    members = [{"over": 1.0}, {"over": 3.0}, {}]
    stacked = stacked_loss(asymmetric, members, context=context)
    assert isinstance(stacked, EachMember)
    output = torch.randn(len(members), len(y), 1, generator=torch.Generator().manual_seed(0))
    output.requires_grad_(True)
    values = stacked(output, target)
    assert values.shape == (3,)
    values.sum().backward()
    for index, params in enumerate(members):
        alone = output[index].detach().clone().requires_grad_(True)
        expected = build_loss(asymmetric, params, context=context)(alone, target)
        expected.backward()
        assert values[index].item() == pytest.approx(expected.item(), rel=1e-6)
        torch.testing.assert_close(output.grad[index], alone.grad)
    # only the real rows count: padding rows and their outputs are ignored
    padded = torch.cat([output.detach(), torch.full((3, 5, 1), 1e6)], dim=1)
    wider = torch.cat([target, torch.zeros(5)])
    torch.testing.assert_close(stacked(padded, wider, len(y)), values.detach())


def test_a_module_returning_per_row_losses_is_refused_in_training() -> None:
    class PerRow(nn.Module):
        def __init__(self, scale: float = 1.0) -> None:
            super().__init__()

        def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
            return (output.squeeze(-1) - target) ** 2

    loss = register("team_rows", PerRow, **SQUARED)
    try:
        stacked = stacked_loss(loss, [{}], context=LossContext())
        with pytest.raises(UsageError, match=r"returned shape \(4,\); .* scalar mean"):
            stacked(torch.zeros(1, 4, 1), torch.zeros(4))
    finally:
        unregister(loss)


def training_data() -> TrainingData:
    x, y = regression_data(240)
    return TrainingData(
        x_train=x[:192],
        y_train=y[:192],
        x_val=x[192:],
        y_val=y[192:],
        task=Task.REGRESSION,
        n_classes=0,
        metric=MetricId.MAE,
    )


def test_fit_short_trains_a_registered_loss_as_the_built_in_it_equals(squared: LossId) -> None:
    """``team_squared`` is MSE: trained by the generic fallback, it must follow the built-in
    ``mse``'s stacked kernel step for step (up to float rounding), alone and in a stack."""
    settings = FitSettings(max_steps=60, batch_size=64, eval_every=10, patience=100)
    data = training_data()
    members = [
        MemberSpec(loss=LossId.MSE, params={}, lr=3e-3, seed=0),
        MemberSpec(loss=squared, params={}, lr=3e-3, seed=0),
        MemberSpec(loss=squared, params={"scale": 2.0}, lr=3e-3, seed=1),
    ]
    builtin, custom, scaled = fit_short(members, data, settings=settings, data_seed=3)
    assert math.isfinite(custom.score) and custom.steps == 60
    assert custom.score == pytest.approx(builtin.score, rel=1e-4)
    np.testing.assert_allclose(custom.prediction, builtin.prediction, rtol=1e-4, atol=1e-4)
    first, last = custom.history[0][1], custom.history[-1][1]
    assert last < first  # it learned
    (alone,) = fit_short([members[2]], data, settings=settings, data_seed=3)
    assert alone.history == scaled.history  # a member does not depend on its stack


def team_rules(tmp_path: Path, loss: str) -> Path:
    """A team's rule file: its loss included above the calibrated family weights (MSE 5)."""
    path = tmp_path / "team.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "version": 1,
                "rules": [
                    {
                        "id": "team-prefers-its-loss",
                        "factor": "model_objective",
                        "when": [{"field": "task", "op": "eq", "value": "regression"}],
                        "effect": "include",
                        "losses": {loss: 8.0},
                        "why": "our forecasts must not over-predict",
                    },
                    {
                        "id": "team-tunes-its-loss",
                        "factor": "model_objective",
                        "effect": "set",
                        "params": {loss: {"over": 3.0}},
                        "why": "over-prediction costs three times more here",
                    },
                ],
            }
        ),
        encoding="utf-8",
    )
    return path


def test_rules_name_a_registered_loss(asymmetric: LossId, tmp_path: Path) -> None:
    path = team_rules(tmp_path, "team_asymmetric")
    rules = load_rules([path])
    assert rules[-2].losses == {asymmetric: 8.0}
    assert list(rules[-1].params) == [asymmetric]
    x, y = regression_data()
    frame = pd.DataFrame(x, columns=list("abcd")).assign(y=y)
    listed = advisor.shortlist(frame, target="y", rules=[path])
    top = listed.candidates[0]
    assert top.loss is asymmetric and top.params == {"over": 3.0}
    assert any(reason.rule == "team-prefers-its-loss" for reason in top.reasons)


def test_rules_naming_an_unregistered_loss_suggest_the_close_ones(squared: LossId, tmp_path):
    with pytest.raises(RuleError) as error:
        load_rules([team_rules(tmp_path, "team_squard")])
    assert (
        f"{tmp_path / 'team.yaml'}:team-prefers-its-loss:losses: unknown loss id 'team_squard'; "
        "did you mean 'team_squared'?"
    ) in str(error.value).splitlines()


@pytest.mark.slow
def test_recommend_shortlists_and_trains_a_registered_loss(asymmetric, tmp_path) -> None:
    x, y = regression_data(160)
    frame = pd.DataFrame(x, columns=list("abcd")).assign(y=y)
    advice = advisor.recommend(
        frame, target="y", rules=[team_rules(tmp_path, "team_asymmetric")], budget_s=3, seed=0
    )
    assert advice.shortlist.candidates[0].loss is asymmetric
    assert advice.search is not None
    (trained,) = [r for r in advice.search.results if r.loss is asymmetric]
    assert trained.n >= 1 and math.isfinite(trained.mean)
    assert any(o.loss is asymmetric for o in advice.search.outcomes)
    assert json.loads(json.dumps(advice.to_dict()))["shortlist"][0]["loss"] == "team_asymmetric"
    if advice.recommendation.loss is asymmetric:
        assert "Asymmetric(" in advice.recommendation.pytorch


def test_the_snippet_imports_and_builds_the_registered_module(asymmetric: LossId) -> None:
    _, y = regression_data()
    context = build_context(y, task=Task.REGRESSION)
    code = pytorch_snippet(asymmetric, {"over": 3.0}, context=context)
    assert f"from {Asymmetric.__module__} import Asymmetric" in code
    assert "loss_fn = Asymmetric(over=3.0)" in code
    namespace: dict = {}
    exec(compile(code, "<snippet>", "exec"), namespace)
    output = torch.randn(len(y), 1, generator=torch.Generator().manual_seed(0))
    target = fit_target(asymmetric, y, context=context).encode(y)
    expected = build_loss(asymmetric, {"over": 3.0}, context=context)(output, target)
    assert namespace["loss_fn"](output, target).item() == pytest.approx(expected.item())


def test_the_snippet_passes_the_context_to_a_factory_that_takes_it() -> None:
    loss = register("team_huber", scaled_by_context, **SQUARED)
    try:
        context = LossContext(n_rows=10, target_scale=2.5)
        code = pytorch_snippet(loss, {}, context=context)
        assert "from advisor.losses import LossContext" in code
        namespace: dict = {}
        exec(compile(code, "<snippet>", "exec"), namespace)
        assert namespace["loss_fn"].delta == pytest.approx(1.0 / 2.5)
    finally:
        unregister(loss)


# --------------------------------------------------------------------------- entry points


@dataclasses.dataclass
class FakeEntryPoint:
    """What ``importlib.metadata.entry_points(group=...)`` yields: a name, a value, ``load``."""

    name: str
    value: str
    target: Any
    group: str = "lossadvisor.losses"

    def load(self) -> Any:
        if isinstance(self.target, Exception):
            raise self.target
        return self.target


@pytest.fixture
def installed(monkeypatch):
    """Entry points of packages "installed" for one test; the registry has not loaded any."""
    points: list[FakeEntryPoint] = []
    calls: list[str] = []

    def entry_points(*, group: str) -> list[FakeEntryPoint]:
        calls.append(group)
        return [point for point in points if point.group == group]

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
    monkeypatch.setattr(_registry._State, "entry_point_problems", None)
    monkeypatch.setattr(_registry._State, "catalog", None)
    yield points, calls
    for loss in list(_registry._State.custom):
        unregister(loss)


def test_entry_points_load_once_lazily_on_first_use(installed) -> None:
    points, calls = installed
    points.append(
        FakeEntryPoint("team_asym", "team_losses:ASYMMETRIC", {"module": Asymmetric, **ASYMMETRIC})
    )
    assert calls == [] and "TEAM_ASYM" not in LossId.__members__
    loss = LossId("team_asym")  # an id not yet known loads them
    assert loss is LossId.TEAM_ASYM and get_loss(loss).source == "entry point team_asym"
    assert loss in load_catalog() and loss in [s.id for s in losses_for(Task.REGRESSION)]
    LossId("team_asym"), load_catalog(), get_loss("mse")
    assert calls == ["lossadvisor.losses"]


def test_an_entry_point_may_name_a_function_returning_the_entry(installed) -> None:
    points, _ = installed
    points.append(
        FakeEntryPoint("team_sq", "team_losses:entry", lambda: {"module": SquaredError, **SQUARED})
    )
    assert get_loss("team_sq").defaults() == {"scale": 1.0}
    assert isinstance(build_loss("team_sq", {}, context=LossContext()), SquaredError)


def test_a_catalog_read_while_entry_points_load_is_not_kept(installed) -> None:
    """A package that reads the catalog while it loads must not leave a cache that hides the
    entry points' problems from later calls."""
    points, _ = installed

    def entry() -> dict:
        load_catalog()  # reentrant: the entry points are loading
        return {"module": SquaredError, **{**SQUARED, "tasks": ["regresion"]}}

    points.append(FakeEntryPoint("team_bad", "x:entry", entry))
    for _ in range(2):
        with pytest.raises(RuleError, match=r"team_bad:tasks: unknown task 'regresion'"):
            load_catalog()


def test_the_catalog_load_also_loads_entry_points(installed) -> None:
    points, _ = installed
    points.append(FakeEntryPoint("team_sq", "x:y", {"module": SquaredError, **SQUARED}))
    assert [loss.value for loss in load_catalog()][-1] == "team_sq"


def test_rules_can_name_an_entry_point_loss_before_anything_else_loaded_it(installed, tmp_path):
    points, _ = installed
    points.append(FakeEntryPoint("team_asymmetric", "x:y", {"module": Asymmetric, **ASYMMETRIC}))
    rules = parse_rules(
        yaml.safe_load(team_rules(tmp_path, "team_asymmetric").read_text()), source="team.yaml"
    )
    assert rules[0].losses == {LossId.TEAM_ASYMMETRIC: 8.0}


def test_bad_entry_points_are_named_every_time(installed) -> None:
    points, _ = installed
    points += [
        FakeEntryPoint(
            "team_bad",
            "team_losses:BAD",
            {"module": SquaredError, **{**SQUARED, "tasks": ["regresion"]}},
        ),
        FakeEntryPoint("team_broken", "team_losses:GONE", ImportError("No module 'team_losses'")),
        FakeEntryPoint("team_class", "team_losses:Asymmetric", Asymmetric),
        FakeEntryPoint("team_nomodule", "team_losses:X", dict(SQUARED)),
        FakeEntryPoint("team_ok", "team_losses:OK", {"module": SquaredError, **SQUARED}),
    ]
    for _ in range(2):
        with pytest.raises(RuleError) as error:
            load_catalog()
        header, *lines = str(error.value).splitlines()
        assert "'lossadvisor.losses' entry points (4 problems)" in header
        assert lines == [
            "entry point team_bad:team_bad:tasks: unknown task 'regresion'; "
            "did you mean 'regression'?",
            "entry point team_broken:team_broken:module: cannot load 'team_losses:GONE': "
            "ImportError(\"No module 'team_losses'\")",
            "entry point team_class:team_class:entry: 'team_losses:Asymmetric' gave Asymmetric(); "
            "expected a mapping of register()'s keyword arguments, or a function returning one",
            "entry point team_nomodule:team_nomodule:module: missing: name the torch module or "
            "factory",
        ]
    assert "TEAM_OK" in LossId.__members__ and "TEAM_BAD" not in LossId.__members__


def test_an_entry_point_keyword_typo_is_suggested(installed) -> None:
    points, _ = installed
    entry = {"module": SquaredError, **SQUARED, "taks": SQUARED["tasks"]}
    del entry["tasks"]
    points.append(FakeEntryPoint("team_typo", "x:y", entry))
    with pytest.raises(RuleError) as error:
        load_catalog()
    assert "entry point team_typo:team_typo:taks: unknown field; did you mean 'tasks'?" in str(
        error.value
    )


def test_register_reports_a_clash_with_an_installed_id(installed) -> None:
    points, _ = installed
    points.append(FakeEntryPoint("team_sq", "x:y", {"module": SquaredError, **SQUARED}))
    with pytest.raises(RuleError, match=r"'team_sq' is already a loss id \(from entry point"):
        register("team_sq", Asymmetric, **ASYMMETRIC)


def test_lossadvisor_losses_lists_entry_point_losses(installed, capsys) -> None:
    points, _ = installed
    points.append(FakeEntryPoint("team_asym", "x:y", {"module": Asymmetric, **ASYMMETRIC}))
    assert main(["losses", "--json"]) == 0
    listed = {entry["id"]: entry for entry in json.loads(capsys.readouterr().out)}
    assert listed["team_asym"]["summary"] == ASYMMETRIC["summary"]
    assert main(["losses", "--task", "regression"]) == 0
    assert "team_asym" in capsys.readouterr().out


# --------------------------------------------------------------------------- torch-free


def test_the_catalog_and_the_rule_engine_load_without_torch() -> None:
    code = (
        "import sys\n"
        "import advisor.selection, advisor.losses._catalog, advisor.losses\n"
        "from advisor.losses import get_loss, load_catalog, losses_for, register, unregister\n"
        "from advisor.selection import load_rules\n"
        "load_catalog(); load_rules(); get_loss('huber'); losses_for('binary')\n"
        "class Loss:\n"
        "    def __init__(self, scale=1.0): pass\n"
        "register('team_x', Loss, tasks=['regression'], head='score', target='standardize',\n"
        "         summary='x', simplicity=1)\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
        "print('ok')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert done.returncode == 0 and done.stdout == "ok\n", done.stderr[-2000:]


def test_torch_loss_names_of_the_catalog_exist_in_torch() -> None:
    assert all(isinstance(getattr(nn, name), type) for name in TORCH_LOSSES)
    named = {spec.torch for spec in load_catalog().values()} - {None}
    assert named <= set(TORCH_LOSSES)


def test_an_installed_package_s_loss_reaches_the_cli_and_unpickles(tmp_path: Path) -> None:
    """A real distribution on the path (no monkeypatch): the entry point loads through
    ``importlib.metadata``; ``lossadvisor losses`` lists the loss, ``lossadvisor rules``
    accepts a rule file naming it, and a pickled id made elsewhere resolves in a fresh process."""
    (tmp_path / "team_losses.py").write_text(
        "import torch\n\n\n"
        "class Asymmetric(torch.nn.Module):\n"
        "    def __init__(self, over=2.0):\n"
        "        super().__init__()\n"
        "        self.over = over\n\n\n"
        f"ENTRY = {{'module': Asymmetric, **{ASYMMETRIC!r}}}\n",
        encoding="utf-8",
    )
    info = tmp_path / "team_losses-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: team-losses\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[lossadvisor.losses]\nteam_asymmetric = team_losses:ENTRY\n"
    )
    rules = team_rules(tmp_path, "team_asymmetric")
    loss = register("team_asymmetric", Asymmetric, **ASYMMETRIC)
    pickled = pickle.dumps(loss)
    unregister(loss)
    code = (
        "import pickle\n"
        "from advisor.cli import main\n"
        "from advisor.records import LossId\n"
        f"loss = pickle.loads({pickled!r})\n"
        "assert loss is LossId.TEAM_ASYMMETRIC, loss\n"
        "assert main(['losses', '--json']) == 0\n"
        f"assert main(['rules', '--rules', {str(rules)!r}, '--json']) == 0\n"
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    listed, rules_out = done.stdout.split("\n]\n", 1)
    catalog = {entry["id"]: entry for entry in json.loads(listed + "\n]")}
    assert catalog["team_asymmetric"]["summary"] == ASYMMETRIC["summary"]
    named = [rule for rule in json.loads(rules_out) if rule["id"] == "team-prefers-its-loss"]
    assert named[0]["losses"] == {"team_asymmetric": 8.0}
