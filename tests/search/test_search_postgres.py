"""A real PostgreSQL server: one ``recommend`` and two workers, one of them killed mid-trial.

The server is a throw-away cluster (``initdb`` / ``pg_ctl`` in a temporary folder, loopback
only, trust authentication, so the URL's password is accepted and must never be shown). As
root (CI) the cluster runs as the ``postgres`` user, since PostgreSQL refuses to run as root.
Skipped where the server binaries or the driver (``lossadvisor[postgres]``) are missing.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import numpy as np
import optuna
import pandas as pd
import pytest
from optuna.trial import TrialState

from advisor.search import confirm, prepare
from advisor.search._liveness import OWNER_KEY
from advisor.search._storage import build_storage

pytestmark = pytest.mark.slow

SECRET = "pg-s3cret"
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def _binaries() -> tuple[str, str] | None:
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True) + [
        os.path.dirname(shutil.which("initdb") or "")
    ]:
        initdb, pg_ctl = os.path.join(folder, "initdb"), os.path.join(folder, "pg_ctl")
        if folder and os.access(initdb, os.X_OK) and os.access(pg_ctl, os.X_OK):
            return initdb, pg_ctl
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    found = _binaries()
    if found is None:
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl); apt-get install postgresql")
    pytest.importorskip(
        "psycopg", reason="no PostgreSQL driver; pip install 'lossadvisor[postgres]'"
    )
    initdb, pg_ctl = found
    as_user: list[str] = []
    folder = tempfile.mkdtemp(prefix="lossadvisor-pg-")
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        if shutil.which("runuser") is None:
            pytest.skip("running as root without runuser: cannot start PostgreSQL as postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(folder, user="postgres", group="postgres")
    os.chmod(folder, 0o755)
    data, port = os.path.join(folder, "data"), _free_port()
    subprocess.run(
        [*as_user, initdb, "-D", data, "-A", "trust", "-U", "postgres", "--no-sync"],
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(
        [
            *as_user,
            pg_ctl,
            "-D",
            data,
            "-o",
            options,
            "-l",
            os.path.join(folder, "log"),
            "-w",
            "-t",
            "30",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql://postgres:{SECRET}@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*as_user, pg_ctl, "-D", data, "-m", "immediate", "-w", "stop"], capture_output=True
        )
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def data_file(tmp_path_factory) -> str:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(160, 3))
    y = x @ np.array([1.0, -2.0, 0.5]) + rng.standard_t(2, size=160)
    path = tmp_path_factory.mktemp("data") / "table.csv"
    pd.DataFrame(x, columns=["a", "b", "c"]).assign(y=y).to_csv(path, index=False)
    return str(path)


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "advisor", *args]


def test_recommend_and_two_workers_survive_a_killed_worker(server, data_file, tmp_path) -> None:
    prepared = prepare(data_file, target="y")
    trials = len(prepared.listed.candidates)  # the rules' own parameters: a fixed exploration
    report = tmp_path / "report.html"
    lead = subprocess.Popen(
        _cli(
            "recommend",
            data_file,
            "--target",
            "y",
            "--storage",
            server,
            "--study-name",
            "p",
            "--budget",
            "120",
            "--trials",
            str(trials),
            "--json",
            "--report",
            str(report),
        ),
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # workers started beside recommend wait for its study, as on a cluster's other machines
    workers = [
        subprocess.Popen(
            _cli("worker", "--storage", server, "--study-name", "p", "--budget", "120"),
            env=ENV,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    storage = build_storage(server)
    end = time.monotonic() + 120
    while time.monotonic() < end and "p" not in [s.study_name for s in storage.get_all_studies()]:
        time.sleep(0.2)
    victim = workers[0]
    study = optuna.load_study(study_name="p", storage=storage)
    killed: list[int] = []
    while time.monotonic() < end and lead.poll() is None and not killed:
        running = [
            t
            for t in study.get_trials(deepcopy=False)
            if t.state.name == "RUNNING"
            and t.system_attrs.get(OWNER_KEY, {}).get("pid") == victim.pid
        ]
        if running:
            victim.send_signal(signal.SIGKILL)
            victim.wait()
            # those it had not told yet: a trial told just before the signal landed is done
            told = (TrialState.COMPLETE, TrialState.PRUNED)
            killed = [t.number for t in running if study.trials[t.number].state not in told]
        # a confirmation run of this table lasts about 0.2 s: look often enough to see one
        time.sleep(0.02)
    finished_then = {t.number: t.value for t in study.get_trials() if t.state.is_finished()}
    out, err = lead.communicate(timeout=120)
    assert lead.returncode == 0, err
    survivor_out, survivor_err = workers[1].communicate(timeout=60)
    assert workers[1].returncode == 0, survivor_err
    assert killed, "the worker held no trial before the study ended; nothing was killed"

    after = study.get_trials()
    assert not [t for t in after if t.state.name == "RUNNING"]
    for number, value in finished_then.items():
        assert after[number].state.is_finished() and after[number].value == value
    for number in killed:
        assert after[number].state.name == "FAIL"
    advice = json.loads(out)
    runs = [
        t for t in after if t.user_attrs.get("phase") == "confirm" and t.state.name == "COMPLETE"
    ]
    assert sum(r["n"] for r in advice["search"]["results"]) <= len(runs)

    # the same seed in one process, in memory: the same decision on the same splits
    alone, decision = confirm(
        prepared.frame,
        prepared.profile,
        prepared.listed,
        budget_s=120,
        trials=trials,
        seed=0,
        job=prepared.job,
    )
    assert advice["recommendation"]["loss"] == decision.chosen.value
    assert [(r["loss"], r["n"]) for r in advice["search"]["results"]] == [
        (r.loss.value, r.n) for r in alone.results
    ]
    for shown, mine in zip(advice["search"]["results"], alone.results, strict=True):
        assert shown["mean"] == pytest.approx(mine.mean, rel=1e-4)

    # the password is shown nowhere: JSON, HTML report, worker output, terminal
    shown = server.replace(SECRET, "***")
    assert advice["search"]["storage"] == shown
    for text in (out, err, survivor_out, survivor_err, report.read_text()):
        assert SECRET not in text
    terminal = subprocess.run(
        _cli(
            "recommend",
            data_file,
            "--target",
            "y",
            "--storage",
            server,
            "--study-name",
            "p",
            "--trials",
            str(trials),
            "--resume",
        ),
        env=ENV,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert terminal.returncode == 0 and shown in terminal.stdout.replace("\n", "")
    assert SECRET not in terminal.stdout + terminal.stderr
