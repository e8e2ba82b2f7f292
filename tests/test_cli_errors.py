"""Library messages name Python parameters; the command line shows each as its flag.

The library writes a parameter in backticks (`budget_s`, `task='binary'`); ``cli.PARAMETER_FLAGS``
is the one table that turns each into the flag that sets it. These tests keep the table and the
messages in step: a message cannot name a parameter the table does not know, the table cannot
name a flag no command has, and an error constructor in the library cannot spell a flag itself.
"""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest

from advisor.cli import PARAMETER_FLAGS, PYTHON_ONLY, cli, main, render_message

PACKAGE = Path(__file__).resolve().parents[1] / "advisor"
_NAMED = re.compile(r"`([A-Za-z_][A-Za-z0-9_]*)(?:=[^`]*)?`")
_FLAG = re.compile(r"(?<![\w-])--[a-z][a-z-]+")


def _library_modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p.name != "cli.py")


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the constant nodes that are docstrings (they speak RST, not messages)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def _message_text(tree: ast.AST) -> list[str]:
    """Every string literal of a module but its docstrings, f-strings joined with {} holes."""
    skip = _docstrings(tree)
    inside_fstrings = {
        id(part)
        for node in ast.walk(tree)
        if isinstance(node, ast.JoinedStr)
        for part in node.values
    }
    texts = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            texts.append(
                "".join(p.value if isinstance(p, ast.Constant) else "{}" for p in node.values)
            )
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in skip
            and id(node) not in inside_fstrings
        ):
            texts.append(node.value)
    return texts


def _error_calls(tree: ast.AST) -> list[str]:
    """The literal text given to an error's constructor (``UsageError(...)`` and the like)."""
    texts = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "id", getattr(node.func, "attr", ""))
        if not name.endswith(("Error", "Interrupted")):
            continue
        for arg in node.args:
            texts.extend(_message_text(arg))
    return texts


def _named_in_library() -> dict[str, list[str]]:
    named: dict[str, list[str]] = {}
    for path in _library_modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for text in _message_text(tree):
            for name in _NAMED.findall(text):
                named.setdefault(name, []).append(f"{path.relative_to(PACKAGE)}: {text}")
    return named


def test_every_parameter_a_message_names_has_a_flag_or_is_python_only():
    named = _named_in_library()
    # the scan must see the messages it guards, or it passes by finding nothing
    assert {"target", "task", "budget_s", "storage", "study_name", "resume"} <= set(named)
    known = PARAMETER_FLAGS.keys() | PYTHON_ONLY
    unknown = {name: where for name, where in named.items() if name not in known}
    assert not unknown, unknown


def test_no_library_error_spells_a_flag():
    spelled = []
    for path in _library_modules():
        for text in _error_calls(ast.parse(path.read_text(encoding="utf-8"))):
            if _FLAG.search(text):
                spelled.append(f"{path.relative_to(PACKAGE)}: {text}")
    assert not spelled, spelled


def test_the_scan_sees_a_flag_where_one_is_spelled():
    tree = ast.parse('raise UsageError(f"--budget must be positive, got {x!r}")')
    assert [t for t in _error_calls(tree) if _FLAG.search(t)]
    tree = ast.parse('raise UsageError(f"`budget_s` must be positive, got {x!r}")')
    assert not [t for t in _error_calls(tree) if _FLAG.search(t)]


def test_every_flag_in_the_table_exists_on_a_command():
    flags = {
        option
        for command in cli.commands.values()
        for param in command.params
        for option in [*param.opts, *param.secondary_opts]
    }
    assert set(PARAMETER_FLAGS.values()) <= flags, set(PARAMETER_FLAGS.values()) - flags


def test_every_name_in_the_table_is_a_python_parameter():
    from advisor._recommend import recommend
    from advisor.search import join_study

    parameters = set(inspect.signature(recommend).parameters)
    parameters |= set(inspect.signature(join_study).parameters)
    assert set(PARAMETER_FLAGS) <= parameters, set(PARAMETER_FLAGS) - parameters


@pytest.mark.parametrize(
    ("library", "terminal"),
    [
        ("`budget_s` must be a positive number", "--budget must be a positive number"),
        ("pass `target`", "pass --target"),
        ("`task='multilabel'` is impossible", "--task multilabel is impossible"),
        ("pass `resume=True` to continue it", "pass --resume to continue it"),
        ("plus `search=False`", "plus --no-search"),
        ("`decimal=','`", "--decimal ,"),
        ("`study_name='my study'`", "--study-name 'my study'"),
        ("`storage=URL`", "--storage URL"),
        ("`trials=4`", "--trials 4"),
        ("pass `y` with one value per row", "pass y with one value per row"),
        ("column '`odd`' and `not_a_parameter`", "column '`odd`' and `not_a_parameter`"),
        ("no parameter here", "no parameter here"),
    ],
)
def test_render_message_turns_parameters_into_flags(library, terminal):
    assert render_message(library) == terminal


def test_an_interrupted_search_says_how_to_resume_in_each_language():
    from advisor.search._confirm import interrupted_message

    message = interrupted_message(2, storage="sqlite:///runs/s.db", study_name="w")
    assert "`storage='sqlite:///runs/s.db'` `study_name='w'` `resume=True`" in message
    assert render_message(message).endswith(
        "resume by repeating it with --storage sqlite:///runs/s.db --study-name w --resume"
    )


def test_the_cli_shows_flags_where_the_library_names_parameters(capsys, tmp_path):
    data = tmp_path / "data.csv"
    data.write_text("a,y\n" + "".join(f"{i},{i * 0.5 + 1}\n" for i in range(30)))
    code = main(["recommend", str(data), "--no-search", "--target", "y", "--task", "multilabel"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("lossadvisor: error: --task multilabel is impossible for target 'y'")
    assert "`" not in err
    code = main(["profile", str(data), "--target", "price"])
    err = capsys.readouterr().err
    assert code == 2 and err.rstrip().endswith("pass --target") and "`" not in err


def test_the_table_agrees_with_the_options_that_carry_python_names():
    """``recommend``'s options named as ``advisor.recommend``'s parameters pass on as they are."""
    import click

    from advisor._recommend import recommend

    parameters = set(inspect.signature(recommend).parameters)
    passed = [
        p
        for p in cli.commands["recommend"].params
        if isinstance(p, click.Option) and p.name in parameters
    ]
    assert {p.name for p in passed} >= {"budget_s", "study_name", "task", "decimal"}
    for option in passed:
        assert PARAMETER_FLAGS[option.name] == option.opts[0], option.name
