"""Custom losses: a team's own loss, registered from Python or declared by an installed package.

A registered loss is a catalog entry, checked by the schema of ``rules/losses.yaml`` (tasks,
head, target encoding, parameters and their ranges, summary, simplicity), plus the torch
module that computes it. Once registered its id is a ``LossId`` like the SPEC's: rules (the
bundled ones or ``--rules`` files) can name it, the search trains it (``stacked_loss`` calls
its module once per member, having no stacked kernel for it), ``lossadvisor losses`` lists it
and the recommendation's PyTorch snippet imports it.

Two ways in:

- ``register(...)`` from Python, before the rules that name the loss are loaded;
- an entry point of the group ``lossadvisor.losses`` in the team's own package. Its name is
  the loss id; its object is a mapping of ``register``'s keyword arguments, or a function of no
  arguments returning one (so that the package imports torch only when the loss is used).
  Entry points are loaded once, lazily: on the first look at the catalog, at an id not yet
  known, or at the first ``register`` call (so that a clash with an installed id shows there).

A loss must be registered in every process that uses it (an Optuna worker on another machine
included); an entry point does that by itself. Nothing here imports torch: ``_build`` calls the
module, and only when a loss is built.
"""

from __future__ import annotations

import dataclasses
import enum
import importlib.metadata
import inspect
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any

from advisor._validation import Problems, did_you_mean, unknown
from advisor.errors import RuleError, UsageError
from advisor.losses._catalog import (
    HeadKind,
    LossSpec,
    ParamSpec,
    TargetKind,
    bundled_catalog,
    to_spec,
    validate_entry,
)
from advisor.records import LossId, Task

__all__ = [
    "ENTRY_POINT_GROUP",
    "CustomLoss",
    "custom_loss",
    "load_entry_points",
    "register",
    "unregister",
]

ENTRY_POINT_GROUP = "lossadvisor.losses"
_ID = re.compile(r"^[a-z][a-z0-9_]{0,62}$")  # becomes the member name LossId.<ID.upper()>
_RESERVED = "context"  # the keyword a module takes to receive the LossContext


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CustomLoss:
    """A registered loss: its catalog entry and the callable that builds its module.

    Attributes:
        spec: The catalog entry.
        module: A ``torch.nn.Module`` class, or a function returning a module; called with the
            resolved parameters as keyword arguments (and ``context=`` when it takes one).
        takes_context: Whether ``module`` has a ``context`` parameter.
    """

    spec: LossSpec
    module: Callable[..., Any]
    takes_context: bool

    @property
    def name(self) -> str:
        """``module.qualname`` of the callable, for messages and the snippet."""
        qualname = getattr(self.module, "__qualname__", type(self.module).__qualname__)
        return f"{getattr(self.module, '__module__', '?')}.{qualname}"


class _State:
    """The registry's mutable state, changed only under ``lock``."""

    lock = threading.RLock()
    custom: dict[LossId, CustomLoss] = {}
    catalog: Mapping[LossId, LossSpec] | None = None
    entry_point_problems: tuple[str, ...] | None = None  # None: not loaded yet
    loading = False  # entry points are being loaded (a lookup from inside must not cache)


def register(
    loss_id: str,
    module: Callable[..., Any],
    *,
    tasks: Iterable[Task | str],
    head: HeadKind | str,
    target: TargetKind | str,
    summary: str,
    simplicity: int,
    params: Iterable[ParamSpec | Mapping[str, Any]] = (),
    binary_form: Mapping[str, str] | None = None,
    torch: str | None = None,
) -> LossId:
    """Add a team's own loss to the catalog, so that rules can name it and the search train it.

    Register before loading the rules that name it (``load_rules``, ``shortlist``,
    ``recommend``): a rule naming an id the catalog lacks is an error at load.

    Args:
        loss_id: The new id: lower case letters, digits and ``_``, starting with a letter; it
            becomes ``LossId.<ID>``.
        module: A ``torch.nn.Module`` class, or a function returning a module. It is called
            with each parameter as a keyword argument (resolved: the catalog default unless
            the rules or the search set it), and with ``context=`` (the ``LossContext``: class
            counts, target scale) when it has a parameter of that name. The module's
            ``forward(output, target)`` gets the head output (N, width) and the target encoded
            as ``target`` says, and returns the scalar mean loss.
        tasks: The tasks it applies to (``Task`` values).
        head: What the network's last layer outputs (``HeadKind``: ``score`` is one raw
            output, shape (N, 1)).
        target: How the target is encoded for it (``TargetKind``: ``standardize`` gives
            (y - median) / robust scale).
        summary: One sentence on what it is, shown by ``lossadvisor losses``.
        simplicity: 0 = simplest and best understood; breaks ties between equal scores.
        params: Its tunable parameters, as ``ParamSpec`` or mappings of the catalog file's
            fields (``name``, ``default``, ``low``, ``high``, ``log``, ``type``, ``relative``).
            A ``relative`` parameter is in the target's original units; divide it by
            ``context.target_scale`` for the encoded target's units, as Huber's delta is.
        binary_form: ``{"head": ..., "target": ...}`` used instead on two classes.
        torch: The ``torch.nn`` loss it wraps, if any (shown by ``lossadvisor losses``).

    Returns:
        The new ``LossId`` member.

    Raises:
        RuleError: The entry is invalid or the id is taken; every problem is listed as
            ``register:<id>:<field>: message``, with a "did you mean" for misspelt names.

    Example:
        >>> from advisor.losses import register, unregister, get_loss
        >>> class ScaledL1:  # a torch.nn.Module subclass in real use
        ...     def __init__(self, scale=1.0):
        ...         self.scale = scale
        >>> register("scaled_l1", ScaledL1, tasks=["regression"], head="score",
        ...     target="standardize", summary="L1 times a constant.", simplicity=2,
        ...     params=[{"name": "scale", "default": 1.0, "low": 0.5, "high": 2.0}])
        <LossId.SCALED_L1: 'scaled_l1'>
        >>> get_loss("scaled_l1").defaults(), get_loss("scaled_l1").source
        ({'scale': 1.0}, 'register')
        >>> register("scaled_l2", ScaledL1, tasks=["regresion"], head="score",
        ...     target="standardize", summary="x", simplicity=2)
        Traceback (most recent call last):
        ...
        advisor.errors.RuleError: cannot register loss 'scaled_l2' (1 problem):
        register:scaled_l2:tasks: unknown task 'regresion'; did you mean 'regression'?
        >>> unregister("scaled_l1")
    """
    load_entry_points()  # a clash with an installed package's id is reported here
    arguments = {
        "tasks": tasks,
        "head": head,
        "target": target,
        "summary": summary,
        "simplicity": simplicity,
        "params": params,
        "binary_form": binary_form,
        "torch": torch,
    }
    return _registered(loss_id, module, arguments)


def _registered(loss_id: str, module: Callable[..., Any], arguments: dict[str, Any]) -> LossId:
    """``register``'s work: the new member, or one ``RuleError`` listing every problem."""
    problems = Problems("register")
    member = _register(loss_id, module, arguments, source="register", problems=problems)
    if member is None:
        count = f"{len(problems)} problem{'s' if len(problems) > 1 else ''}"
        label = loss_id if isinstance(loss_id, str) else "?"
        raise RuleError(f"cannot register loss {label!r} ({count}):\n" + "\n".join(problems.lines))
    return member


def unregister(loss_id: LossId | str) -> None:
    """Remove a registered loss from the catalog and from ``LossId`` (tests, notebooks).

    Raises:
        UsageError: The id is unknown, or one of the SPEC's losses.
    """
    with _State.lock:
        loss = LossId(loss_id)
        if loss not in _State.custom:
            raise UsageError(f"{loss.value!r} is a built-in loss; only registered ones can go")
        del _State.custom[loss]
        LossId._remove_member(loss)
        _State.catalog = None


def custom_loss(loss_id: LossId) -> CustomLoss | None:
    """The registration of a loss, or None for the SPEC's losses."""
    return _State.custom.get(loss_id)


def catalog() -> Mapping[LossId, LossSpec]:
    """The bundled catalog and the registered losses after it (cached until a change)."""
    cached = _State.catalog  # set only once the entry points loaded without a problem
    if cached is not None:
        return cached
    load_entry_points()
    with _State.lock:
        if _State.catalog is not None:
            return _State.catalog
        merged = dict(bundled_catalog())
        merged.update((loss, custom.spec) for loss, custom in _State.custom.items())
        built = MappingProxyType(merged)
        if not _State.loading:
            _State.catalog = built
        return built


def resolve_unknown(value: str) -> LossId:
    """``LossId(value)`` for a value not among its members: load the entry points, look again.

    Raises:
        UsageError: Still unknown; the message suggests the closest id.
        RuleError: An installed entry point is invalid.
    """
    load_entry_points()
    member = LossId.__members__.get(value.upper())
    if member is not None and member.value == value:
        return member
    ids = [loss.value for loss in LossId]
    raise UsageError(unknown("loss id", value, ids, list_choices=True))


def load_entry_points() -> None:
    """Register the losses of the ``lossadvisor.losses`` entry points, once per process.

    Raises:
        RuleError: An entry point cannot be loaded or its loss is invalid; every problem is
            listed as ``entry point NAME:loss-id:field: message``, each time it is asked.
    """
    with _State.lock:
        if _State.entry_point_problems is None:
            _State.entry_point_problems = ()  # first: registering looks ids up, reentrantly
            _State.loading = True
            try:
                _State.entry_point_problems = tuple(_load_entry_points())
            finally:
                _State.loading = False
        problems = _State.entry_point_problems
    if problems:
        count = f"{len(problems)} problem{'s' if len(problems) > 1 else ''}"
        raise RuleError(
            f"invalid loss in an installed package's {ENTRY_POINT_GROUP!r} entry points "
            f"({count}); fix or uninstall the package:\n" + "\n".join(problems)
        )


def _load_entry_points() -> list[str]:
    lines: list[str] = []
    for point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        problems = Problems(f"entry point {point.name}")
        try:
            loaded = point.load()
            if not isinstance(loaded, Mapping) and callable(loaded):
                loaded = loaded()
        except Exception as error:  # a broken package is named, whatever it raised
            problems.add(point.name, "module", f"cannot load {point.value!r}: {error!r}")
            lines += problems.lines
            continue
        if not isinstance(loaded, Mapping):
            problems.add(
                point.name,
                "entry",
                f"{point.value!r} gave {loaded!r}; expected a mapping of register()'s "
                "keyword arguments, or a function returning one",
            )
        else:
            arguments = dict(loaded)
            module = arguments.pop("module", None)
            if module is None:
                problems.add(point.name, "module", "missing: name the torch module or factory")
            else:
                _register(point.name, module, arguments, source=problems.source, problems=problems)
        lines += problems.lines
    return lines


def _plain(value: Any) -> Any:
    """Python arguments as the catalog file would hold them: enums as values, lists."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, ParamSpec):
        return {field.name: getattr(value, field.name) for field in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(item) for item in value]
    return value


def _check_id(loss_id: Any, problems: Problems) -> None:
    label = loss_id if isinstance(loss_id, str) else "?"
    if not isinstance(loss_id, str) or not _ID.match(loss_id):
        problems.add(
            label,
            "id",
            f"{loss_id!r} is not a loss id: lower case letters, digits and '_', "
            "starting with a letter (at most 63)",
        )
    elif loss_id in LossId.__members__.values() or loss_id.upper() in LossId.__members__:
        taken = LossId(loss_id)
        where = _State.custom[taken].spec.source if taken in _State.custom else "the SPEC"
        problems.add(loss_id, "id", f"{loss_id!r} is already a loss id (from {where})")
    elif hasattr(LossId, loss_id.upper()):
        problems.add(loss_id, "id", f"{loss_id.upper()!r} is taken by LossId itself")


def _check_module(module: Any, names: list[str], *, label: str, problems: Problems) -> bool | None:
    """Check the module can take the parameters; return whether it takes ``context``."""
    if not callable(module):
        problems.add(
            label,
            "module",
            f"expected a torch.nn.Module class or a function returning one, got {module!r}",
        )
        return None
    if _RESERVED in names:
        problems.add(label, f"params.{_RESERVED}", "'context' is reserved for the LossContext")
    try:
        signature = inspect.signature(module)
    except (TypeError, ValueError):  # no signature to read: calling it will tell
        return False
    keywords = {
        p.name: p
        for p in signature.parameters.values()
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    }
    any_keyword = any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values())
    title = getattr(module, "__qualname__", repr(module))
    for name in names:
        if name not in keywords and not any_keyword and name != _RESERVED:
            hint = did_you_mean(name, keywords)
            problems.add(label, f"params.{name}", f"{title} takes no argument {name!r}{hint}")
    required = [
        name
        for name, p in keywords.items()
        if p.default is p.empty and name not in names and name != _RESERVED
    ]
    if required:
        problems.add(
            label,
            "module",
            f"{title} requires {', '.join(map(repr, required))}, which the loss's params do "
            "not declare; declare them or give them defaults",
        )
    return _RESERVED in keywords


def _register(
    loss_id: Any,
    module: Any,
    arguments: Mapping[str, Any],
    *,
    source: str,
    problems: Problems,
) -> LossId | None:
    """Validate and add one loss; on any problem add nothing and return None."""
    before = len(problems)
    label = loss_id if isinstance(loss_id, str) else "?"
    entry = {"id": label, "torch": None, "params": [], **_plain(dict(arguments))}
    if entry.get("binary_form") is None:
        entry.pop("binary_form", None)
    with _State.lock:
        _check_id(loss_id, problems)
        if entry["id"] != label:
            message = f"the entry point's name is the loss id; drop id {entry['id']!r}"
            problems.add(label, "id", message)
        params = entry.get("params")
        names = [
            p["name"]
            for p in (params if isinstance(params, list) else [])
            if isinstance(p, Mapping) and isinstance(p.get("name"), str)
        ]
        takes_context = _check_module(module, names, label=label, problems=problems)
        model = validate_entry(entry, label=label, problems=problems)
        if model is None or takes_context is None or len(problems) > before:
            return None
        member = LossId._add_member(loss_id)
        spec = to_spec(model, source=source)
        _State.custom[member] = CustomLoss(spec=spec, module=module, takes_context=takes_context)
        _State.catalog = None
        return member


def snippet(loss_id: LossId, params: Mapping[str, Any], *, context: Any) -> str:
    """The PyTorch code that builds a registered loss, as ``pytorch_snippet`` prints it."""
    custom = _State.custom[loss_id]
    module = custom.module
    qualname = getattr(module, "__qualname__", type(module).__qualname__)
    home = getattr(module, "__module__", None)
    arguments = [f"{name}={value!r}" for name, value in params.items()]
    lines = []
    if home not in (None, "__main__") and "<" not in qualname:
        lines.append(f"from {home} import {qualname.split('.')[0]}  # registered loss")
    else:
        lines.append(
            f"# {qualname}: the registered loss's module, defined in {home or 'your code'}"
        )
    if custom.takes_context:
        lines.append("from advisor.losses import LossContext")
        arguments.append(f"context={context!r}")
    return "\n".join([*lines, "", f"loss_fn = {qualname}({', '.join(arguments)})", ""])
