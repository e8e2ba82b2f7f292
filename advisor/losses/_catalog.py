"""The loss catalog: metadata for every SPEC loss id, read from ``rules/losses.yaml``.

Metadata lives as data so that the rule engine, the search and the CLI all read one source of
truth (which head a loss needs, how its target is encoded, what it can tune). The file is a
trust boundary: it is validated with pydantic and every problem is reported at once as
``file:loss-id:field: message``, with a "did you mean" for misspelt ids, tasks and heads.
"""

from __future__ import annotations

import dataclasses
import difflib
import enum
import functools
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import pydantic
import yaml

from advisor._paths import rules_dir
from advisor.errors import RuleError, UsageError
from advisor.records import LossId, Task

__all__ = [
    "HeadKind",
    "LossSpec",
    "ParamSpec",
    "TargetKind",
    "get_loss",
    "load_catalog",
    "losses_for",
]

CATALOG_FILE = "losses.yaml"


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
    """Catalog entry of one loss: where it applies, its head, its target and its knobs."""

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

    def defaults(self) -> dict[str, float | None]:
        """Return the default value of every parameter (None = derived from the data)."""
        return {p.name: p.default for p in self.params}

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


_LOSS_FIELDS = tuple(_LossModel.model_fields)
_PARAM_FIELDS = tuple(_ParamModel.model_fields)


def _suggest(word: str, choices: Iterable[str]) -> str:
    """Return "; did you mean 'x'?" for the closest choice, or "" when none is close."""
    close = difflib.get_close_matches(str(word), list(choices), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _unknown(kind: str, value: str, choices: Iterable[str]) -> str:
    choices = list(choices)
    hint = _suggest(value, choices)
    return f"unknown {kind} {value!r}{hint or '; expected one of ' + ', '.join(choices)}"


def _pydantic_problems(
    error: pydantic.ValidationError, *, where: str, fields: tuple[str, ...]
) -> list[str]:
    problems = []
    for item in error.errors():
        loc = ".".join(str(part) for part in item["loc"]) or "entry"
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            known = {1: fields, 2: ("head", "target")}.get(len(item["loc"]), _PARAM_FIELDS)
            message = f"unknown field{_suggest(str(item['loc'][-1]), known)}"
        problems.append(f"{where}:{loc}: {message}")
    return problems


def _check_params(params: list[_ParamModel], *, where: str) -> list[str]:
    problems = []
    seen: set[str] = set()
    for param in params:
        at = f"{where}:params.{param.name}"
        if param.name in seen:
            problems.append(f"{at}: duplicate parameter")
        seen.add(param.name)
        if not param.low < param.high:
            problems.append(f"{at}: low {param.low} must be below high {param.high}")
        if param.log and param.low <= 0:
            problems.append(f"{at}: a log-scale range needs low > 0, got {param.low}")
        if param.default is not None and not param.low <= param.default <= param.high:
            problems.append(f"{at}: default {param.default} outside [{param.low}, {param.high}]")
    return problems


def _check_entry(model: _LossModel, *, where: str) -> list[str]:
    """Semantic checks pydantic cannot do: closed vocabularies with suggestions."""
    problems = []
    tasks = [t.value for t in Task]
    for task in model.tasks:
        if task not in tasks:
            problems.append(f"{where}:tasks: {_unknown('task', task, tasks)}")
    heads, targets = [h.value for h in HeadKind], [t.value for t in TargetKind]
    forms = [("", model.head, model.target)]
    if model.binary_form is not None:
        forms.append(("binary_form.", model.binary_form.head, model.binary_form.target))
    for prefix, head, target in forms:
        if head not in heads:
            problems.append(f"{where}:{prefix}head: {_unknown('head kind', head, heads)}")
        if target not in targets:
            problems.append(f"{where}:{prefix}target: {_unknown('target kind', target, targets)}")
    if model.torch is not None:
        import torch.nn  # deferred: validating metadata should not need torch unless named

        if not hasattr(torch.nn, model.torch):
            names = [n for n in dir(torch.nn) if n.endswith("Loss")]
            problems.append(f"{where}:torch: {_unknown('torch.nn loss', model.torch, names)}")
    return problems + _check_params(model.params, where=where)


def _to_spec(model: _LossModel) -> LossSpec:
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
    )


def _parse(raw: Any, *, name: str) -> tuple[dict[LossId, LossSpec], list[str]]:
    try:
        document = _FileModel.model_validate(raw)
    except pydantic.ValidationError as error:
        return {}, _pydantic_problems(
            error, where=f"{name}:<file>", fields=("schema_version", "losses")
        )
    specs: dict[LossId, LossSpec] = {}
    problems: list[str] = []
    ids = [loss.value for loss in LossId]
    for index, entry in enumerate(document.losses):
        label = entry.get("id") if isinstance(entry.get("id"), str) else f"#{index}"
        where = f"{name}:{label}"
        try:
            model = _LossModel.model_validate(entry)
        except pydantic.ValidationError as error:
            problems += _pydantic_problems(error, where=where, fields=_LOSS_FIELDS)
            continue
        entry_problems = _check_entry(model, where=where)
        if model.id not in ids:
            entry_problems.insert(0, f"{where}:id: {_unknown('loss id', model.id, ids)}")
        elif LossId(model.id) in specs:
            entry_problems.insert(0, f"{where}:id: duplicate entry")
        problems += entry_problems
        if not entry_problems:
            specs[LossId(model.id)] = _to_spec(model)
    named = {entry.get("id") for entry in document.losses}
    missing = [loss.value for loss in LossId if loss.value not in named]
    if missing:
        problems.append(f"{name}:<file>:losses: no entry for {', '.join(missing)}")
    return specs, problems


def load_catalog(path: Path | None = None) -> Mapping[LossId, LossSpec]:
    """Read and validate a loss catalog file.

    Args:
        path: The YAML file; None reads the shipped ``losses.yaml`` (cached).

    Returns:
        A read-only mapping from every ``LossId`` to its ``LossSpec``, in SPEC order.

    Raises:
        RuleError: The file is unreadable, not YAML, or breaks the schema; the message lists
            every problem as ``file:loss-id:field: message``.
    """
    if path is None:
        return _default_catalog()
    return _load(Path(path))


@functools.lru_cache(maxsize=1)
def _default_catalog() -> Mapping[LossId, LossSpec]:
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
    return MappingProxyType({loss: specs[loss] for loss in LossId})


def get_loss(loss_id: LossId | str) -> LossSpec:
    """Return the catalog entry of one loss.

    Args:
        loss_id: A ``LossId`` or its string value.

    Raises:
        UsageError: The id is not a SPEC loss id; the message suggests the closest.
    """
    try:
        loss = LossId(loss_id)
    except ValueError:
        ids = [loss.value for loss in LossId]
        raise UsageError(_unknown("loss id", str(loss_id), ids)) from None
    return _default_catalog()[loss]


def losses_for(task: Task) -> tuple[LossSpec, ...]:
    """Return every loss that applies to ``task``, simplest first (ties in SPEC order)."""
    specs = [spec for spec in _default_catalog().values() if Task(task) in spec.tasks]
    return tuple(sorted(specs, key=lambda spec: spec.simplicity))
