"""Short, batched training runs: K (loss, hyper-parameter) members trained in lockstep.

Training knows nothing of Optuna: it takes plain members and a ``should_stop(member, step,
score)`` callback (which the search wires to ``trial.report`` / ``trial.should_prune``).
Each member is judged on the validation rows by a loss-independent metric, keeps its best
score (early stopping: validation, never training loss) and the predictions that scored it.
The active members of one loss id share its encoded target and one stacked loss call per step
(``stacked_loss``), whether the stack holds one member or many.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
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
from advisor.training._model import ModelFactory, StackedModel, _seeded, default_mlp
from advisor.training._optim import StackedAdamW
from advisor.training._scorer import ValidationScorer

__all__ = [
    "FitSettings",
    "MemberResult",
    "MemberSpec",
    "TrainingData",
    "fit_short",
    "fit_splits",
]

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
    # return each member's network at its best validation step in ``MemberResult.model``
    # (estimators that predict later need it; the search does not, so it pays nothing)
    keep_model: bool = False


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
    # with ``FitSettings.keep_model``: the member's network at its best step (its first
    # evaluated one if no score was finite), as wide as the widest member, its head first
    model: torch.nn.Module | None = None


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
        self.checkpoint: dict[str, torch.Tensor] | None = None


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
    split_of: Sequence[int],
    split: int,
) -> list[_Block]:
    """Group one split's stacked members by head width, then by loss id (rebuilt when one
    stops). ``stack`` lists the state index at each stack position; all of them are active.
    """
    by_width: dict[int, dict[LossId, list[int]]] = {}
    for position, index in enumerate(stack):
        if split_of[index] != split:
            continue
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
    (results,) = fit_splits(
        [members],
        [data],
        settings=settings,
        data_seeds=[data_seed],
        should_stop=should_stop,
        factory=factory,
        deadline=deadline,
    )
    return results


def fit_splits(
    members: Sequence[Sequence[MemberSpec]],
    splits: Sequence[TrainingData],
    *,
    settings: FitSettings = FitSettings(),
    data_seeds: Sequence[int],
    should_stop: ShouldStop | None = None,
    factory: ModelFactory | None = None,
    deadline: float | None = None,
) -> list[list[MemberResult]]:
    """``fit_short`` on several splits of one table at once: ``results[split][member]``.

    Repeating candidates over paired splits is many small runs; stacked in one model they
    share every step's matmuls, and a split costs a fraction of a run of its own. Each split
    keeps its own minibatch order (``data_seeds``), target encoding and loss context, so a
    member trains as it would in ``fit_short`` on its split alone. Features are zero-padded to
    the widest split (an encoder fitted on other rows may see fewer categories). The splits
    must be of one task and metric; ``should_stop`` gets the member's index in the flattened
    list (split by split).
    """
    if len(members) != len(splits) or len(data_seeds) != len(splits):
        raise ValueError("fit_splits needs one list of members and one data seed per split")
    threads = torch.get_num_threads()
    if torch.device(settings.device).type == "cpu":
        total = sum(len(group) for group in members)
        small = total * settings.batch_size < SMALL_STEP_ROWS
        torch.set_num_threads(settings.cpu_threads or (1 if small else threads))
    try:
        with _own_rng(settings.device, seed=data_seeds[0] if data_seeds else 0):
            flat = _fit(
                [(split, spec) for split, group in enumerate(members) for spec in group],
                splits,
                settings=settings,
                data_seeds=data_seeds,
                should_stop=should_stop,
                factory=factory,
                deadline=deadline,
            )
    finally:
        torch.set_num_threads(threads)
    grouped, start = [], 0
    for group in members:
        grouped.append(flat[start : start + len(group)])
        start += len(group)
    return grouped


@contextlib.contextmanager
def _own_rng(device: str, *, seed: int) -> Iterator[None]:
    """Seed what the run draws (a user network's dropout) on a fork of the global RNG.

    The caller's own random state is left as it was: asking for advice must not change the
    numbers a library user draws next.
    """
    target = torch.device(device)
    devices = [target.index or 0] if target.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(int(seed))
        yield


class _Split:
    """One split's tensors, target encodings, validation scorer and minibatch cursor."""

    def __init__(
        self,
        data: TrainingData,
        states: Sequence[_Member],
        *,
        n_inputs: int,
        batch: int,
        padding: int,
        seed: int,
        device: torch.device,
    ) -> None:
        def features(x: np.ndarray) -> torch.Tensor:
            tensor = torch.as_tensor(x, dtype=torch.float32, device=device)
            extra = n_inputs - tensor.shape[1]
            return F.pad(tensor, (0, extra)) if extra else tensor

        self.x_train, self.x_val = features(data.x_train), features(data.x_val)
        self.x_test = None if data.x_test is None else features(data.x_test)
        # fit_target depends on the loss id and the training target only: one encoding per id
        transforms = {state.spec.loss: state.transform for state in states}
        self.encoded = {
            loss: transform.encode(data.y_train).to(device)
            for loss, transform in transforms.items()
        }
        self.scorer = ValidationScorer(
            data.metric,
            data.y_val,
            task=data.task,
            n_classes=data.n_classes,
            quantile=data.quantile,
        )
        self.n_rows, self.batch, self.padding = self.x_train.shape[0], batch, padding
        self.generator = torch.Generator().manual_seed(int(seed))
        self.cursor = self.n_rows  # the first step shuffles
        self.x_epoch = self.x_train
        self.targets: dict[LossId, torch.Tensor] = {}

    def next_rows(self) -> tuple[torch.Tensor, slice]:
        """The next minibatch's features, and its rows in ``targets`` (padding included).

        A new epoch takes the rows in a new random order: one gather, then each step a plain
        slice. Each target gets ``padding`` more rows, copies of its first, which every loss
        accepts (the stacked losses compute whole blocks of rows, see ``stacked_loss``).
        """
        if self.cursor + self.batch > self.n_rows:
            order = torch.randperm(self.n_rows, generator=self.generator).to(self.x_train.device)
            self.x_epoch = self.x_train[order]
            self.targets = {
                loss: torch.cat(
                    [target[order], target[order[:1]].expand(self.padding, *target.shape[1:])]
                )
                for loss, target in self.encoded.items()
            }
            self.cursor = 0
        start = self.cursor
        self.cursor += self.batch
        return (
            self.x_epoch[start : start + self.batch],
            slice(start, start + self.batch + self.padding),
        )


def _fit(
    members: Sequence[tuple[int, MemberSpec]],
    splits: Sequence[TrainingData],
    *,
    settings: FitSettings,
    data_seeds: Sequence[int],
    should_stop: ShouldStop | None,
    factory: ModelFactory | None,
    deadline: float | None,
) -> list[MemberResult]:
    device = torch.device(settings.device)
    first = splits[0]
    maximize = metric_direction(first.metric) == "maximize"
    contexts = [
        build_context(data.y_train, task=data.task, n_classes=data.n_classes) for data in splits
    ]
    states = [_Member(spec, splits[split], contexts[split]) for split, spec in members]
    split_of = [split for split, _ in members]
    width = max(state.width for state in states)
    n_inputs = max(data.x_train.shape[1] for data in splits)
    model = StackedModel(
        [spec.seed for _, spec in members],
        n_inputs=n_inputs,
        n_outputs=width,
        widths=[state.width for state in states],
        factory=factory,
        device=device,
    )
    optimizer = StackedAdamW(
        model.parameters(), [spec.lr for _, spec in members], weight_decay=settings.weight_decay
    )
    batch = min(settings.batch_size, *(len(data.y_train) for data in splits))
    padding = padded_rows(batch) - batch
    prepared = [
        _Split(
            data,
            [state for state, s in zip(states, split_of, strict=True) if s == index],
            n_inputs=n_inputs,
            batch=batch,
            padding=padding,
            seed=data_seeds[index],
            device=device,
        )
        for index, data in enumerate(splits)
    ]
    step = 0
    # the state index at each stack position: members that stop leave the stack, so that they
    # no longer cost compute (a member's numbers do not depend on its stack)
    stack = list(range(len(states)))

    def evaluate(at_step: int) -> None:
        for index, split in enumerate(prepared):
            positions = [p for p, i in enumerate(stack) if split_of[i] == index]
            if not positions:
                continue
            every = len(positions) == len(stack)
            with torch.no_grad(), model.evaluating():
                outputs = model(split.x_val, None if every else positions)
                test_outputs = (
                    None
                    if split.x_test is None
                    else model(split.x_test, None if every else positions)
                )
            for row, position in enumerate(positions):
                state = states[stack[position]]
                judge(
                    state,
                    stack[position],
                    outputs[row, :, : state.width],
                    None if test_outputs is None else test_outputs[row, :, : state.width],
                    split.scorer,
                    at_step,
                )
                if settings.keep_model and (state.best_step == at_step or state.checkpoint is None):
                    state.checkpoint = checkpoint(position)

    def checkpoint(position: int) -> dict[str, torch.Tensor]:
        buffers = {name: value[position].clone() for name, value in model.buffers.items()}
        return {**model.member_state(position), **buffers}

    def judge(state, index, output, test_output, scorer, at_step) -> None:
        prediction = state.transform.predict(output.cpu())
        score = scorer(prediction)
        state.history.append((at_step, score))
        if _better(score, state.best, maximize):
            state.best, state.best_step, state.prediction = score, at_step, prediction
            if test_output is not None:
                state.test_prediction = state.transform.predict(test_output.cpu())
            state.since_best = 0
        else:
            state.since_best += 1
        stop = state.since_best > settings.patience or math.isnan(score)
        if not stop and should_stop is not None and should_stop(index, at_step, score):
            state.pruned = stop = True
        if stop:
            state.active = False

    def blocks_of(stack: Sequence[int]) -> list[tuple[int, _Block]]:
        return [
            (index, block)
            for index in range(len(prepared))
            for block in _blocks(
                states,
                stack,
                contexts[index],
                width=width,
                device=device,
                split_of=split_of,
                split=index,
            )
        ]

    def member_rows(stack: Sequence[int]) -> torch.Tensor | None:
        """Each stack position's split, to gather per-member rows (None: one split)."""
        if len(prepared) == 1:
            return None
        return torch.tensor([split_of[i] for i in stack], device=device)

    blocks = blocks_of(stack)
    rows_of = member_rows(stack)
    cut = False
    while step < settings.max_steps and stack:
        if deadline is not None and time.monotonic() > deadline and step > 0:
            cut = True
            break
        drawn = [split.next_rows() for split in prepared]
        if rows_of is None:
            x_batch = drawn[0][0]
        else:
            x_batch = torch.stack([x for x, _ in drawn]).index_select(0, rows_of)
        outputs = model(x_batch)
        if padding:
            outputs = F.pad(outputs, (0, 0, 0, padding))
        terms = [
            loss_fn(chunk, prepared[index].targets[loss][drawn[index][1]], batch)
            for index, block in blocks
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
                blocks = blocks_of(stack)
                rows_of = member_rows(stack)
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
            model=None
            if state.checkpoint is None
            else _network(
                state.checkpoint, factory, n_inputs=n_inputs, width=width, seed=spec.seed
            ),
        )
        for state, (_, spec) in zip(states, members, strict=True)
    ]


def _network(
    checkpoint: dict[str, torch.Tensor],
    factory: ModelFactory | None,
    *,
    n_inputs: int,
    width: int,
    seed: int,
) -> torch.nn.Module:
    """One member's network, alone, with the weights of its checkpoint (in eval mode)."""
    network = _seeded(factory or default_mlp, seed, n_inputs, width)
    names = network.state_dict().keys()
    network.load_state_dict({name: checkpoint[name] for name in names})
    return network.eval()
