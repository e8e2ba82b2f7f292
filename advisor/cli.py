"""The ``lossadvisor`` command: parse, call one stage, print, exit. No logic lives here.

Errors are caught in one place (``main``): an ``AdvisorError`` or a click usage error prints one
line on stderr and exits with its code (2 for the user's input); anything else is a bug, exits 1
and shows its traceback only with ``--debug``. torch and optuna load only inside the commands
that train, so ``--help``, ``rules`` and ``losses`` stay fast.
"""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import functools
import json
import os
import re
import shlex
import sys
import time
import traceback
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import click

from advisor import __version__
from advisor.errors import AdvisorError, AdvisorWarning

__all__ = ["PARAMETER_FLAGS", "cli", "main", "render_error", "render_message"]

# seconds that writing an HTML report takes after the search (matplotlib's import, 3 figures)
HTML_REPORT_S = 3.0

TASKS = [
    "regression",
    "regression_count",
    "regression_positive",
    "binary",
    "multiclass",
    "multilabel",
    "ordinal",
]


def _console(stderr: bool = False):
    """A rich console; colour follows rich (off when NO_COLOR is set or output is no terminal).

    A pipe gets 120 columns unless COLUMNS says otherwise, so saved output is readable and
    does not depend on the terminal the command happened to run from.
    """
    import os

    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    piped = not stream.isatty() and not os.environ.get("COLUMNS")
    return Console(stderr=stderr, soft_wrap=False, width=120 if piped else None)


def _targets(value: str | None) -> list[str] | None:
    if value is None:
        return None
    names = [name.strip() for name in value.split(",") if name.strip()]
    if not names:
        raise click.BadParameter(
            "give one column name, or several separated by commas", param_hint="'--target'"
        )
    return names


# characters json.dumps leaves raw with ensure_ascii=False that a terminal acts on (C1 controls,
# bidi overrides) or that end a line in JavaScript; structural JSON is ASCII, so they can only
# sit inside strings, where a \uXXXX escape reads back as the same text
_JSON_UNSAFE = {
    ord(c): f"\\u{ord(c):04x}"
    for c in [chr(i) for i in range(0x7F, 0xA0)]
    + list("\u061c\u200e\u200f\u2028\u2029\u202a\u202b\u202c\u202d\u202e")
    + list("\u2066\u2067\u2068\u2069")
}


class _Seconds(click.ParamType):
    """A positive, finite number of seconds (click's FloatRange lets nan and inf through)."""

    name = "seconds"

    def convert(self, value: Any, param: Any, ctx: Any) -> float:
        import math

        try:
            seconds = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number of seconds", param, ctx)
        if not math.isfinite(seconds) or seconds <= 0:
            self.fail(f"{value!r} is not a positive, finite number of seconds", param, ctx)
        return seconds


#: The library's messages name Python parameters in backticks (`budget_s`, `task='binary'`):
#: the one form this table and ``render_message`` turn into the flag that sets each of them.
PARAMETER_FLAGS: dict[str, str] = {
    "target": "--target",
    "task": "--task",
    "metric": "--metric",
    "objective": "--objective",
    "budget_s": "--budget",
    "trials": "--trials",
    "search": "--no-search",
    "seed": "--seed",
    "storage": "--storage",
    "study_name": "--study-name",
    "resume": "--resume",
    "rules": "--rules",
    "device": "--device",
    "sample": "--sample",
    "decimal": "--decimal",
    "data": "--data",
}
#: Parameters only Python callers have (arrays); a message may name them, no flag sets them.
PYTHON_ONLY = frozenset({"X", "y"})
_PARAMETER = re.compile(r"`([A-Za-z_][A-Za-z0-9_]*)(?:=([^`]*))?`")


def render_message(text: str) -> str:
    """A library message as the command line says it: each backticked parameter becomes its flag.

    `name` becomes the flag; `name=value` becomes the flag and the value as one would type it
    (a boolean flag stands alone). Other backticked text is left as it is. Python callers read
    the message unchanged, in their own parameter names.

    Example:
        >>> render_message("`budget_s` must be positive; pass `resume=True` or `task='binary'`")
        '--budget must be positive; pass --resume or --task binary'
    """

    def flag(match: re.Match[str]) -> str:
        name, value = match.group(1), match.group(2)
        if name in PYTHON_ONLY:
            return name if value is None else f"{name}={value}"
        if name not in PARAMETER_FLAGS:
            return match.group(0)
        option = PARAMETER_FLAGS[name]
        if value is None:
            return option
        try:
            literal = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            return f"{option} {value}"  # a placeholder such as URL
        if isinstance(literal, bool):
            return option
        return f"{option} {shlex.quote(str(literal))}"

    return _PARAMETER.sub(flag, text)


def render_error(error: BaseException, *, keep_newlines: bool = False) -> str:
    """The one line (or, for rule files, lines) an error prints on stderr, flags named as such.

    Control characters from the data are written as escapes, so a hostile column name cannot
    act on the terminal.
    """
    from advisor.report import printable

    return printable(render_message(str(error)), keep_newlines=keep_newlines)


SECONDS = _Seconds()
# numpy and torch take seeds in [0, 2**32)
SEED = click.IntRange(min=0, max=2**32 - 1)


def _print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False).translate(_JSON_UNSAFE))


def _show(
    result: Any,
    *,
    as_json: bool,
    quiet: bool,
    line: Callable[[Any], str],
    render: Callable[[Any], Any],
) -> None:
    """Print a stage's result in the form asked for: its JSON, one plain line, or the full view."""
    if as_json:
        _print_json(result.to_dict())
    elif quiet:
        _say(line(result))
    else:
        _console().print(render(result))


def _say(line: str) -> None:
    """One line on stdout, made safe for a terminal (``--quiet``'s output)."""
    from advisor.report import printable

    click.echo(printable(line))


@contextlib.contextmanager
def _warnings_to_stderr(quiet: bool):
    """Print each ``AdvisorWarning`` once, as one line on stderr, when the command succeeds.

    The same warnings are in the profile (and so in the JSON); stderr is where a person who
    pipes stdout sees them. Other libraries' warnings are not the user's to act on: they are
    shown only with ``--debug``. A failing command prints its one error line and nothing else.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    from advisor.report import printable

    debug = bool(click.get_current_context().find_root().params.get("debug"))
    lines = []
    for item in caught:
        if issubclass(item.category, AdvisorWarning):
            lines.append(f"lossadvisor: warning: {printable(render_message(str(item.message)))}")
        elif debug:
            warnings.showwarning(item.message, item.category, item.filename, item.lineno)
    if not quiet:
        for line in dict.fromkeys(lines):
            click.echo(line, err=True)


_data_argument = click.argument("data", type=click.Path(dir_okay=True, path_type=str))
_target_option = click.option(
    "--target", help="target column(s), comma-separated; auto-detected when absent"
)
_task_option = click.option("--task", type=click.Choice(TASKS), help="override the detected task")
_sample_option = click.option(
    "--sample", type=click.IntRange(min=10), help="profile and search a random sample of N rows"
)
_quiet_option = click.option(
    "--quiet",
    "-q",
    is_flag=True,
    help="print only the answer in one line (only the JSON with --json); no warnings",
)
_decimal_option = click.option(
    "--decimal",
    type=click.Choice([",", "."]),
    help="decimal mark of the numbers in DATA (detected when absent): , or .",
)
_device_option = click.option(
    "--device", default="cpu", show_default=True, help="torch device: cpu, cuda, cuda:1"
)


def _rules_option(help: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """``--rules FILE``, repeatable: rule files loaded on top of the bundled ones."""
    return click.option(
        "--rules", "rule_files", multiple=True, type=click.Path(dir_okay=False), help=help
    )


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class _Table:
    """DATA and the options that say how to read it and where its target is."""

    path: str
    target: list[str] | None
    task: str | None
    sample: int | None
    decimal: str | None
    device: str

    def reading(self) -> dict[str, Any]:
        """The keyword arguments with which ``profile`` and ``recommend`` read the table."""
        return {
            "target": self.target,
            "task": self.task,
            "sample": self.sample,
            "decimal": self.decimal,
        }


def _table_options(command: Callable[..., None]) -> Callable[..., None]:
    """DATA and the reading options that recommend, profile and explain share, as one ``table``.

    The device is checked here, before any work, so a typo fails at once.
    """

    @functools.wraps(command)
    def run(
        *,
        data: str,
        target: str | None,
        task: str | None,
        sample: int | None,
        decimal: str | None,
        device: str,
        **rest: Any,
    ) -> None:
        _check_device(device)
        table = _Table(
            path=data,
            target=_targets(target),
            task=task,
            sample=sample,
            decimal=decimal,
            device=device,
        )
        command(table, **rest)

    for option in (_device_option, _decimal_option, _sample_option, _task_option, _target_option):
        run = option(run)
    return _data_argument(run)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="lossadvisor")
@click.option("--debug", is_flag=True, help="show tracebacks of internal errors")
def cli(debug: bool) -> None:
    """Which loss should your network train with on this table? Why? Proven by short runs."""


@cli.command()
@_table_options
@click.option("--metric", help="validation metric id (default: chosen by the rules)")
@click.option(
    "--objective",
    default="auto",
    show_default=True,
    help="auto, penalize-large-errors, robust, median, quantile:Q, "
    "calibrated-probabilities, margin, minority-recall",
)
@click.option(
    "--budget",
    "budget_s",
    type=SECONDS,
    default=60.0,
    show_default=True,
    help="wall-clock seconds for the whole command: reading, search and answer",
)
@click.option(
    "--trials", type=click.IntRange(min=1), help="exploration trials (default 4 per loss)"
)
@click.option("--no-search", is_flag=True, help="rules only: no training")
@click.option("--seed", type=SEED, default=0, show_default=True)
@click.option(
    "--storage", help="Optuna storage URL (sqlite:///f.db, postgresql://..., journal:PATH)"
)
@click.option("--study-name", help="name of the Optuna study (default: derived from the data)")
@click.option("--resume", is_flag=True, help="continue an existing study; finished trials are kept")
@_rules_option("extra rule file (repeatable)")
@click.option("--json", "as_json", is_flag=True, help="print the SPEC's JSON document")
@click.option("--report", type=click.Path(dir_okay=False), help="also write an HTML report")
@_quiet_option
def recommend(
    table: _Table,
    *,
    no_search: bool,
    rule_files: Sequence[str],
    as_json: bool,
    report: str | None,
    quiet: bool,
    **settings: Any,
) -> None:
    """Recommend a loss for DATA (a CSV file), with its evidence and PyTorch code."""
    # the other options carry advisor.recommend's parameter names and pass on as they are
    from advisor._recommend import recommend as run
    from advisor.report import recommendation_line, render_advice, write_html

    if settings["resume"] and not settings["storage"]:
        raise click.BadOptionUsage(
            "resume", "--resume needs --storage URL: only a stored study can be continued"
        )
    if report:
        _check_report(report, table.path)
        # the report's figures are drawn after the search, inside --budget: the search gets less
        settings["budget_s"] -= HTML_REPORT_S
    with _warnings_to_stderr(quiet), _progress(enabled=not (no_search or quiet)) as progress:
        advice = run(
            table.path,
            **table.reading(),
            device=table.device,
            search=not no_search,
            rules=rule_files,
            progress=progress,
            started_at=(click.get_current_context().obj or {}).get("started"),
            **settings,
        )
    if report:
        write_html(advice, report)
    _show(advice, as_json=as_json, quiet=quiet, line=recommendation_line, render=render_advice)


@cli.command()
@_table_options
@click.option("--json", "as_json", is_flag=True, help="print the profile object as JSON")
@_quiet_option
def profile(table: _Table, *, as_json: bool, quiet: bool) -> None:
    """Measure what matters for the choice of loss in DATA."""
    from advisor.profiling import profile as run
    from advisor.report import profile_line, render_profile

    with _warnings_to_stderr(quiet):
        result = run(table.path, **table.reading())
    _show(result, as_json=as_json, quiet=quiet, line=profile_line, render=render_profile)


@cli.command()
@_table_options
@click.option("--objective", default="auto", show_default=True)
@click.option("--metric", help="validation metric id (default: chosen by the rules)")
@_rules_option("extra rule file (repeatable)")
@click.option("--json", "as_json", is_flag=True, help="profile, shortlist and trace as JSON")
@_quiet_option
def explain(
    table: _Table,
    *,
    objective: str,
    metric: str | None,
    rule_files: Sequence[str],
    as_json: bool,
    quiet: bool,
) -> None:
    """Profile DATA and show the shortlist with the full rule trace (no training)."""
    from advisor._recommend import profile_for_metric
    from advisor.profiling import read_table
    from advisor.report import render_profile, render_shortlist, render_trace, shortlist_line
    from advisor.selection import load_rules, shortlist

    with _warnings_to_stderr(quiet):
        rules = load_rules(rule_files)
        frame = read_table(table.path, sample=table.sample, decimal=table.decimal)
        result = profile_for_metric(
            frame, target=table.target, task=table.task, metric=metric, path=table.path
        )
        listed = shortlist(result, objective=objective, rules=rules, metric=metric)
    if as_json:
        _print_json(
            {
                "schema_version": 1,
                "profile": result.to_dict(),
                "shortlist": [c.to_dict() for c in listed.candidates],
                "excluded": [c.to_dict() for c in listed.excluded],
                "metric": listed.metric.value,
                "objective": listed.objective.to_dict(),
                "trace": [f.to_dict() for f in listed.trace],
            }
        )
        return
    if quiet:
        _say(shortlist_line(listed))
        return
    console = _console()
    console.print(render_profile(result))
    console.print(render_shortlist(listed))
    console.print(render_trace(listed))


@cli.command()
@click.option("--task", type=click.Choice(TASKS), help="only losses for this task")
@click.option("--json", "as_json", is_flag=True)
def losses(task: str | None, as_json: bool) -> None:
    """List the loss catalog."""
    from advisor.losses import load_catalog, losses_for
    from advisor.records import Task
    from advisor.report import render_catalog

    specs = losses_for(Task(task)) if task else tuple(load_catalog().values())
    if as_json:
        _print_json(
            [
                {
                    "id": s.id.value,
                    "tasks": [t.value for t in s.tasks],
                    "head": s.head.value,
                    "target": s.target.value,
                    "torch": s.torch,
                    "summary": s.summary,
                    "params": [
                        {"name": p.name, "default": p.default, "low": p.low, "high": p.high}
                        for p in s.params
                    ],
                }
                for s in specs
            ]
        )
    else:
        _console().print(render_catalog(specs))


@cli.command()
@_rules_option("extra rule file (repeatable), validated and listed with the bundled ones")
@click.option("--json", "as_json", is_flag=True)
def rules(rule_files: Sequence[str], as_json: bool) -> None:
    """List the loaded selection rules (bundled plus --rules files)."""
    from advisor.report import render_rules
    from advisor.selection import load_rules

    loaded = load_rules(rule_files)
    if as_json:
        _print_json(
            [
                {
                    "id": r.id,
                    "factor": r.factor.value,
                    "effect": r.effect.value,
                    "when": [str(c) for c in r.when],
                    "losses": {k.value: v for k, v in r.losses.items()},
                    "metric": r.metric.value if r.metric else None,
                    "why": r.why,
                    "source": r.source,
                    "provenance": _provenance(r.provenance),
                }
                for r in loaded
            ]
        )
    else:
        _console().print(render_rules(loaded))


def _provenance(provenance) -> dict | None:
    """A fitted rule's corpus evidence as JSON (None for hand-set weights)."""
    if provenance is None:
        return None
    return {
        "tables": provenance.tables,
        "corpus": provenance.corpus,
        "favourite": None if provenance.favourite is None else provenance.favourite.value,
        "right": provenance.right,
        "median_gain": provenance.median_gain,
        "hand": {k.value: v for k, v in provenance.hand.items()},
        "commit": provenance.commit,
        "fitted": provenance.fitted,
        "min_tables": provenance.min_tables,
        "text": provenance.sentence(),
    }


@cli.command()
@click.option(
    "--document",
    type=click.Choice(["recommend", "profile", "explain"]),
    help="the schema of one document only (default: one schema that accepts all three)",
)
def schema(document: str | None) -> None:
    """Print the JSON Schema (2020-12) of the --json documents, schema_version 1."""
    from advisor.report import json_schema

    _print_json(json_schema(document))


@cli.command()
@click.option("--storage", required=True, help="the Optuna storage URL of the running study")
@click.option("--study-name", required=True, help="the study to join")
@click.option("--budget", type=SECONDS, default=60.0, show_default=True)
@click.option("--device", default="cpu", show_default=True)
@click.option(
    "--data",
    type=click.Path(dir_okay=False, path_type=str),
    help="this machine's copy of the data (default: the path the study recorded); "
    "its content must be the same",
)
def worker(storage: str, study_name: str, budget: float, device: str, data: str | None) -> None:
    """Join a running study from any machine that can read the same data.

    The worker takes any trial that is due, exploration or confirmation alike, until the
    study is decided or --budget runs out. It refuses (exit 2) data whose content differs
    from the study's. Ctrl-C marks its trials in flight failed and exits 130.

    A worker trains on one CPU thread unless OMP_NUM_THREADS says otherwise: workers exist to
    run side by side, and OpenMP threads of several processes that spin-wait on shared cores
    slow each other down by an order of magnitude (two 2-thread runs on 2 cores: 104 s each,
    against 3.0-3.2 s on one thread each and 2.3 s for one run alone).
    """
    import os

    import torch

    from advisor.search import join_study

    _check_device(device)
    if "OMP_NUM_THREADS" not in os.environ:
        torch.set_num_threads(1)
    done = join_study(
        storage=storage, study_name=study_name, budget_s=budget, device=device, data=data
    )
    click.echo(f"worker finished {done} trials of study {study_name!r}")


def _check_report(path: str, data: str) -> None:
    """Fail before any work if the report could not be written at the end, or would clobber.

    The report is an HTML page, so a path that does not end in .html (a typo such as
    ``--report data.csv``, or ``results.json``) is refused rather than overwritten.
    """
    import os

    from advisor.errors import UsageError

    if not path.lower().endswith((".html", ".htm")):
        raise UsageError(
            f"--report {path!r} is not an .html path; the report is an HTML page, "
            "name it like report.html"
        )
    if os.path.exists(data) and os.path.exists(path) and os.path.samefile(data, path):
        raise UsageError(f"--report {path!r} is the input data; choose another file name")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
        raise UsageError(
            f"cannot write report {path!r}: folder {folder!r} does not exist or is not writable"
        )


def _check_device(device: str) -> None:
    from advisor.errors import UsageError

    if device == "cpu":
        return
    import torch

    try:
        torch.empty(1, device=device)
    except (RuntimeError, AssertionError) as exc:
        raise UsageError(
            f"device {device!r} is not usable here ({str(exc).splitlines()[0]}); use --device cpu"
        ) from None


class _progress:
    """A rich progress bar on stderr while the search runs, only when stderr is a terminal."""

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.bar = None

    def __enter__(self):
        if not self.enabled:
            return None
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        self.bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[best]}"),
            TimeRemainingColumn(),
            console=_console(stderr=True),
            transient=True,
        )
        self.bar.__enter__()
        self.task = self.bar.add_task("search", total=1.0, best="")

        def update(event) -> None:
            self.bar.update(
                self.task,
                completed=min(1.0, event.elapsed_s / event.budget_s),
                description=f"{event.phase} {event.done}/{event.total}",
                best=f"best: {event.best}" if event.best else "",
            )

        return update

    def __exit__(self, *exc_info) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc_info)


def main(argv: Sequence[str] | None = None, *, started: float | None = None) -> int:
    """Run the CLI; return (and, as a script, exit with) the exit code.

    ``started`` (a ``time.monotonic()`` instant) is when the user's command began: the
    process's start for the console script, so ``--budget`` covers the interpreter and its
    imports too. Called in a running process (tests, a notebook), the budget counts from here.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    warnings.simplefilter("ignore", AdvisorWarning)
    warnings.filterwarnings("ignore", module="optuna")
    try:
        import optuna  # noqa: F401  (only to quiet its logger when it is installed)

        optuna.logging.set_verbosity(optuna.logging.WARNING)
    except ImportError:
        pass
    try:
        # the budget counts from the start, so the heavy imports inside commands are part of it
        cli.main(
            args=args,
            prog_name="lossadvisor",
            standalone_mode=False,
            obj={"started": time.monotonic() if started is None else started},
        )
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.Abort:
        click.echo("lossadvisor: aborted", err=True)
        return 130
    except click.ClickException as exc:
        click.echo(f"lossadvisor: error: {_shown(exc.format_message())}", err=True)
        return exc.exit_code
    except AdvisorError as exc:
        if debug:
            traceback.print_exc()
        # a rule file's problems stand one per line; anything else is one line already
        click.echo(f"lossadvisor: error: {render_error(exc, keep_newlines=True)}", err=True)
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("lossadvisor: interrupted", err=True)
        return 130
    except Exception as exc:  # a bug: say so, one line unless --debug
        if debug:
            traceback.print_exc()
        click.echo(
            f"lossadvisor: internal error: {exc.__class__.__name__}: {_shown(str(exc))} "
            "(rerun with --debug for the traceback)",
            err=True,
        )
        return 1
    return 0


def _shown(text: str, *, keep_newlines: bool = False) -> str:
    """A message for stderr: control characters from the data written as escapes."""
    from advisor.report._terminal import printable

    return printable(text, keep_newlines=keep_newlines)


def _entry() -> None:
    from advisor._clock import process_started

    code = main(started=process_started())
    # Everything is written and closed by now; a normal exit would then spend seconds of the
    # --budget tearing torch and the data down (benchmarks/README.md, "Big files"), so the
    # process ends at once, its output flushed.
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing to flush to
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    _entry()
