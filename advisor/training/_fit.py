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
import functools
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
# on_best(member, predict): the member just improved; predict(rows) is its prediction, at this
# step, on other rows of its split's features (valid during the call only)
OnBest = Callable[[int, Callable[[np.ndarray], np.ndarray]], None]
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


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class FitSettings:
    max_steps: int = 600
    batch_size: int = 256
    eval_every: int = 25
    patience: int = 6
    weight_decay: float = 1e-4
    device: str = "cpu"
    # None: one thread when a step is small (members x batch rows < 512: splitting it across
    # threads costs more than it saves), else torch's default (figures: benchmarks/README.md)
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
    on_best: OnBest | None = None,
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
        on_best: called with (member, predict) whenever a member's validation score improves;
            ``predict(rows)`` gives its prediction on other rows at that step (benchmarks score
            held-out rows this way).
        factory: builds the network from (n_inputs, n_outputs); default: a small MLP.
        deadline: a ``time.monotonic()`` instant after which the run ends where it is.
    """
    (results,) = fit_splits(
        [members],
        [data],
        settings=settings,
        data_seeds=[data_seed],
        should_stop=should_stop,
        on_best=on_best,
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
    on_best: OnBest | None = None,
    factory: ModelFactory | None = None,
    deadline: float | None = None,
) -> list[list[MemberResult]]:
    """``fit_short`` on several splits of one table at once: ``results[split][member]``.

    Repeating candidates over paired splits is many small runs; stacked in one model they
    share every step's matmuls, and a split costs a fraction of a run of its own. Each split
    keeps its own minibatch order (``data_seeds``), target encoding and loss context, so a
    member trains as it would in ``fit_short`` on its split alone. Features are zero-padded to
    the widest split (an encoder fitted on other rows may see fewer categories). The splits
    must be of one task and metric; ``should_stop`` and ``on_best`` get the member's index in
    the flattened list (split by split).
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
                on_best=on_best,
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
        self.n_inputs, self.device = n_inputs, device
        self.x_train, self.x_val = self.features(data.x_train), self.features(data.x_val)
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

    def features(self, x: np.ndarray) -> torch.Tensor:
        """Rows of this split's features as the stack takes them: zero-padded to its width."""
        tensor = torch.as_tensor(x, dtype=torch.float32, device=self.device)
        extra = self.n_inputs - tensor.shape[1]
        return F.pad(tensor, (0, extra)) if extra else tensor

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


class _Run:
    """One ``fit_splits`` call: the members, their stack and its optimiser, stepped to the end.

    The steps are named: build the stack (``__init__``), take a training step (``step``),
    evaluate (``evaluate``), retire the members that stopped (``retire``) and collect the
    results (``results``). Members that stop leave the stack, so that they no longer cost
    compute (a member's numbers do not depend on its stack).
    """

    def __init__(
        self,
        members: Sequence[tuple[int, MemberSpec]],
        splits: Sequence[TrainingData],
        *,
        settings: FitSettings,
        data_seeds: Sequence[int],
        factory: ModelFactory | None,
    ) -> None:
        self.settings, self.factory = settings, factory
        self.device = torch.device(settings.device)
        self.contexts = [
            build_context(data.y_train, task=data.task, n_classes=data.n_classes) for data in splits
        ]
        self.states = [
            _Member(spec, splits[split], self.contexts[split]) for split, spec in members
        ]
        self.split_of = [split for split, _ in members]
        self.width = max(state.width for state in self.states)
        self.n_inputs = max(data.x_train.shape[1] for data in splits)
        self.model = StackedModel(
            [spec.seed for _, spec in members],
            n_inputs=self.n_inputs,
            n_outputs=self.width,
            widths=[state.width for state in self.states],
            factory=factory,
            device=self.device,
        )
        self.optimizer = StackedAdamW(
            self.model.parameters(),
            [spec.lr for _, spec in members],
            weight_decay=settings.weight_decay,
        )
        self.batch = min(settings.batch_size, *(len(data.y_train) for data in splits))
        self.padding = padded_rows(self.batch) - self.batch
        self.splits = [
            _Split(
                data,
                [s for s, at in zip(self.states, self.split_of, strict=True) if at == index],
                n_inputs=self.n_inputs,
                batch=self.batch,
                padding=self.padding,
                seed=data_seeds[index],
                device=self.device,
            )
            for index, data in enumerate(splits)
        ]
        self.restack(list(range(len(self.states))))

    def restack(self, stack: list[int]) -> None:
        """Train the members at these state indices (the state index at each stack position)."""
        self.stack = stack
        self.blocks = [
            (index, block)
            for index in range(len(self.splits))
            for block in _blocks(
                self.states,
                stack,
                self.contexts[index],
                width=self.width,
                device=self.device,
                split_of=self.split_of,
                split=index,
            )
        ]
        # each stack position's split, to gather per-member rows (None: one split)
        self.rows_of = (
            None
            if len(self.splits) == 1
            else torch.tensor([self.split_of[i] for i in stack], device=self.device)
        )

    def step(self) -> None:
        """One minibatch per split, one loss call per block, one backward, one AdamW step."""
        drawn = [split.next_rows() for split in self.splits]
        if self.rows_of is None:
            x_batch = drawn[0][0]
        else:
            x_batch = torch.stack([x for x, _ in drawn]).index_select(0, self.rows_of)
        outputs = self.model(x_batch)
        if self.padding:
            outputs = F.pad(outputs, (0, 0, 0, self.padding))
        terms = [
            loss_fn(chunk, self.splits[index].targets[loss][drawn[index][1]], self.batch)
            for index, block in self.blocks
            for loss, loss_fn, chunk in zip(
                block.losses, block.loss_fns, block.split(outputs), strict=True
            )
        ]
        self.optimizer.zero_grad()
        torch.cat(terms).sum().backward()
        self.optimizer.step()

    def evaluate(self, at_step: int, judge: _Judge) -> None:
        """Score every member in the stack on its split's validation rows."""
        for index, split in enumerate(self.splits):
            positions = [p for p, i in enumerate(self.stack) if self.split_of[i] == index]
            if not positions:
                continue
            every = len(positions) == len(self.stack)
            with torch.no_grad(), self.model.evaluating():
                outputs = self.model(split.x_val, None if every else positions)
            for row, position in enumerate(positions):
                member = self.stack[position]
                state = self.states[member]
                improved = judge(
                    state, member, outputs[row, :, : state.width], split.scorer, at_step
                )
                if improved and judge.on_best is not None:
                    judge.on_best(member, functools.partial(self.predict, position, split))
                if self.settings.keep_model and (improved or state.checkpoint is None):
                    state.checkpoint = self.checkpoint(position)

    def predict(self, position: int, split: _Split, x: np.ndarray) -> np.ndarray:
        """The prediction of the member at ``position``, as it is now, on other rows ``x``."""
        state = self.states[self.stack[position]]
        with torch.no_grad(), self.model.evaluating():
            outputs = self.model(split.features(x), [position])
        return state.transform.predict(outputs[0, :, : state.width].cpu())

    def checkpoint(self, position: int) -> dict[str, torch.Tensor]:
        buffers = {name: value[position].clone() for name, value in self.model.buffers.items()}
        return {**self.model.member_state(position), **buffers}

    def retire(self) -> None:
        """Drop the members that stopped from the model, the optimiser and the blocks."""
        keep = [position for position, index in enumerate(self.stack) if self.states[index].active]
        if len(keep) < len(self.stack) and keep:
            self.model.keep(keep)
            self.optimizer = self.optimizer.kept(keep, self.model.parameters())
            self.restack([self.stack[position] for position in keep])
        elif not keep:
            self.stack = []

    def results(
        self, members: Sequence[tuple[int, MemberSpec]], *, step: int, cut: bool
    ) -> list[MemberResult]:
        """Each member's record, in the order the members were given."""
        return [
            MemberResult(
                score=state.best,
                best_step=state.best_step,
                steps=state.history[-1][0] if state.history else step,
                pruned=state.pruned,
                cut=cut and state.active,
                prediction=state.prediction,
                history=tuple(state.history),
                model=None
                if state.checkpoint is None
                else _network(
                    state.checkpoint,
                    self.factory,
                    n_inputs=self.n_inputs,
                    width=self.width,
                    seed=spec.seed,
                ),
            )
            for state, (_, spec) in zip(self.states, members, strict=True)
        ]


@dataclasses.dataclass(frozen=True, slots=True)
class _Judge:
    """Early stopping and pruning: records a member's score, says whether it improved."""

    maximize: bool
    patience: int
    should_stop: ShouldStop | None
    on_best: OnBest | None

    def __call__(
        self,
        state: _Member,
        member: int,
        output: torch.Tensor,
        scorer: ValidationScorer,
        at_step: int,
    ) -> bool:
        prediction = state.transform.predict(output.cpu())
        score = scorer(prediction)
        state.history.append((at_step, score))
        improved = _better(score, state.best, self.maximize)
        if improved:
            state.best, state.best_step, state.prediction = score, at_step, prediction
            state.since_best = 0
        else:
            state.since_best += 1
        stop = state.since_best > self.patience or math.isnan(score)
        if not stop and self.should_stop is not None and self.should_stop(member, at_step, score):
            state.pruned = stop = True
        if stop:
            state.active = False
        return improved


def _fit(
    members: Sequence[tuple[int, MemberSpec]],
    splits: Sequence[TrainingData],
    *,
    settings: FitSettings,
    data_seeds: Sequence[int],
    should_stop: ShouldStop | None,
    on_best: OnBest | None,
    factory: ModelFactory | None,
    deadline: float | None,
) -> list[MemberResult]:
    """Step every member until its early stop, the step budget or the deadline."""
    run = _Run(members, splits, settings=settings, data_seeds=data_seeds, factory=factory)
    maximize = metric_direction(splits[0].metric) == "maximize"
    judge = _Judge(maximize, settings.patience, should_stop, on_best)
    step, cut = 0, False
    while step < settings.max_steps and run.stack:
        if deadline is not None and time.monotonic() > deadline and step > 0:
            cut = True
            break
        run.step()
        step += 1
        if step % settings.eval_every == 0 or step == settings.max_steps:
            run.evaluate(step, judge)
            run.retire()
    if not any(state.history for state in run.states):
        run.evaluate(step, judge)
    return run.results(members, step=step, cut=cut)


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
