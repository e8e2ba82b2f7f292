"""A corpus of bad files and bad flags: each exits 2 with one line that says what and what to do.

Every case runs the real command line (``main``) in a folder of the user's files, and checks:
exit code 2, nothing on stdout, exactly one line on stderr starting ``lossadvisor: error:``
that matches what was wrong, no traceback, and no file of the user's changed, added or removed.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from advisor.cli import main

GOOD = "a,b,y\n" + "".join(f"{i},{(i * 7) % 5},{(i * 3) % 11 + 0.5 * i}\n" for i in range(40))
CLASSES = "a,b,y\n" + "".join(f"{i},{i % 3},{'yes' if i % 3 else 'no'}\n" for i in range(40))
RULES_OK = "version: 1\nrules: []\n"


@dataclass(frozen=True)
class Case:
    """A bad input: the user's files, the arguments ({dir} is their folder), the message."""

    args: tuple[str, ...]
    message: str  # a regular expression the one error line must match
    files: dict[str, str | bytes] = field(default_factory=lambda: {"data.csv": GOOD})
    root_ok: bool = True  # False where root ignores the failure cause (file permissions)


def recommend(*flags: str) -> tuple[str, ...]:
    return ("recommend", "{dir}/data.csv", "--no-search", *flags)


def search(*flags: str) -> tuple[str, ...]:
    return ("recommend", "{dir}/data.csv", "--budget", "3", "--trials", "2", *flags)


CASES: dict[str, Case] = {
    # ------------------------------------------------------------------ the file itself
    "missing file": Case(("recommend", "{dir}/nope.csv"), r"no such file.*check the path"),
    "empty file": Case(recommend(), r"empty", {"data.csv": ""}),
    "only blank lines": Case(recommend(), r"empty|no data rows|no header", {"data.csv": "\n\n\n"}),
    "header only": Case(recommend(), r"no data rows", {"data.csv": "a,b,y\n"}),
    "binary garbage": Case(recommend(), r"binary", {"data.csv": bytes(range(256)) * 8}),
    "NUL bytes in a text file": Case(
        recommend(), r"binary|NUL", {"data.csv": b"a,b,y\n1,2,3\n\x00\x00\x00\x00,5,6\n" * 50}
    ),
    "a gzip file named .csv": Case(
        recommend(), r"cannot be read|binary|gzip", {"data.csv": b"\x1f\x8b\x08\x00" + bytes(500)}
    ),
    "ragged rows": Case(recommend(), r"line 3", {"data.csv": "a,b,y\n1,2,3\n4,5\n6,7,8\n"}),
    "duplicate column names": Case(
        recommend(), r"duplicate.*'a'", {"data.csv": "a,a,y\n1,2,3\n4,5,6\n7,8,9\n"}
    ),
    "blank column name": Case(recommend(), r"blank|empty", {"data.csv": "a,,y\n1,2,3\n4,5,6\n"}),
    "target all missing": Case(
        recommend("--target", "y"),
        r"'y'.*(missing|no values|empty)",
        {"data.csv": "a,y\n" + "".join(f"{i},\n" for i in range(30))},
    ),
    "constant target": Case(
        recommend("--target", "y"),
        r"constant",
        {"data.csv": "a,y\n" + "".join(f"{i},5\n" for i in range(30))},
    ),
    "ID-like target": Case(
        recommend("--target", "id"),
        r"'id'.*(identifier|ID|unique)",
        {"data.csv": "id,a\n" + "".join(f"c{i:04d},{i % 3}\n" for i in range(60))},
    ),
    "one row": Case(recommend(), r"only 1 data row.*add rows", {"data.csv": "a,b,y\n1,2,3\n"}),
    "target is the only column": Case(
        search("--target", "y"),
        r"feature|no other column",
        {"data.csv": "y\n" + "".join(f"{i * 0.5}\n" for i in range(30))},
    ),
    "a directory as DATA": Case(("recommend", "{dir}/folder", "--no-search"), r"directory"),
    "a path through a file": Case(
        ("recommend", "{dir}/data.csv/inner.csv", "--no-search"), r"not a directory|no such file"
    ),
    "a dangling symlink": Case(("recommend", "{dir}/link.csv", "--no-search"), r"no such file"),
    "unreadable file": Case(recommend(), r"permission|cannot read|not readable", root_ok=False),
    # ------------------------------------------------------------------ target, task, metric
    "unknown --target": Case(recommend("--target", "price"), r"'price' not found.*--target"),
    "empty --target": Case(recommend("--target", ","), r"--target"),
    "unknown --task": Case(recommend("--task", "regresion"), r"--task.*regresion"),
    "unknown --metric": Case(recommend("--metric", "f2"), r"unknown metric 'f2'"),
    "--metric of another task": Case(
        recommend("--metric", "roc_auc"), r"'roc_auc' does not apply to task"
    ),
    "unknown --objective": Case(recommend("--objective", "fast"), r"unknown objective"),
    "quantile out of range": Case(recommend("--objective", "quantile:1.5"), r"quantile"),
    "--task multilabel on a numeric column": Case(
        recommend("--target", "y", "--task", "multilabel"), r"multilabel|indicator|0/1"
    ),
    # ------------------------------------------------------------------ search flags
    "--budget 0": Case(recommend("--budget", "0"), r"--budget"),
    "--budget negative": Case(recommend("--budget", "-5"), r"--budget"),
    "--budget nan": Case(recommend("--budget", "nan"), r"--budget"),
    "--budget inf": Case(recommend("--budget", "inf"), r"--budget"),
    "--budget not a number": Case(recommend("--budget", "soon"), r"--budget"),
    "--trials 0": Case(recommend("--trials", "0"), r"--trials"),
    "--trials not a number": Case(recommend("--trials", "many"), r"--trials"),
    "--seed not a number": Case(recommend("--seed", "x"), r"--seed"),
    "--seed negative": Case(search("--seed", "-1"), r"--seed"),
    "--storage unknown scheme": Case(
        search("--storage", "nosuch://x"), r"storage 'nosuch://x'.*expected sqlite:///"
    ),
    "--storage sqlite in a missing folder": Case(
        search("--storage", "sqlite:///{dir}/missing/s.db"),
        r"storage.*unable to open.*folder that exists",
    ),
    "--storage journal on the data file": Case(
        search("--storage", "journal:{dir}/data.csv"), r"storage 'journal:.*data\.csv'"
    ),
    "--storage sqlite on the data file": Case(
        search("--storage", "sqlite:///{dir}/data.csv"), r"storage.*not a database"
    ),
    "--storage journal on a directory": Case(
        search("--storage", "journal:{dir}/folder"), r"storage 'journal:.*folder'"
    ),
    "bad data beside an old report": Case(
        recommend("--target", "y", "--report", "{dir}/old-report.html"),
        r"constant",
        {"data.csv": "a,y\n" + "".join(f"{i},5\n" for i in range(30))},
    ),
    "--resume without --storage": Case(search("--resume"), r"--resume.*--storage"),
    "--sample 0": Case(recommend("--sample", "0"), r"--sample"),
    "--device nosuch": Case(recommend("--device", "nosuch"), r"device 'nosuch'.*--device cpu"),
    # ------------------------------------------------------------------ report and rule files
    "--report is a directory": Case(recommend("--report", "{dir}/folder"), r"--report|report"),
    "--report is not .html": Case(recommend("--report", "{dir}/out.txt"), r"\.html"),
    "--report would overwrite DATA": Case(recommend("--report", "{dir}/data.csv"), r"\.html"),
    "--report is the DATA file": Case(
        ("recommend", "{dir}/table.html", "--no-search", "--report", "{dir}/table.html"),
        r"is the input data",
        {"table.html": GOOD},
    ),
    "--report in a missing folder": Case(
        recommend("--report", "{dir}/missing/r.html"), r"does not exist"
    ),
    "--rules missing": Case(recommend("--rules", "{dir}/nope.yaml"), r"rule file not found"),
    "--rules bad YAML": Case(
        recommend("--rules", "{dir}/bad.yaml"), r"bad\.yaml.*(YAML|yaml)", {"data.csv": GOOD}
    ),
    "--rules unknown field": Case(
        recommend("--rules", "{dir}/field.yaml"), r"field\.yaml.*(unknown|not permitted|extra)"
    ),
    "--rules not a mapping": Case(recommend("--rules", "{dir}/list.yaml"), r"list\.yaml"),
    # ------------------------------------------------------------------ other commands
    "profile: unknown --target": Case(
        ("profile", "{dir}/data.csv", "--target", "nope"), r"'nope' not found"
    ),
    "explain: unknown --objective": Case(
        ("explain", "{dir}/data.csv", "--objective", "fast"), r"unknown objective"
    ),
    "rules: bad YAML": Case(("rules", "--rules", "{dir}/bad.yaml"), r"bad\.yaml"),
    "worker: unknown storage": Case(
        ("worker", "--storage", "nosuch://x", "--study-name", "s"), r"storage.*nosuch"
    ),
}

USER_FILES: dict[str, str | bytes] = {
    "bad.yaml": "version: 1\nrules: [ {id: a\n",
    "field.yaml": (
        "version: 1\nrules:\n  - {id: a, factor: margin, effect: note, why: x, colour: red}\n"
    ),
    "list.yaml": "- 1\n- 2\n",
    "team.yaml": RULES_OK,
    "old-report.html": "<p>keep me</p>",
}


def _snapshot(folder: Path) -> dict[str, str]:
    """Every entry under the folder with a hash of its bytes (or its kind)."""
    seen = {}
    for path in sorted(folder.rglob("*")):
        name = str(path.relative_to(folder))
        if path.is_symlink():
            seen[name] = "link:" + os.readlink(path)
        elif path.is_dir():
            seen[name] = "dir"
        else:
            seen[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return seen


def _user_folder(tmp_path: Path, case: Case) -> Path:
    folder = tmp_path / "user"
    folder.mkdir()
    (folder / "folder").mkdir()
    (folder / "folder" / "inside.csv").write_text(GOOD)
    for name, content in {**USER_FILES, **case.files}.items():
        path = folder / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    (folder / "link.csv").symlink_to(folder / "gone.csv")
    return folder


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_exits_2_with_one_line_and_changes_nothing(capsys, tmp_path, name):
    case = CASES[name]
    if not case.root_ok and (os.name != "posix" or os.geteuid() == 0):
        pytest.skip("root reads files whatever their mode; 'a path through a file' covers it")
    folder = _user_folder(tmp_path, case)
    before = _snapshot(folder)
    if not case.root_ok:
        (folder / "data.csv").chmod(0)
    try:
        code = main([arg.replace("{dir}", str(folder)) for arg in case.args])
    finally:
        if not case.root_ok:
            (folder / "data.csv").chmod(0o644)
    out, err = capsys.readouterr()
    assert code == 2, (code, err)
    assert out == ""
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("lossadvisor: error: ")
    assert re.search(case.message, lines[0], re.IGNORECASE), lines[0]
    assert _snapshot(folder) == before


def test_the_corpus_is_large_enough():
    assert len(CASES) >= 30


def test_a_file_the_system_refuses_to_open(capsys, tmp_path, monkeypatch):
    """The unreadable-file case for every user, root included: open() itself is refused.

    Root reads a file whatever its mode, so the chmod case above is skipped there (CI runs as
    root); here the refusal comes from open(), as it does for a file on a locked-down mount.
    """
    import builtins
    import io

    folder = _user_folder(tmp_path, Case((), ""))
    data = folder / "data.csv"
    real_open = io.open

    def refusing_open(file, *args, **kwargs):
        if isinstance(file, (str, os.PathLike)) and Path(file) == data:
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    before = _snapshot(folder)
    monkeypatch.setattr(io, "open", refusing_open)
    monkeypatch.setattr(builtins, "open", refusing_open)
    code = main(["recommend", str(data), "--no-search"])
    monkeypatch.undo()
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and "Traceback" not in err
    assert len(err.splitlines()) == 1
    assert re.search(r"data\.csv.*Permission denied", err), err
    assert _snapshot(folder) == before


def test_an_error_about_a_hostile_name_stays_one_plain_line(capsys, tmp_path):
    data = tmp_path / "data.csv"
    data.write_text(GOOD)
    code = main(["recommend", str(data), "--no-search", "--target", "p\x1b[2J\nq\u202e"])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1
    assert "\x1b" not in err and "\u202e" not in err
    assert "not found" in err
