"""The loss catalog: metadata for every loss id, as data that loads without torch.

Metadata lives as data so that the rule engine, the search and the CLI all read one source of
truth (which head a loss needs, how its target is encoded, what it can tune). The SPEC's losses
are read from ``rules/losses.yaml``; a team's own losses join them through
``advisor.losses.register`` or the ``lossadvisor.losses`` entry points (``_registry``), checked
by the same schema. Each is a trust boundary: validated with pydantic, every problem reported
at once as ``file:loss-id:field: message`` (``register:loss-id:field: message``), with a "did
you mean" for misspelt ids, tasks and heads (``advisor._validation``, shared with the rule
loader).

Nothing here imports torch: the rule engine, ``lossadvisor losses`` and ``lossadvisor rules``
run without it; only building or training a loss does (``_build``, ``_stacked``, ``_targets``).
The ``torch`` field is therefore checked against the names of ``torch.nn``'s losses written
down here (``TORCH_LOSSES``; a test checks each exists in the installed torch).
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import importlib
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType, ModuleType
from typing import Any, Literal

import pydantic
import yaml

from advisor._paths import rules_dir
from advisor._validation import Problems, pydantic_problems, unknown
from advisor.errors import RuleError, UsageError
from advisor.records import LossId, Task

__all__ = [
    "TORCH_LOSSES",
    "HeadKind",
    "LossSpec",
    "ParamSpec",
    "TargetKind",
    "get_loss",
    "load_catalog",
    "losses_for",
]

CATALOG_FILE = "losses.yaml"

# The torch.nn loss modules of every torch the pin allows (>= 2.2); names only, so that
# validating the catalog does not import torch.
TORCH_LOSSES = (
    "AdaptiveLogSoftmaxWithLoss",
    "BCELoss",
    "BCEWithLogitsLoss",
    "CTCLoss",
    "CosineEmbeddingLoss",
    "CrossEntropyLoss",
    "GaussianNLLLoss",
    "HingeEmbeddingLoss",
    "HuberLoss",
    "KLDivLoss",
    "L1Loss",
    "MSELoss",
    "MarginRankingLoss",
    "MultiLabelMarginLoss",
    "MultiLabelSoftMarginLoss",
    "MultiMarginLoss",
    "NLLLoss",
    "PoissonNLLLoss",
    "SmoothL1Loss",
    "SoftMarginLoss",
    "TripletMarginLoss",
    "TripletMarginWithDistanceLoss",
)
# The SPEC's ids, the ones the bundled file must cover; a registered id is added to LossId
# later, and only by the registry, which imports this module first.
BUILTIN_IDS: tuple[LossId, ...] = tuple(LossId)


class HeadKind(enum.StrEnum):
    """What the network's last layer outputs for a loss."""

    SCORE = "score"  # 1 raw output, identity
    LOG_MEAN = "log_mean"  # 1 output, the log of the predicted mean
    MEAN_VAR = "mean_var"  # 2 outputs: mean and log-variance
    LOGIT = "logit"  # 1 logit of the positive class
    LOGITS = "logits"  # C class logits
    CUMULATIVE_LOGITS = "cumulative_logits"  # C-1 logits of P(y > k)
    LABEL_LOGITS = "label_logits"  # L independent label logits


class TargetKind(enum.StrEnum):
    """How the canonical target is encoded before the loss sees it."""

    STANDARDIZE = "standardize"  # (y - center) / scale, robust center and scale
    MEAN_SCALE = "mean_scale"  # y / mean(y), for log-link losses
    LOG1P_STANDARDIZE = "log1p_standardize"  # standardize(log1p(y)), for msle
    CLASS_INDEX = "class_index"  # int64 class indices
    BINARY01 = "binary01"  # float 0/1
    PLUS_MINUS_ONE = "plus_minus_one"  # float -1/+1
    PROBABILITIES = "probabilities"  # float rows summing to 1
    INDICATORS = "indicators"  # float 0/1 per label


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ParamSpec:
    """One tunable hyper-parameter of a loss and the range the search may draw it from.

    ``default`` is None when the value is derived from the data (Huber's delta, a pos_weight).
    With ``relative`` set, ``low`` and ``high`` are multiples of the target's robust scale,
    because a range in original units cannot be written down before the data is seen.
    """

    name: str
    default: float | None
    low: float
    high: float
    log: bool = False
    type: Literal["float", "int"] = "float"
    relative: bool = False


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class LossSpec:
    """Catalog entry of one loss: where it applies, its head, its target and its knobs.

    ``source`` says where the entry came from: the bundled catalog file, ``register`` or an
    entry point (``entry point NAME``).
    """

    id: LossId
    tasks: tuple[Task, ...]
    head: HeadKind
    target: TargetKind
    torch: str | None
    params: tuple[ParamSpec, ...]
    summary: str
    simplicity: int
    binary_head: HeadKind | None = None
    binary_target: TargetKind | None = None
    source: str = CATALOG_FILE

    def defaults(self) -> dict[str, float | None]:
        """Return the default value of every parameter (None = derived from the data)."""
        return {p.name: p.default for p in self.params}

    def accepts_minimum(self, minimum: float) -> bool:
        """Whether the target encoding is defined for a target whose smallest value is ``minimum``.

        Log-link deviances need ``y >= 0`` (Gamma ``y > 0``), log-space losses ``y > -1``;
        a plain ``regression`` target may hold negatives, so its task alone does not settle it.

        Example:
            >>> get_loss("tweedie").accepts_minimum(0.0), get_loss("gamma").accepts_minimum(0.0)
            (True, False)
        """
        if self.target is TargetKind.MEAN_SCALE:
            return minimum > 0 if self.id is LossId.GAMMA else minimum >= 0
        if self.target is TargetKind.LOG1P_STANDARDIZE:
            return minimum > -1
        return True

    def form(self, n_classes: int) -> tuple[HeadKind, TargetKind]:
        """Return the (head, target) pair used for ``n_classes`` classes.

        A loss with a binary form (focal) switches to one logit and a 0/1 target on two
        classes, which is how the binary focal loss is defined (Lin et al. 2017).
        """
        if n_classes == 2 and self.binary_head is not None and self.binary_target is not None:
            return self.binary_head, self.binary_target
        return self.head, self.target


# --------------------------------------------------------------------------- file schema


class _Model(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid", strict=True)


class _ParamModel(_Model):
    name: str
    default: float | None
    low: float
    high: float
    log: bool = False
    type: Literal["float", "int"] = "float"
    relative: bool = False

    @pydantic.field_validator("default", "low", "high", mode="before")
    @classmethod
    def _int_is_float(cls, value: Any) -> Any:
        # YAML writes 1.0 as 1; strict mode would reject it as a float.
        return float(value) if isinstance(value, int) and not isinstance(value, bool) else value


class _BinaryFormModel(_Model):
    head: str
    target: str


class _LossModel(_Model):
    id: str
    tasks: list[str] = pydantic.Field(min_length=1)
    head: str
    target: str
    torch: str | None
    params: list[_ParamModel]
    summary: str = pydantic.Field(min_length=1)
    simplicity: int = pydantic.Field(ge=0)
    binary_form: _BinaryFormModel | None = None


class _FileModel(_Model):
    schema_version: Literal[1]
    losses: list[dict[str, Any]]


LOSS_FIELDS = tuple(_LossModel.model_fields)
_PARAM_FIELDS = tuple(_ParamModel.model_fields)
_FILE_FIELDS = tuple(_FileModel.model_fields)


def _known_keys(loc: tuple[Any, ...]) -> tuple[str, ...]:
    """The keys allowed where an unknown one was found: entry, binary_form or parameter."""
    if len(loc) == 1:
        return LOSS_FIELDS
    return ("head", "target") if loc[0] == "binary_form" else _PARAM_FIELDS


def _check_params(params: list[_ParamModel], *, label: str, problems: Problems) -> None:
    seen: set[str] = set()
    for param in params:
        at = f"params.{param.name}"
        if param.name in seen:
            problems.add(label, at, "duplicate parameter")
        seen.add(param.name)
        if not param.low < param.high:
            problems.add(label, at, f"low {param.low} must be below high {param.high}")
        if param.log and param.low <= 0:
            problems.add(label, at, f"a log-scale range needs low > 0, got {param.low}")
        if param.default is not None and not param.low <= param.default <= param.high:
            problems.add(label, at, f"default {param.default} outside [{param.low}, {param.high}]")


def _check_entry(model: _LossModel, *, label: str, problems: Problems) -> None:
    """Semantic checks pydantic cannot do: closed vocabularies with suggestions."""
    tasks = [t.value for t in Task]
    for task in model.tasks:
        if task not in tasks:
            problems.add(label, "tasks", unknown("task", task, tasks, list_choices=True))
    heads, targets = [h.value for h in HeadKind], [t.value for t in TargetKind]
    forms = [("", model.head, model.target)]
    if model.binary_form is not None:
        forms.append(("binary_form.", model.binary_form.head, model.binary_form.target))
    for prefix, head, target in forms:
        if head not in heads:
            problems.add(
                label, f"{prefix}head", unknown("head kind", head, heads, list_choices=True)
            )
        if target not in targets:
            message = unknown("target kind", target, targets, list_choices=True)
            problems.add(label, f"{prefix}target", message)
    if model.torch is not None and model.torch not in TORCH_LOSSES:
        message = unknown("torch.nn loss", model.torch, TORCH_LOSSES, list_choices=True)
        problems.add(label, "torch", message)
    _check_params(model.params, label=label, problems=problems)


def validate_entry(raw: Any, *, label: str, problems: Problems) -> _LossModel | None:
    """Check one catalog entry (a file's, or ``register``'s arguments) against the schema.

    Every problem found is added to ``problems`` under ``label``; the parsed entry is returned
    only when there is none. The id itself is checked by the caller: a file must name a known
    id, ``register`` a new one.
    """
    before = len(problems)
    try:
        model = _LossModel.model_validate(raw)
    except pydantic.ValidationError as error:
        for where, message in pydantic_problems(
            error, fallback="entry", known=_known_keys, kind="field", named=False
        ):
            problems.add(label, where, message)
        return None
    _check_entry(model, label=label, problems=problems)
    return model if len(problems) == before else None


def to_spec(model: _LossModel, *, source: str = CATALOG_FILE) -> LossSpec:
    """The record of a validated entry; its id must already be a ``LossId``."""
    form = model.binary_form
    return LossSpec(
        id=LossId(model.id),
        tasks=tuple(Task(t) for t in model.tasks),
        head=HeadKind(model.head),
        target=TargetKind(model.target),
        torch=model.torch,
        params=tuple(ParamSpec(**p.model_dump()) for p in model.params),
        summary=model.summary,
        simplicity=model.simplicity,
        binary_head=HeadKind(form.head) if form else None,
        binary_target=TargetKind(form.target) if form else None,
        source=source,
    )


def _parse(raw: Any, *, name: str) -> tuple[dict[LossId, LossSpec], list[str]]:
    problems = Problems(name)
    try:
        document = _FileModel.model_validate(raw)
    except pydantic.ValidationError as error:
        for where, message in pydantic_problems(
            error, fallback="entry", known=lambda loc: _FILE_FIELDS, kind="field", named=False
        ):
            problems.add("<file>", where, message)
        return {}, problems.lines
    specs: dict[LossId, LossSpec] = {}
    ids = [loss.value for loss in BUILTIN_IDS]
    for index, entry in enumerate(document.losses):
        label = entry.get("id") if isinstance(entry.get("id"), str) else f"#{index}"
        at = len(problems)
        if isinstance(entry.get("id"), str) and entry["id"] not in ids:
            problems.add(label, "id", unknown("loss id", entry["id"], ids, list_choices=True))
        elif isinstance(entry.get("id"), str) and LossId(entry["id"]) in specs:
            problems.add(label, "id", "duplicate entry")
        model = validate_entry(entry, label=label, problems=problems)
        if model is not None and len(problems) == at:
            specs[LossId(model.id)] = to_spec(model, source=name)
    named = {entry.get("id") for entry in document.losses}
    missing = [loss.value for loss in BUILTIN_IDS if loss.value not in named]
    if missing:
        problems.add("<file>", "losses", f"no entry for {', '.join(missing)}")
    return specs, problems.lines


def load_catalog(path: Path | None = None) -> Mapping[LossId, LossSpec]:
    """Read and validate a loss catalog file.

    Args:
        path: The YAML file of the SPEC's losses; None reads the shipped ``losses.yaml``
            (cached) and adds the registered losses (``register``, entry points) after them.

    Returns:
        A read-only mapping from ``LossId`` to ``LossSpec``: the SPEC's losses in SPEC order,
        then the registered ones in the order they were registered.

    Raises:
        RuleError: The file is unreadable, not YAML, or breaks the schema; the message lists
            every problem as ``file:loss-id:field: message``. Also an installed entry point
            whose loss is invalid (``entry point NAME:loss-id:field: message``).

    Example:
        >>> catalog = load_catalog()
        >>> catalog[LossId.HUBER].head.value, [p.name for p in catalog[LossId.HUBER].params]
        ('score', ['delta'])
    """
    if path is None:
        return _registry().catalog()
    return _load(Path(path))


@functools.cache
def _registry() -> ModuleType:
    """The loss registry, imported on first use (it imports this module)."""
    return importlib.import_module("advisor.losses._registry")


@functools.lru_cache(maxsize=1)
def bundled_catalog() -> Mapping[LossId, LossSpec]:
    """The shipped ``losses.yaml`` alone: the SPEC's losses (read once)."""
    return _load(rules_dir() / CATALOG_FILE)


def _load(path: Path) -> Mapping[LossId, LossSpec]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise RuleError(f"{path}: cannot read the loss catalog ({error.strerror})") from error
    except yaml.YAMLError as error:
        raise RuleError(f"{path}: not valid YAML: {error}") from error
    specs, problems = _parse(raw, name=path.name)
    if problems:
        count = f"{len(problems)} problem{'s' if len(problems) > 1 else ''}"
        raise RuleError(f"invalid loss catalog {path} ({count}):\n" + "\n".join(problems))
    return MappingProxyType({loss: specs[loss] for loss in BUILTIN_IDS})


def get_loss(loss_id: LossId | str) -> LossSpec:
    """Return the catalog entry of one loss (a SPEC loss or a registered one).

    Args:
        loss_id: A ``LossId`` or its string value.

    Raises:
        UsageError: The id is not a known loss id; the message suggests the closest.

    Example:
        >>> get_loss("focal").defaults()
        {'gamma': 2.0, 'alpha': None}
    """
    try:
        loss = LossId(loss_id)  # an unknown string raises UsageError with a suggestion
    except UsageError:
        raise
    except ValueError:
        ids = [loss.value for loss in LossId]
        raise UsageError(unknown("loss id", str(loss_id), ids, list_choices=True)) from None
    return load_catalog()[loss]


def losses_for(task: Task) -> tuple[LossSpec, ...]:
    """Return every loss that applies to ``task``, simplest first (ties in catalog order).

    Example:
        >>> [spec.id.value for spec in losses_for(Task.REGRESSION)][:2]
        ['mse', 'mae']
    """
    specs = [spec for spec in load_catalog().values() if Task(task) in spec.tasks]
    return tuple(sorted(specs, key=lambda spec: spec.simplicity))
