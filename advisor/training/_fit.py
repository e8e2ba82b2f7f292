"""Short, batched training runs: K (loss, hyper-parameter) members trained in lockstep.

Training knows nothing of Optuna: it takes plain members and a ``should_stop(member, step,
score)`` callback (which the search wires to ``trial.report`` / ``trial.should_prune``).
Each member is judged on the validation rows by a loss-independent metric, keeps its best
score (early stopping: validation, never training loss) and the predictions that scored it.
The active members of one loss id share its encoded target and one stacked loss call per step
(``stacked_loss``), whether the stack holds one member or many.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F  # noqa: N812 - the universal torch idiom

from advisor.losses import (
    LossContext,
    StackedLoss,
    build_context,
    fit_target,
    output_size,
    padded_rows,
    stacked_loss,
)
from advisor.records import LossId, MetricId, Task
from advisor.training._metrics import metric_direction
from advisor.training._model import ModelFactory, StackedModel
from advisor.training._optim import StackedAdamW
from advisor.training._scorer import ValidationScorer

__all__ = ["FitSettings", "MemberResult", "MemberSpec", "TrainingData", "fit_short"]

ShouldStop = Callable[[int, int, float], bool]
SMALL_STEP_ROWS = 512


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class MemberSpec:
    """One short run: which loss, its parameters, its learning rate and its init seed."""

    loss: LossId
    params: Mapping[str, Any]
    lr: float = 3e-3
    seed: int = 0


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TrainingData:
    """Encoded features and canonical targets of one train/validation split."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    task: Task
    n_classes: int
    metric: MetricId
    quantile: float = 0.5
    x_test: np.ndarray | None = None  # benchmarks: also predict these rows at the best step


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class FitSettings:
    max_steps: int = 600
    batch_size: int = 256
    eval_every: int = 25
    patience: int = 6
    weight_decay: float = 1e-4
    device: str = "cpu"
    # None: one thread when a step is small (members x batch rows < 512: splitting it across
    # threads costs more than it saves), else torch's default. Measured on 2 cores, ReLU MLP,
    # ms per step with 1 vs 2 threads: 1 x 256 rows 0.88 vs 0.93; 1 x 512 rows 1.19-1.40 vs
    # 1.10-1.34 (three runs); 8 x 64 rows 2.50 vs 2.13.
    cpu_threads: int | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class MemberResult:
    score: float
    best_step: int
    steps: int
    pruned: bool
    prediction: np.ndarray | None
    history: tuple[tuple[int, float], ...]
    test_prediction: np.ndarray | None = None
    cut: bool = False  # the deadline ended it while it was still improving: a partial score


class _Member:
    """Per-member state during a run: target encoding, head width, best so far."""

    def __init__(self, spec: MemberSpec, data: TrainingData, context: LossContext) -> None:
        self.spec = spec
        self.transform = fit_target(spec.loss, data.y_train, context=context)
        self.width = output_size(spec.loss, data.n_classes)
        self.active = True
        self.pruned = False
        self.best = math.nan
        self.best_step = 0
        self.prediction: np.ndarray | None = None
        self.test_prediction: np.ndarray | None = None
        self.history: list[tuple[int, float]] = []
        self.since_best = 0


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class _Block:
    """The active members whose heads have one width: one gather, then one loss call per id.

    One ``index_select`` (and one backward) for the whole block costs less than one per loss
    id, and the split chunks are contiguous, laid out as each member's would be alone.
    """

    width: int
    index: torch.Tensor | None  # stack positions, grouped by loss id; None: all, in stack order
    losses: tuple[LossId, ...]
    sizes: tuple[int, ...]
    loss_fns: tuple[StackedLoss, ...]

    def split(self, outputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Each loss id's members' outputs (G, rows, width), from the stack's (K, rows, any)."""
        if self.index is not None:
            narrow = outputs if self.width == outputs.shape[-1] else outputs[:, :, : self.width]
            outputs = narrow.index_select(0, self.index)
        return outputs.split(self.sizes) if len(self.sizes) > 1 else (outputs,)


def _blocks(
    states: Sequence[_Member],
    stack: Sequence[int],
    context: LossContext,
    *,
    width: int,
    device: torch.device,
) -> list[_Block]:
    """Group the stacked members by head width, then by loss id (rebuilt when one stops).

    ``stack`` lists the state index at each stack position; every one of them is active.
    """
    by_width: dict[int, dict[LossId, list[int]]] = {}
    for position, index in enumerate(stack):
        state = states[index]
        by_width.setdefault(state.width, {}).setdefault(state.spec.loss, []).append(position)
    blocks = []
    for block_width, by_loss in by_width.items():
        order = [position for positions in by_loss.values() for position in positions]
        everyone = block_width == width and order == list(range(len(stack)))
        blocks.append(
            _Block(
                width=block_width,
                index=None if everyone else torch.tensor(order, device=device),
                losses=tuple(by_loss),
                sizes=tuple(len(positions) for positions in by_loss.values()),
                loss_fns=tuple(
                    stacked_loss(
                        loss, [states[stack[p]].spec.params for p in positions], context=context
                    ).to(device)
                    for loss, positions in by_loss.items()
                ),
            )
        )
    return blocks


def _better(new: float, old: float, maximize: bool) -> bool:
    if math.isnan(new):
        return False
    if math.isnan(old):
        return True
    return new > old if maximize else new < old


def fit_short(
    members: Sequence[MemberSpec],
    data: TrainingData,
    *,
    settings: FitSettings = FitSettings(),
    data_seed: int = 0,
    should_stop: ShouldStop | None = None,
    factory: ModelFactory | None = None,
    deadline: float | None = None,
) -> list[MemberResult]:
    """Train every member at once; return each one's best validation score and predictions.

    Args:
        members: the runs to make; each has its own loss, parameters, rate and init seed.
        data: one split's encoded features and canonical targets.
        settings: step budget, batch size, evaluation cadence, early-stopping patience.
        data_seed: seeds the minibatch order, shared by all members (a fair comparison).
        should_stop: asked after each evaluation; True stops (prunes) that member.
        factory: builds the network from (n_inputs, n_outputs); default: a small MLP.
        deadline: a ``time.monotonic()`` instant after which the run ends where it is.
    """
    threads = torch.get_num_threads()
    if torch.device(settings.device).type == "cpu":
        small = len(members) * settings.batch_size < SMALL_STEP_ROWS
        torch.set_num_threads(settings.cpu_threads or (1 if small else threads))
    try:
        return _fit(
            members,
            data,
            settings=settings,
            data_seed=data_seed,
            should_stop=should_stop,
            factory=factory,
            deadline=deadline,
        )
    finally:
        torch.set_num_threads(threads)


def _fit(
    members: Sequence[MemberSpec],
    data: TrainingData,
    *,
    settings: FitSettings,
    data_seed: int,
    should_stop: ShouldStop | None,
    factory: ModelFactory | None,
    deadline: float | None,
) -> list[MemberResult]:
    device = torch.device(settings.device)
    maximize = metric_direction(data.metric) == "maximize"
    context = build_context(data.y_train, task=data.task, n_classes=data.n_classes)
    states = [_Member(spec, data, context) for spec in members]
    # fit_target depends on the loss id and the training target only: one encoding per loss id
    transforms = {state.spec.loss: state.transform for state in states}
    encoded = {
        loss: transform.encode(data.y_train).to(device) for loss, transform in transforms.items()
    }
    width = max(state.width for state in states)
    model = StackedModel(
        [spec.seed for spec in members],
        n_inputs=data.x_train.shape[1],
        n_outputs=width,
        widths=[state.width for state in states],
        factory=factory,
        device=device,
    )
    optimizer = StackedAdamW(
        model.parameters(), [spec.lr for spec in members], weight_decay=settings.weight_decay
    )
    x_train = torch.as_tensor(data.x_train, dtype=torch.float32, device=device)
    x_val = torch.as_tensor(data.x_val, dtype=torch.float32, device=device)
    x_test = (
        None
        if data.x_test is None
        else torch.as_tensor(data.x_test, dtype=torch.float32, device=device)
    )
    n_rows = x_train.shape[0]
    batch = min(settings.batch_size, n_rows)
    # the stacked losses compute whole blocks of rows (see stacked_loss): the outputs are
    # padded once per step here, the targets once per epoch, not in every loss call
    padding = padded_rows(batch) - batch
    generator = torch.Generator().manual_seed(int(data_seed))

    def shuffled() -> tuple[torch.Tensor, dict[LossId, torch.Tensor]]:
        """An epoch's rows in a new random order: one gather, then each step a plain slice.

        Each target gets ``padding`` more rows, copies of its first, which every loss accepts.
        """
        order = torch.randperm(n_rows, generator=generator).to(device)
        return x_train[order], {
            loss: torch.cat([target[order], target[order[:1]].expand(padding, *target.shape[1:])])
            for loss, target in encoded.items()
        }

    x_epoch, targets = shuffled()
    cursor = 0
    step = 0
    # the state index at each stack position: members that stop leave the stack, so that they
    # no longer cost compute (a member's numbers do not depend on its stack)
    stack = list(range(len(states)))
    scorer = ValidationScorer(
        data.metric, data.y_val, task=data.task, n_classes=data.n_classes, quantile=data.quantile
    )

    def evaluate(at_step: int) -> None:
        with torch.no_grad():
            outputs = model(x_val)
            test_outputs = model(x_test) if x_test is not None else None
        for position, index in enumerate(stack):
            state = states[index]
            prediction = state.transform.predict(outputs[position, :, : state.width].cpu())
            score = scorer(prediction)
            state.history.append((at_step, score))
            if _better(score, state.best, maximize):
                state.best, state.best_step, state.prediction = score, at_step, prediction
                if test_outputs is not None:
                    state.test_prediction = state.transform.predict(
                        test_outputs[position, :, : state.width].cpu()
                    )
                state.since_best = 0
            else:
                state.since_best += 1
            stop = state.since_best > settings.patience or math.isnan(score)
            if not stop and should_stop is not None and should_stop(index, at_step, score):
                state.pruned = stop = True
            if stop:
                state.active = False

    blocks = _blocks(states, stack, context, width=width, device=device)
    cut = False
    while step < settings.max_steps and stack:
        if deadline is not None and time.monotonic() > deadline and step > 0:
            cut = True
            break
        if cursor + batch > n_rows:
            x_epoch, targets = shuffled()
            cursor = 0
        rows = slice(cursor, cursor + batch)
        target_rows = slice(cursor, cursor + batch + padding)
        cursor += batch
        outputs = model(x_epoch[rows])
        if padding:
            outputs = F.pad(outputs, (0, 0, 0, padding))
        terms = [
            loss_fn(chunk, targets[loss][target_rows], batch)
            for block in blocks
            for loss, loss_fn, chunk in zip(
                block.losses, block.loss_fns, block.split(outputs), strict=True
            )
        ]
        optimizer.zero_grad()
        torch.cat(terms).sum().backward()
        optimizer.step()
        step += 1
        if step % settings.eval_every == 0 or step == settings.max_steps:
            evaluate(step)
            keep = [position for position, index in enumerate(stack) if states[index].active]
            if len(keep) < len(stack) and keep:
                model.keep(keep)
                optimizer = optimizer.kept(keep, model.parameters())
                stack = [stack[position] for position in keep]
                blocks = _blocks(states, stack, context, width=width, device=device)
            elif not keep:
                stack = []
    if not any(state.history for state in states):
        evaluate(step)
    return [
        MemberResult(
            score=state.best,
            best_step=state.best_step,
            steps=state.history[-1][0] if state.history else step,
            pruned=state.pruned,
            cut=cut and state.active,
            prediction=state.prediction,
            history=tuple(state.history),
            test_prediction=state.test_prediction,
        )
        for state in states
    ]
