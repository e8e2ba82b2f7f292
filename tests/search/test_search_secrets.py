"""A storage URL's password appears in no output: terminal, JSON, HTML report, errors.

A relational URL with a password needs a server; here the storage behind such a URL is a
SQLite file (the URL is what the user typed and what every output could echo), so every mode
of ``lossadvisor recommend`` and ``worker`` is checked without one. The PostgreSQL test does
the same against a real server.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import advisor.search._storage as storage_module
from advisor.cli import main

SECRET = "Pa55-w0rd"
URL = f"postgresql://ann:{SECRET}@db.invalid:5432/studies"
SHOWN = "postgresql://ann:***@db.invalid:5432/studies"


@pytest.fixture
def password_url(monkeypatch, tmp_path) -> str:
    real = storage_module.build_storage
    stand_in = f"sqlite:///{tmp_path / 'studies.db'}"
    monkeypatch.setattr(
        storage_module, "build_storage", lambda url: real(stand_in if url == URL else url)
    )
    return URL


@pytest.fixture(scope="module")
def data_file(tmp_path_factory) -> str:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 2))
    y = x @ np.array([1.0, -1.0]) + rng.normal(scale=0.3, size=120)
    path = tmp_path_factory.mktemp("data") / "table.csv"
    pd.DataFrame(x, columns=["a", "b"]).assign(y=y).to_csv(path, index=False)
    return str(path)


def _run(capsys, *args: str) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_json_html_and_terminal_show_stars(capsys, password_url, data_file, tmp_path) -> None:
    report = tmp_path / "report.html"
    common = [
        "recommend",
        data_file,
        "--target",
        "y",
        "--storage",
        password_url,
        "--study-name",
        "s",
        "--trials",
        "2",
        "--budget",
        "20",
    ]
    code, out, err = _run(capsys, *common, "--json", "--report", report)
    assert code == 0, err
    assert SECRET not in out + err and f'"storage": "{SHOWN}"' in out
    html = report.read_text(encoding="utf-8")
    assert SECRET not in html and SHOWN in html
    code, out, err = _run(capsys, *common, "--resume")  # terminal: the study is decided
    assert code == 0, err
    assert SECRET not in out + err and SHOWN in out.replace("\n", "")
    code, out, err = _run(
        capsys, "worker", "--storage", password_url, "--study-name", "s", "--budget", "5"
    )
    assert code == 0 and SECRET not in out + err


def test_an_unreachable_server_is_one_line_without_the_password(capsys, data_file) -> None:
    url = f"postgresql://u:{SECRET}@127.0.0.1:1/db"
    for args in (
        ["recommend", data_file, "--storage", url, "--budget", "5"],
        ["worker", "--storage", url, "--study-name", "s", "--budget", "5"],
    ):
        code, out, err = _run(capsys, *args)
        assert code == 2 and out == ""
        assert err.count("\n") == 1 and SECRET not in err
        assert "u:***@127.0.0.1:1/db" in err and "Traceback" not in err
