"""The console script's entry (advisor.cli._entry): budget from the process's start, quick exit."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from advisor._recommend import REPORT_RESERVE_S
from advisor.cli import HTML_REPORT_S, main

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "advisor", *args], capture_output=True, text=True, timeout=300
    )


def test_output_is_complete_and_the_exit_code_kept_by_the_quick_exit(tmp_path) -> None:
    done = _run("rules", "--json")
    assert done.returncode == 0
    assert json.loads(done.stdout)  # flushed whole before the process ended
    bad = _run("profile", str(tmp_path / "absent.csv"))
    assert bad.returncode == 2
    assert "no such file" in bad.stderr and "Traceback" not in bad.stderr


def test_the_search_budget_counts_from_the_process_start() -> None:
    # what a process did before the command (here: imports, then a 2 s sleep) is part of the
    # budget: the search gets the budget less all of that and the reserve for the answer
    child = (
        "import sys, time; import advisor._recommend; time.sleep(2.0); "
        f"sys.argv = ['lossadvisor', 'recommend', {str(EXAMPLES / 'wine.csv')!r}, '--json', "
        "'--budget', '20']; from advisor.cli import _entry; _entry()"
    )
    done = subprocess.run(
        [sys.executable, "-c", child], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    search = json.loads(done.stdout)["search"]
    assert search["budget_s"] <= 20.0 - REPORT_RESERVE_S - 2.0
    assert search["elapsed_s"] <= search["budget_s"]


def test_a_report_takes_its_drawing_time_from_the_search(tmp_path, capsys) -> None:
    shares = {}
    for name, extra in (("plain", ()), ("report", ("--report", str(tmp_path / "r.html")))):
        args = ["recommend", str(EXAMPLES / "wine.csv"), "--json", "--budget", "12", *extra]
        assert main(args) == 0
        shares[name] = json.loads(capsys.readouterr().out)["search"]["budget_s"]
    assert shares["plain"] > 12.0 - REPORT_RESERVE_S - HTML_REPORT_S
    assert shares["report"] <= 12.0 - REPORT_RESERVE_S - HTML_REPORT_S
    assert (tmp_path / "r.html").stat().st_size > 0
